"""The verification matrix: fitted to the terminal, failures first, JSON and Markdown, merged
shards equal to one run, and the JUnit XML properties of each property test."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from layercheck import matrix
from layercheck.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent


def sample():
    result = matrix.Matrix()
    long_name = "test_" + "a_very_long_property_name_that_says_everything_" * 3
    for device in ("CPU:0", "CPU:1", "GPU:0"):
        result.cell("temperature_softmax", "test_equals_reference", device).merge(matrix.Cell("passed", 25, {f"t[{device}]"}))
        result.cell("memory_cell", long_name, device).merge(matrix.Cell("passed", 10, {f"l[{device}]"}))
    result.cell("memory_cell", "test_state_persists", "CPU:1").merge(matrix.Cell("failed", 3, {"s[CPU:1]"}))
    result.cell("memory_cell", "test_state_persists", "CPU:0").merge(matrix.Cell("passed", 25, {"s[CPU:0]"}))
    result.cell("nonnegative_projection", "test_config_round_trips", matrix.ANY_DEVICE).merge(matrix.Cell("skipped", 0, {"c"}))
    return result


@pytest.mark.parametrize("width", [80, 100, 120, 151])
def test_every_line_fits_the_terminal_and_failures_come_first(width):
    lines = sample().terminal_lines(width=width)
    assert all(len(line) <= width for line in lines), [line for line in lines if len(line) > width]
    header = next(index for index, line in enumerate(lines) if line.startswith("CPU:0"))
    assert lines[header].split()[:4] == ["CPU:0", "CPU:1", "GPU:0", matrix.ANY_DEVICE]
    rows = lines[header + 1 :]
    assert len(rows) == 4 and "FAIL 3" in rows[0] and "test_state_persists" in rows[0]
    assert any("legend" in line for line in lines[:header])


def test_a_cell_keeps_the_worst_outcome_and_sums_examples():
    cell = matrix.Cell()
    for outcome, examples in (("passed", 10), ("failed", 2), ("passed", 5), ("skipped", 0)):
        cell.merge(matrix.Cell(outcome, examples, {outcome}))
    assert (cell.outcome, cell.examples, cell.tests) == ("failed", 17, {"passed", "failed", "skipped"})


def test_json_round_trips_and_markdown_names_every_cell(tmp_path):
    original = sample()
    path = tmp_path / "matrix.json"
    matrix.write_json(original, path)
    assert matrix.load(path) == original
    text = original.markdown()
    assert "| memory_cell | `test_state_persists` | pass 25 | **FAIL 3** | . | . |" in text
    assert text.count("\n| ") == 2 + len(original.rows())


def test_a_file_that_is_not_a_matrix_is_refused_by_name(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"cells": []}))
    with pytest.raises(ValueError, match="other.json: not a layercheck matrix"):
        matrix.load(path)
    assert cli_main(["matrix", "merge", str(path)]) == 2


def test_merge_of_shards_is_the_whole(tmp_path):
    whole = sample()
    first, second = matrix.Matrix(), matrix.Matrix()
    for index, (key, cell) in enumerate(sorted(whole.cells.items())):
        # One cell's tests split across both shards too, as a duration-based split may do.
        (first if index % 2 else second).cell(*key).merge(cell)
    first.cell("memory_cell", "test_state_persists", "CPU:0").merge(matrix.Cell("passed", 4, {"s2[CPU:0]"}))
    whole.cell("memory_cell", "test_state_persists", "CPU:0").merge(matrix.Cell("passed", 4, {"s2[CPU:0]"}))
    paths = []
    for name, shard in (("a", first), ("b", second)):
        paths.append(tmp_path / f"{name}.json")
        matrix.write_json(shard, paths[-1])
    merged_path = tmp_path / "merged.json"
    assert cli_main(["matrix", "merge", *map(str, paths), "--json", str(merged_path)]) == 1  # a cell failed
    assert matrix.load(merged_path) == whole


# -- a real run, split in two shards with pytest-split ----------------------------------------

SELECTION = ["properties/test_round_trips.py", "-k", "get_config"]


def _gate(tmp_path, name, *extra):
    json_path = tmp_path / f"{name}.json"
    junit_path = tmp_path / f"{name}.xml"
    command = [
        sys.executable, "-m", "pytest", *SELECTION, "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
        "--hypothesis-profile=ci", "--layercheck-devices=CPU:0", f"--layercheck-matrix-json={json_path}",
        f"--junitxml={junit_path}", *extra,
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["COLUMNS"] = "120"
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, matrix.load(json_path), junit_path


def test_two_shards_merge_into_the_single_runs_matrix_and_junit_carries_the_properties(tmp_path):
    pytest.importorskip("pytest_split", reason="pytest-split is a dependency of layercheck; reinstall the project")
    single, whole, junit_path = _gate(tmp_path, "single")
    shards = [_gate(tmp_path, f"shard{group}", "--splits=2", f"--group={group}")[1] for group in (1, 2)]
    assert all(shard.cells for shard in shards), "each shard ran some of the selection"
    assert set(shards[0].cells) != set(whole.cells), "the split divided the run"
    merged = matrix.Matrix()
    for shard in shards:
        merged.merge(shard)
    assert merged == whole
    matrix_lines = single.stdout.split("layercheck verification matrix")[-1].splitlines()
    assert all(len(line) <= 120 for line in matrix_lines), max(matrix_lines, key=len)

    cases = ElementTree.parse(junit_path).getroot().iter("testcase")
    properties = [{prop.get("name"): prop.get("value") for prop in case.iter("property")} for case in cases]
    assert properties and all(
        {"layercheck_layers", "layercheck_property", "layercheck_device", "layercheck_dtype", "layercheck_examples"}
        <= set(found)
        for found in properties
    ), properties
    assert sum(int(found["layercheck_examples"]) for found in properties) == sum(
        cell.examples for cell in whole.cells.values()
    )


def test_the_github_workflow_is_valid_and_runs_the_documented_commands():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gate.yml").read_text())
    # YAML 1.1 reads the key `on` as True.
    assert set(workflow[True]) == {"push", "pull_request"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"gate", "matrix", "gpu"}
    for name, job in jobs.items():
        assert job["runs-on"] and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (name, step)
    assert jobs["gate"]["strategy"]["matrix"]["group"] == list(range(1, int(workflow["env"]["SHARDS"]) + 1))
    gate_command = " ".join(step.get("run", "") for step in jobs["gate"]["steps"])
    for option in ("pytest -n auto properties", "--splits", "--group", "--layercheck-matrix-json", "--junitxml"):
        assert option in gate_command, option
    assert "layercheck matrix merge" in " ".join(step.get("run", "") for step in jobs["matrix"]["steps"])
    assert jobs["matrix"]["needs"] == "gate"
    from layercheck.cli import parser

    # The options the workflow passes exist.
    parser().parse_args(["matrix", "merge", "a.json", "--json", "m.json", "--markdown", "m.md"])
