"""Installing layercheck changes nothing for a project that does not ask for it.

The plugin is a ``pytest11`` entry point, so it loads in every pytest run of the environment.
A project of its own (a temporary folder with its own ``pyproject.toml``) runs its tests with
the plugin loaded but not turned on: no TensorFlow import, no environment variable set, its
own Hypothesis settings, its own ``device`` fixture, an unfrozen garbage collector, and the
layercheck markers known to ``--strict-markers``. The same project with ``--layercheck`` gets the plugin (the control).
"""

import os
import subprocess
import sys
import textwrap

PROJECT_TEST = '''
import gc
import os
import sys

import pytest
from hypothesis import settings


def test_nothing_of_layercheck_reached_this_process():
    assert "tensorflow" not in sys.modules
    assert "keras" not in sys.modules
    for name in ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "TF_FORCE_GPU_ALLOW_GROWTH"):
        assert name not in os.environ, name
    assert settings.default.max_examples == 100
    assert settings.default.deadline is not None
    assert gc.get_freeze_count() == 0, "the heap was frozen"


def test_our_own_device_fixture_is_ours(device):
    assert device == "ours"


@pytest.mark.layercheck_layer("x")
def test_a_copied_marker_is_known_to_strict_markers():
    pass
'''

PROJECT_CONFTEST = '''
import pytest


@pytest.fixture
def device():
    return "ours"
'''


def _project(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--strict-markers"\n')
    (tmp_path / "conftest.py").write_text(textwrap.dedent(PROJECT_CONFTEST))
    (tmp_path / "test_theirs.py").write_text(textwrap.dedent(PROJECT_TEST))
    return tmp_path


def _run(project, *options):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "LAYERCHECK", "KERAS_", "TF_")) and key != "CI"
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *options]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_a_project_that_does_not_ask_sees_nothing_of_layercheck(tmp_path):
    result = _run(_project(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout, result.stdout[-2000:]
    assert "layercheck" not in result.stdout.replace("layercheck-", "").replace("layercheck_layer", ""), result.stdout


def test_the_same_project_turning_it_on_gets_the_plugin(tmp_path):
    result = _run(_project(tmp_path), "--layercheck")
    # TensorFlow is imported and the device parameter is the plugin's (once per logical CPU):
    # the project's first two tests fail, as they should once it asked for layercheck.
    assert "FAILED test_theirs.py::test_nothing_of_layercheck_reached_this_process" in result.stdout, result.stdout[-3000:]
    assert "test_our_own_device_fixture_is_ours[CPU:0]" in result.stdout, result.stdout[-3000:]
    assert "layercheck verification matrix" in result.stdout, result.stdout[-3000:]
