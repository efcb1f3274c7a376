"""The PyTorch port under examples/ports passes the gate and the golden vectors; a deliberately
broken copy of each of its layers fails both.

The gate runs in a subprocess (pytest inside pytest would share the plugin's state), on one
logical CPU device: PyTorch ignores TensorFlow's device split, so a second CPU device would
repeat the same computation.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layercheck import adapters, registry, vectors
from tests import gate_output

pytest.importorskip("torch", reason="PyTorch is not installed: install the port-torch extra (README, command 2)")

ROOT = Path(__file__).resolve().parent.parent
PORTS = ROOT / "examples" / "ports"
PORT = {
    "temperature_softmax": "torch_port.layers:TemperatureSoftmax",
    "nonnegative_projection": "torch_port.layers:NonNegativeProjection",
    "memory_cell": "torch_port.layers:MemoryCellLayer",
}
BROKEN = {
    "temperature_softmax": "torch_port.broken:TemperatureSoftmaxDividingBeforeTheShift",
    "nonnegative_projection": "torch_port.broken:NonNegativeProjectionWithAbs",
    "memory_cell": "torch_port.broken:MemoryCellLayerForgettingItsState",
}

if str(PORTS) not in sys.path:
    sys.path.insert(0, str(PORTS))


def run_gate(implementations, *extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PORTS), env.get("PYTHONPATH", "")]))
    env["LAYERCHECK_LAYER_IMPL"] = " ".join(f"{name}={spec}" for name, spec in implementations.items())
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "properties"), "-p", "no:xdist", "-p", "no:cacheprovider",
        "--tb=line", "--layercheck-devices=CPU:0", *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)


def test_the_port_passes_the_gate():
    result = run_gate(PORT, "-rs")
    assert result.returncode == 0, gate_output.report(result)
    tail = result.stdout[-6000:]
    assert "(PyTorch)" in result.stdout, "the header names the PyTorch implementations under test"
    assert " passed" in tail and "failed" not in tail.splitlines()[-1]
    # The Keras-only properties are skipped with their reason, not silently passed.
    assert "keras_only:" in result.stdout


@pytest.mark.parametrize("layer_name", registry.names())
def test_a_broken_copy_of_the_port_fails_the_gate(layer_name):
    result = run_gate({**PORT, layer_name: BROKEN[layer_name]}, "-x", "--hypothesis-profile=zoo", "--layercheck-layer", layer_name)
    assert result.returncode == 1, result.stdout[-4000:]
    assert "FAILED" in result.stdout and "property '" in result.stdout, result.stdout[-4000:]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    directory = tmp_path_factory.mktemp("golden")
    vectors.export(str(directory))
    return str(directory)


def test_the_port_passes_the_golden_vectors(golden):
    results = vectors.check(golden, lambda name: adapters.load_adapter(name, PORT[name]))
    assert results and all(result.passed for result in results), [r.detail for r in results if not r.passed]


@pytest.mark.parametrize("layer_name", registry.names())
def test_a_broken_copy_of_the_port_fails_the_golden_vectors(golden, layer_name):
    spec = {**PORT, layer_name: BROKEN[layer_name]}
    results = vectors.check(golden, lambda name: adapters.load_adapter(name, spec[name]))
    failed = [result.id for result in results if not result.passed]
    assert failed and all(case_id.startswith(layer_name) for case_id in failed), failed
