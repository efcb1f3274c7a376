"""A project of its own gates its own layer with the installed property suite, as
docs/checking-your-own-layer.md says.

A temporary folder outside the repository holds a user's project: a layer, its NumPy reference
and its spec (a copy of ``tests/gained_swish`` under another package name), a ``pyproject.toml``
that turns layercheck on and names the spec, and one test of its own. Plain ``pytest -n 2``
there collects the installed suite (``layercheck_properties``) with the project's test, runs the
generic battery on that layer on every logical device, and nothing of layercheck's own layers.
A broken copy (``--layer-impl``) fails, and the report's ``rerun:`` line, run as given from the
project folder, fails the same test again.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE = "user_swish"

PYPROJECT = f"""
[tool.pytest.ini_options]
layercheck = true
layercheck_specs = ["{PACKAGE}.spec:SPEC"]
testpaths = ["tests"]
"""

OWN_TEST = """
def test_the_projects_own_test():
    assert True
"""


def _project(tmp_path):
    package = tmp_path / PACKAGE
    package.mkdir()
    for source in (HERE / "gained_swish").glob("*.py"):
        text = source.read_text().replace("tests.gained_swish", PACKAGE).replace('"layercheck_tests"', '"user_swish"')
        (package / source.name).write_text(text)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text(OWN_TEST)
    return tmp_path


def _pytest(project, *args):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK")) and key != "CI"}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--hypothesis-profile=ci", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)


def _rerun_line(output):
    found = re.search(r"^E?\s*rerun: (.+?)  \(the same profile", output, flags=re.M)
    assert found, output[-4000:]
    return found.group(1)


@pytest.mark.timeout(1800)
def test_a_project_gates_its_own_layer_with_the_installed_suite(tmp_path):
    project = _project(tmp_path)
    result = _pytest(project, "-n", "2", "-q")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    summary = output.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 30, summary
    # The matrix: the project's layer on both logical CPUs, and none of layercheck's own.
    assert re.search(r"^pass \d+ +pass \d+ +\. +gained_swish :: ", output, flags=re.M), output[-4000:]
    for builtin in ("temperature_softmax", "nonnegative_projection", "memory_cell"):
        assert f"{builtin} ::" not in output, builtin
    # A property whose capability the layer lacks is left out, not reported as a skip.
    assert "empty parameter set" not in output, output[-3000:]


@pytest.mark.timeout(1800)
def test_a_broken_copy_fails_and_its_rerun_line_reproduces_it(tmp_path):
    project = _project(tmp_path)
    broken = _pytest(project, "-n", "2", "-q", "-x", f"--layer-impl=gained_swish={PACKAGE}.layer:BrokenGainedSwish")
    output = broken.stdout + broken.stderr
    # 1: tests failed; 2: xdist's -x interrupts the other worker.
    assert broken.returncode in (1, 2) and "PropertyFailure" in output, output[-6000:]
    line = _rerun_line(output)
    words = shlex.split(line)
    assert words[0] == "pytest" and f"--layer-impl=gained_swish={PACKAGE}.layer:BrokenGainedSwish" in words, line
    assert "--pyargs" in words, line  # the installed suite, by its package: it is not under the project

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK")) and key != "CI"}
    rerun = subprocess.run(
        [sys.executable, "-m", *words], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    rerun_output = rerun.stdout + rerun.stderr
    assert rerun.returncode == 1, rerun_output[-4000:]
    assert "1 failed" in rerun_output.strip().splitlines()[-1], rerun_output[-3000:]
    assert _rerun_line(rerun_output) == line, rerun_output[-3000:]
