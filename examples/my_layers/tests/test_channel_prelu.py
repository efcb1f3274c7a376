"""ChannelPReLU at exactly the kink: ``y(0) = 0``, ``dy/dx(0) = alpha``, ``dy/dalpha(0) = 0``.

The generic gradient properties meet exact zeros when the examples draw them (half the
examples zero a fraction of the inputs); here they are constructed, in every mode and in
float32 and float64, and checked exactly (no tolerance: one product per entry, and at 0 none).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, dtypes
from layercheck.assertions import Case, check
from my_layers import channel_prelu_spec as spec

from _helpers import MODES

LAYER = spec.NAME
pytestmark = pytest.mark.layercheck_layer(LAYER)


@pytest.fixture(scope="session")
def channel_prelu(adapter_for):
    return adapter_for(LAYER)


@given(data=st.data())
def test_the_kink_at_exactly_zero(channel_prelu, data):
    example = data.draw(spec.examples(), label="example")
    dtype = data.draw(st.sampled_from(("float32", "float64")), label="dtype")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    zeros = np.zeros_like(example.inputs)
    zeros.reshape(-1, zeros.shape[-1])[0] = -1.0  # one row of -1: alpha gets a gradient to compare with
    case = Case.of(channel_prelu, "the kink at exactly 0", None, dtype, example, mode=mode)
    layer = cases.make_layer(channel_prelu, example, dtype)
    alpha = dtypes.as_seen(example.weights["alpha"], dtype)
    cotangent = np.ones_like(zeros)
    gradients = channel_prelu.gradients(layer, dtypes.as_input(zeros, dtype), dtypes.as_input(cotangent, dtype), mode)
    outputs = channel_prelu.call(layer, dtypes.as_input(zeros, dtype), mode)
    at_zero = zeros == 0
    check(np.all(outputs[at_zero] == 0), case, "y = 0 at x = 0", f"got {outputs[at_zero][outputs[at_zero] != 0][:5]}")
    expected_dx = np.broadcast_to(alpha, zeros.shape)
    got_dx = gradients["inputs"].astype(np.float64)
    check(
        np.array_equal(got_dx, expected_dx),
        case,
        "dy/dx = alpha at x = 0 and on the negative side (the documented branch)",
        f"at zeros got {got_dx[at_zero][:5]}, expected {expected_dx[at_zero][:5]}",
    )
    check(gradients["alpha"] is not None, case, "the tape gives a gradient with respect to 'alpha'")
    check(
        np.array_equal(gradients["alpha"].astype(np.float64), -np.ones_like(alpha)),
        case,
        "dy/dalpha = 0 at x = 0 (the -1 row alone contributes -1 per channel)",
        f"got {gradients['alpha'][:5]}",
    )
