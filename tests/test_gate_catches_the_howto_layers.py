"""The gate catches every defect of the how-to's layers (``tests/zoo/howto.py``).

Each how-to layer runs through the properties that its defects break, in a subprocess (the
gate as a user runs it, ``--layer-impl``), and each of those properties must fail; the same
properties pass on the production layers (``properties/`` in the main run), so a failure here
is the defect, not the property.
"""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The generic argument check, one test per error input of the spec (its id in brackets).
ARGUMENT_CHECK = "test_argument_checks.py::test_a_bad_argument_or_input_raises_a_clear_error[{}]"

# layer name, how-to class, {defect: property that must fail (a test, or one parametrization)}
DEFECTS = {
    "temperature_softmax": (
        "HowToTemperatureSoftmax",
        {
            "NaN for a tiny temperature with large logits": "test_temperature_softmax.py::test_finite_at_extreme_logits",
            "nothing keeps the trainable temperature positive": "test_temperature_softmax.py::test_temperature_stays_at_or_above_the_floor_after_optimizer_steps",
            "temperature 0 accepted": ARGUMENT_CHECK.format("temperature_softmax-bad initial_temperature"),
            "num_classes never checked": ARGUMENT_CHECK.format("temperature_softmax-num_classes does not match the inputs"),
        },
    ),
    "nonnegative_projection": (
        "HowToNonNegativeProjection",
        {
            "transposed basis: k != d fails, square reconstructs from columns": "test_nonnegative_projection.py::test_equals_reference",
            "no basis shape but square works": "test_nonnegative_projection.py::test_every_basis_shape_works",
        },
    ),
    "memory_cell": (
        "HowToMemoryCellLayer",
        {
            "cannot be built with an unknown batch size": "test_memory_cell.py::test_works_in_a_functional_model_with_unknown_batch_size",
            "a batch-size change fails deep inside TensorFlow": "test_memory_cell.py::test_batch_size_change_is_a_clear_error_until_reset",
            "no way to reset": "test_memory_cell.py::test_reset_state_restores_zeros_and_the_next_sequence_replays",
        },
    ),
}


@pytest.mark.parametrize("layer_name", sorted(DEFECTS))
def test_every_defect_of_the_howto_layer_is_caught(layer_name):
    class_name, defects = DEFECTS[layer_name]
    selected = sorted({f"properties/{node}" for node in defects.values()})
    command = [
        sys.executable, "-m", "pytest", *selected, "-p", "no:cacheprovider", "-p", "no:xdist", "-rf",
        "--hypothesis-profile=zoo", f"--layer-impl={layer_name}=tests.zoo.howto:{class_name}",
        "--layercheck-devices=CPU:0",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert f"{layer_name} under test: tests.zoo.howto:{class_name}" in result.stdout, result.stdout[-3000:]
    # Ids of parametrized tests may hold spaces ("temperature_softmax-bad initial_temperature").
    failed = set(re.findall(r"^FAILED properties/(.+?)(?: - |$)", result.stdout, re.MULTILINE))
    missed = {
        defect: node
        for defect, node in defects.items()
        if not any(test_id == node or test_id.startswith(node + "[") for test_id in failed)
    }
    assert not missed, f"defects not caught: {missed}\nfailed: {sorted(failed)}\n{result.stdout[-3000:]}"
