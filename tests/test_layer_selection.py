"""``--layercheck-layer NAME`` keeps exactly the properties of that layer, its own file first."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def collected(*options):
    command = [sys.executable, "-m", "pytest", "properties", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *options]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.fixture(scope="module")
def everything():
    return collected()


@pytest.mark.parametrize("layer", ["temperature_softmax", "nonnegative_projection", "memory_cell"])
def test_one_layer_is_selected_and_its_own_file_runs_first(everything, layer):
    selected = collected("--layercheck-layer", layer)
    others = [name for name in ("temperature_softmax", "nonnegative_projection", "memory_cell") if name != layer]
    assert selected and set(selected) < set(everything)
    assert selected[0].startswith(f"properties/test_{layer}.py::")
    own = [test_id for test_id in everything if test_id.startswith(f"properties/test_{layer}.py::")]
    assert set(own) <= set(selected), "every property of the layer's own file is kept"
    for test_id in selected:
        assert not any(test_id.startswith(f"properties/test_{other}.py::") for other in others), test_id
        assert not any(f"[{other}" in test_id or f"-{other}" in test_id for other in others), test_id
