"""The README's figures come from benchmarks/readme_figures.py, not from a hand.

Every ``<!-- figures:NAME -->`` block of the README names a figure of the script's table, every
figure has exactly one block, each block holds a measurement (the command, the commit it was
measured at, and the script's output), and the scripts it runs exist.
"""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _figures_module():
    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "benchmarks" / "readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_figure_block_is_a_measurement_of_the_script():
    figures = _figures_module()
    text = (ROOT / "README.md").read_text()
    names = figures.blocks_in(text)
    assert sorted(names) == sorted(figures.FIGURES), (names, list(figures.FIGURES))
    for name in names:
        body = figures.block_pattern(name).search(text).group(2)
        script = figures.FIGURES[name][1][0]
        assert (ROOT / script).is_file(), script
        assert re.match(rf"`python {re.escape(script)}.*` at `[0-9a-f]{{7,}}`, \d{{4}}-\d{{2}}-\d{{2}}:\n\n```text\n.+\n```\n$", body, re.S), (
            f"the README's {name} block is not a measurement by benchmarks/readme_figures.py "
            f"(run: python benchmarks/readme_figures.py --update {name}):\n{body[:500]}"
        )
