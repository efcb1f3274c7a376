"""``layercheck zoo``: the gate catches every known-bad implementation in tests/zoo/, and the
runner itself tells a caught entry from a survivor.

* The whole zoo (the how-to's layers and the subtle mutants of each layer) runs as CI runs
  it, in a subprocess: exit code 0, a "caught" row for every entry of every ZOO dict, and
  the production layers passing the same properties. Several minutes: the zoo's cost is
  reported by the command itself ("total: ... s").
* A zoo whose only entry is the production layer must come out SURVIVED, with a non-zero
  exit code: a runner that reported everything as caught would pass the first test.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from layercheck import zoo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_MODULES = (
    "tests/zoo/howto.py",
    "tests/zoo/mutants_temperature_softmax.py",
    "tests/zoo/mutants_nonnegative_projection.py",
    "tests/zoo/mutants_memory_cell.py",
)
#: The zoo took about 7 minutes on a loaded 2-core machine; pytest-timeout's default (900 s,
#: pyproject.toml) would leave little room on a slower CI runner.
ZOO_TIMEOUT = 1800


def _layercheck(*args, timeout):
    env = dict(os.environ)
    env.pop("LAYERCHECK_LAYER_IMPL", None)
    return subprocess.run(
        [sys.executable, "-m", "layercheck.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,  # the exit code is one of the things checked
    )


def _rows(stdout):
    """{entry: (layer, result, first failing property)} from the zoo table."""
    rows = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\S+)\s+(\S+)\s+(caught|SURVIVED|ERROR)\s+(\S+)\s+(\S+)\s+(.*)$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3), match.group(6))
    return rows


@pytest.mark.timeout(ZOO_TIMEOUT)
def test_every_zoo_entry_is_caught_and_the_production_layers_pass(monkeypatch):
    result = _layercheck("zoo", *ZOO_MODULES, timeout=ZOO_TIMEOUT - 60)
    report = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    # The entries the table must list: the ZOO dicts as the command reads them.
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    expected = {entry.name: entry.layer for entry in zoo.load_entries(ZOO_MODULES)}
    rows = _rows(result.stdout)
    assert set(rows) == set(expected), f"rows for {sorted(rows)}, entries {sorted(expected)}\n{report}"
    not_caught = {name: row for name, row in rows.items() if row[1] != "caught"}
    assert not not_caught, f"not caught: {not_caught}\n{report}"
    assert all(rows[name][0] == layer for name, layer in expected.items()), report
    assert re.search(r"^production layers .*: pass ", result.stdout, re.MULTILINE), report
    assert f"kill rate: {len(expected)}/{len(expected)} (100%)" in result.stdout, report
    assert result.returncode == 0, report


def test_a_correct_implementation_is_reported_as_survived(tmp_path):
    """The production TemperatureSoftmax as the only entry, on one cheap property: SURVIVED,
    a kill rate of 0/1 and exit code 1."""
    (tmp_path / "correct_zoo_entry.py").write_text(
        textwrap.dedent(
            """
            from layercheck.layers import TemperatureSoftmax

            ZOO = {"production_softmax": ("temperature_softmax", TemperatureSoftmax)}
            """
        )
    )
    result = _layercheck(
        "zoo",
        str(tmp_path / "correct_zoo_entry.py"),
        "-k",
        "test_temperature_softmax.py and test_rows_sum_to_one",
        "--no-production",
        timeout=600,
    )
    report = f"{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
    rows = _rows(result.stdout)
    assert rows.get("production_softmax", (None, None))[:2] == ("temperature_softmax", "SURVIVED"), report
    assert "kill rate: 0/1 (0%)" in result.stdout, report
    assert result.returncode == 1, report


def test_a_zoo_module_is_imported_by_its_path_or_its_dotted_name(tmp_path, monkeypatch):
    """Paths under the working directory import by their dotted path (``tests.zoo.howto``, as
    ``--layer-impl`` names them), paths elsewhere by their package, ``MODULE:NAME`` reads
    another dict; a module without the dict is a clear error."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))
    by_path = zoo.load_entries(["tests/zoo/howto.py"])
    assert by_path[0].spec == "tests.zoo.howto:HowToTemperatureSoftmax"
    assert [entry.name for entry in zoo.load_entries(["tests.zoo.howto"])] == [entry.name for entry in by_path]

    package = tmp_path / "elsewhere_zoo_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "entries.py").write_text(
        "from layercheck.layers import MemoryCellLayer\n"
        "OTHER = {'cell': ('memory_cell', MemoryCellLayer)}\n"
    )
    (entry,) = zoo.load_entries([f"{package / 'entries.py'}:OTHER"])
    assert (entry.name, entry.layer, entry.module) == ("cell", "memory_cell", "elsewhere_zoo_pkg.entries")
    with pytest.raises(zoo.ZooError, match="no ZOO dict"):
        zoo.load_entries([str(package / "entries.py")])


def test_a_long_run_says_what_runs_and_what_is_left_as_it_goes():
    """The heartbeat of ``layercheck zoo``: while a run goes on, a line per interval with the
    run's description and its tests done (here an interval of 50 ms instead of 20 s)."""
    import threading
    import time

    selection = zoo.Selection(["memory_cell"])
    selection.total, selection.done = 40, 12
    lines, lock = [], threading.Lock()

    def write(line):
        with lock:
            lines.append(line)

    with zoo._heartbeat(selection, lambda: "entry x (1 of 3; 2 entries left)", write, every=0.05):
        time.sleep(0.4)
    count = len(lines)
    time.sleep(0.2)
    assert len(lines) == count, "the heartbeat stops with its run"
    assert count >= 2, lines
    assert all(line.startswith("  ... entry x (1 of 3; 2 entries left): 12 of 40 tests done, ") for line in lines), lines
    assert zoo.HEARTBEAT_SECONDS <= 30
