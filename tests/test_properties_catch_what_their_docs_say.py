"""A property whose documentation says it catches a defect catches it on its own, in the ci
profile that CI runs.

The zoo checks that the gate as a whole catches every entry, which the first property to fail
decides; it does not show that each property keeps the promise its docstring (and the porting
guide) makes. Each case here runs one property alone, in the ``ci`` profile, against the
known-bad implementation it names, and expects it to fail.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: (property file, -k expression, layer, implementation): the property must fail on it.
PROMISES = [
    pytest.param(
        "properties/test_temperature_softmax.py",
        "test_adding_a_constant_to_a_row_changes_nothing",
        "temperature_softmax",
        "tests.zoo.mutants_temperature_softmax:DivideThenShiftSoftmax",
        id="shift invariance catches dividing before shifting",
    ),
]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("path", "keyword", "layer", "implementation"), PROMISES)
def test_the_property_catches_the_defect_its_docs_name(path, keyword, layer, implementation):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "LAYERCHECK"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", path, "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-x",
         "--hypothesis-profile=ci", "--layercheck-devices=CPU:0", "-k", keyword,
         f"--layercheck-layer={layer}", f"--layer-impl={layer}={implementation}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "PropertyFailure" in output, output[-4000:]
