"""Measure the README's figures and write them into it: no figure there is typed by hand.

    .venv/bin/python benchmarks/readme_figures.py                 # list the figure blocks
    .venv/bin/python benchmarks/readme_figures.py --update NAME   # measure NAME, rewrite its block
    .venv/bin/python benchmarks/readme_figures.py --update all    # every block (about 35 minutes)

Each block of the README between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` is
the verbatim output of one script of :data:`FIGURES`, headed by the command, the commit and
the date it was measured at. Run it with nothing else on the machine: the figures are wall
times. ``tests/test_readme_figures.py`` checks that every block names a figure of this table
and that every figure has its block.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")

_PORT = (
    "LAYERCHECK_LAYER_IMPL=temperature_softmax=torch_port.layers:TemperatureSoftmax "
    "nonnegative_projection=torch_port.layers:NonNegativeProjection memory_cell=torch_port.layers:MemoryCellLayer"
)

#: name -> (what it measures, the script and its arguments, relative to the repository root).
FIGURES = {
    "suite": (
        "the whole test suite as CI runs it",
        ["benchmarks/pytest_walltime.py", "--env", "CI=true", "--", "-n", "auto", "-q", "-p", "no:cacheprovider"],
    ),
    "gate-time": ("where the gate's time goes", ["benchmarks/gate_walltime.py", "--profile", "ci"]),
    "gradient-cost": ("the cost of a directional gradient check", ["benchmarks/gradient_cost.py"]),
    "example-lines": (
        "the lines a user writes per layer in examples/my_layers",
        ["benchmarks/example_lines.py"],
    ),
    "torch-port": (
        "the PyTorch port through the gate",
        [
            "benchmarks/pytest_walltime.py", "--env", "CI=true", "--env", "PYTHONPATH=examples/ports", "--env", _PORT,
            "--", "properties", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "--layercheck-devices=CPU:0",
        ],
    ),
}  # fmt: skip


def block_pattern(name):
    return re.compile(rf"(<!-- figures:{re.escape(name)} -->\n)(.*?)(<!-- /figures:{re.escape(name)} -->)", re.S)


def blocks_in(text):
    """The figure names whose blocks ``text`` holds, in order."""
    return re.findall(r"<!-- figures:([\w-]+) -->", text)


def measure(name):
    """The block for figure ``name``: a header line and the script's output, fenced."""
    _, command = FIGURES[name]
    result = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    today = datetime.date.today().isoformat()
    shown = " ".join(["python", *command])
    output = result.stdout.rstrip() or result.stderr.rstrip()[-2000:]
    return f"`{shown}` at `{commit}`, {today}:\n\n```text\n{output}\n```\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="append", default=[], metavar="NAME", help="a figure name, or 'all'")
    args = parser.parse_args(argv)
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    if not args.update:
        present = set(blocks_in(text))
        for name, (what, command) in FIGURES.items():
            print(f"{name:<14} {'in README' if name in present else 'NO BLOCK'}  {what}: python {' '.join(command)}")
        return 0
    names = list(FIGURES) if "all" in args.update else args.update
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    for name in names:
        pattern = block_pattern(name)
        if not pattern.search(text):
            parser.error(f"README.md has no block <!-- figures:{name} --> ... <!-- /figures:{name} -->")
        print(f"measuring {name}: {FIGURES[name][0]} ...", flush=True)
        block = measure(name)
        print(block, flush=True)
        text = pattern.sub(lambda found, block=block: found.group(1) + block + found.group(3), text)
        with open(README, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
