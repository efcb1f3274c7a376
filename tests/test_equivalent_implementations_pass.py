"""No false alarm: correct implementations written differently pass the whole gate.

``tests/zoo/equivalents.py`` holds the false-alarm counterpart of the bug zoo: the three
layers as Keras compositions, other formulations of the same products, other reduction
orders, without the optional ``compute_output_shape``. Each goes through every property of its
layer on two logical CPUs (``zoo`` profile: the ``ci`` examples, derandomized) and must pass;
the entry that only the contract refuses (``REFUSED_BY_THE_CONTRACT``) must fail.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import gate_output
from tests.zoo.equivalents import EQUIVALENT, REFUSED_BY_THE_CONTRACT

ROOT = Path(__file__).resolve().parent.parent


def _gate(layer, implementation):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "properties", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
         "--tb=line", "--hypothesis-profile=zoo", "--layercheck-devices=CPU:0,CPU:1",
         f"--layercheck-layer={layer}", f"--layer-impl={layer}={implementation.__module__}:{implementation.__qualname__}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("layer", "implementation"), EQUIVALENT.values(), ids=EQUIVALENT.keys())
def test_a_correct_implementation_written_differently_passes_the_gate(layer, implementation):
    result = _gate(layer, implementation)
    assert result.returncode == 0, gate_output.report(result)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("layer", "implementation"), REFUSED_BY_THE_CONTRACT.values(), ids=REFUSED_BY_THE_CONTRACT.keys())
def test_an_implementation_only_the_contract_refuses_fails_the_gate(layer, implementation):
    result = _gate(layer, implementation)
    assert result.returncode == 1 and "PropertyFailure" in result.stdout, result.stdout[-4000:]
