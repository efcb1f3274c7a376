"""A layer the harness has never seen gets the generic battery from its spec and reference alone.

``tests/gained_swish/`` holds a small stateless layer, its NumPy reference and its spec, and
nothing else: no edit anywhere in the harness. Registered with ``--layercheck-spec``, it is
collected by every generic property its capabilities call for, passes them all, and a broken
copy of it (``--layer-impl``) is caught.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = "tests.gained_swish.spec:SPEC"

#: What a stateless layer with a gradient model, trainable weights, ``compute_output_shape``
#: and a width option is owed, per generic property file (test functions, before devices).
GENERIC_FILES = ("test_execution_modes.py", "test_gradients.py", "test_round_trips.py", "test_distribution.py", "test_argument_checks.py")


def _gate(*extra):
    command = [
        sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-rs",
        "--hypothesis-profile=zoo", "--layercheck-devices=CPU:0,CPU:1",
        f"--layercheck-spec={SPEC}", "--layercheck-layer=gained_swish", *extra,
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)


def _count(summary, word):
    found = re.search(rf"(\d+) {word}", summary)
    return int(found.group(1)) if found else 0


def _collected_ids():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "properties", "--collect-only", "-q", "-p", "no:cacheprovider",
         f"--layercheck-spec={SPEC}", "--layercheck-layer=gained_swish", "--layercheck-devices=CPU:0,CPU:1"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_the_fourth_layer_is_collected_by_every_generic_property():
    ids = _collected_ids()
    files = {line.split("::")[0].split("/")[-1] for line in ids}
    assert files == set(GENERIC_FILES), files
    functions = {line.split("::")[1].split("[")[0] for line in ids}
    expected = set()
    for name in GENERIC_FILES:
        text = (ROOT / "properties" / name).read_text()
        expected |= set(re.findall(r"^def (test_\w+)\(layer_name", text, flags=re.M))
    # Every generic property that takes a layer_name applies to it (none calls for a capability
    # it lacks: it is stateless, has a gradient model, compute_output_shape and a width option),
    # but the one for INTEGER_INPUTS: GainedSwish does not cast integer inputs, and its spec
    # does not claim it.
    expected -= {"test_integer_inputs_give_what_the_same_values_as_floats_give"}
    assert functions == expected, sorted(expected - functions)
    assert all("gained_swish" in line for line in ids)


@pytest.mark.timeout(1800)
def test_the_fourth_layer_passes_and_a_broken_copy_is_caught():
    passed = _gate()
    summary = passed.stdout.strip().splitlines()[-1] if passed.stdout.strip() else ""
    assert passed.returncode == 0 and _count(summary, "failed") == 0, passed.stdout[-6000:] + passed.stderr[-3000:]
    assert _count(summary, "passed") >= 20, summary

    broken = _gate("--layer-impl=gained_swish=tests.gained_swish.layer:BrokenGainedSwish", "-x")
    assert broken.returncode == 1, broken.stdout[-3000:]
    assert "GainedSwish: property" in broken.stdout and "rerun:" in broken.stdout, broken.stdout[-3000:]
