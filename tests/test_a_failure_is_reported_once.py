"""A property that fails is reported for its own reason, not buried under a second one.

The directional-derivative property counts, over its examples, the arguments its kink filter
discarded, and fails at teardown when the filter starved it. A layer that raises on every
float64 example fails that property at its first example; the teardown must not add a
"kink filter starved" error, which would send the reader after kinks the layer does not have.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from layercheck.layers import TemperatureSoftmax

ROOT = Path(__file__).resolve().parent.parent


class RaisesInFloat64(TemperatureSoftmax):
    """Refuses float64 inputs (as a layer with a float32-only kernel might)."""

    def call(self, inputs):
        if inputs.dtype == "float64":
            raise ValueError("RaisesInFloat64 does not take float64 inputs")
        return super().call(inputs)


@pytest.mark.timeout(600)
def test_a_layer_failing_every_float64_example_is_not_also_called_starved():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "properties/test_gradients.py", "-p", "no:xdist", "-p", "no:cacheprovider",
         "-q", "--hypothesis-profile=zoo", "--layercheck-devices=CPU:0", "-k", "directional",
         "--layercheck-layer=temperature_softmax", "--layer-impl=temperature_softmax=tests.test_a_failure_is_reported_once:RaisesInFloat64"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "RaisesInFloat64 does not take float64 inputs" in output, output[-4000:]
    assert "starve" not in output, output[-4000:]
    assert "error" not in output.strip().splitlines()[-1], output.strip().splitlines()[-1]


def test_the_raising_layer_raises_only_in_float64():
    layer = RaisesInFloat64(num_classes=3)
    assert layer(keras.ops.ones((1, 3), dtype="float32")).shape == (1, 3)

