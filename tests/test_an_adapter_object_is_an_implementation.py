"""``--layer-impl NAME=module:ADAPTER`` takes an adapter object, as docs/checking-a-port.md says:
the way to put an implementation in any other framework under the gate.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layercheck import adapters
from layercheck.layers import TemperatureSoftmax

ROOT = Path(__file__).resolve().parent.parent

#: An adapter object, as a port to another framework would export one (here: Keras's own,
#: wrapping the production class, so the gate must pass).
TEMPERATURE_SOFTMAX = adapters.KerasAdapter("temperature_softmax", TemperatureSoftmax, origin="an adapter object")


def test_an_adapter_object_is_taken_as_it_is():
    loaded = adapters.load_adapter("temperature_softmax", "tests.test_an_adapter_object_is_an_implementation:TEMPERATURE_SOFTMAX")
    # (pytest imported this file under another module name: the same object, not identical)
    assert isinstance(loaded, adapters.KerasAdapter) and loaded.origin == "an adapter object"
    assert loaded.factory is TemperatureSoftmax


def test_an_adapter_object_for_another_layer_is_refused_by_name():
    with pytest.raises(ValueError, match="adapter for layer 'temperature_softmax', not 'memory_cell'"):
        adapters.load_adapter("memory_cell", "tests.test_an_adapter_object_is_an_implementation:TEMPERATURE_SOFTMAX")


@pytest.mark.timeout(600)
def test_the_gate_runs_through_an_adapter_object():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "properties/test_execution_modes.py", "-p", "no:xdist", "-p", "no:cacheprovider",
         "--hypothesis-profile=zoo", "--layercheck-devices=CPU:0", "-k", "every_dtype",
         "--layercheck-layer=temperature_softmax",
         "--layer-impl=temperature_softmax=tests.test_an_adapter_object_is_an_implementation:TEMPERATURE_SOFTMAX"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "temperature_softmax under test: an adapter object" in output, output[:3000]
