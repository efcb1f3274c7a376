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


class _Marker:
    def __init__(self, *args):
        self.args = args


class _Item:
    """The parts of a collected pytest item that ``selection.item_layers`` reads."""

    def __init__(self, params=None, fixturenames=(), marker=None):
        if params is not None:
            self.callspec = type("CallSpec", (), {"params": params})()
        self.fixturenames = fixturenames
        self._marker = marker

    def get_closest_marker(self, name):
        from layercheck.selection import MARKER

        return self._marker if name == MARKER else None


def test_a_layer_is_read_from_the_parametrization_never_from_a_substring():
    from layercheck.selection import item_layers

    # A layer named `cell` must not claim the memory cell's tests, nor `softmax` the softmax's.
    generic = _Item({"layer_name": "memory_cell"}, fixturenames=("adapter_for",))
    assert item_layers(generic) == {"memory_cell"}
    assert item_layers(_Item({"layer_name": "cell"}, fixturenames=("adapter_for",))) == {"cell"}
    assert item_layers(_Item(marker=_Marker("temperature_softmax"))) == {"temperature_softmax"}
    # A `layer_name` parameter of a test that takes no adapter is not a layer of the gate.
    assert item_layers(_Item({"layer_name": "cell"})) == set()
    assert item_layers(_Item()) == set()
