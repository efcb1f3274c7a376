"""Bad arguments and bad inputs give a clear error that names the argument and the value.

* a temperature that is zero, negative, non-finite or below the floor is a ValueError;
* ``num_classes``, ``units`` must be positive ints;
* ``num_classes`` must match the inputs' last dimension (at build);
* a floor the layer's dtype cannot hold as a normal number, or an initial temperature it
  cannot hold at all, is a ValueError; the default layer builds under every dtype policy;
* the basis must be a non-empty, finite, rank-2 array (also when its repr is long, where the
  message shortens it), and its entries must fit the compute dtype (float16 under
  ``mixed_float16``);
* the memory cell's inputs must have rank 2, and after build the size it was built for;
  the softmax's and the projection's inputs must have rank >= 2.

Never a silent NaN, never a shape error from deep inside TensorFlow: the message is checked
for the argument's name.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import strategies as lcst
from layercheck.assertions import Case, check, fail

ARGUMENT_ERRORS = (ValueError, TypeError)
#: A readable error message: a line or three, whatever the size of the bad value.
MAX_MESSAGE = 400


def expect_clear_error(case, claim, action, *names):
    """``action()`` must raise ValueError/TypeError whose message contains one of ``names``;
    returns the message."""
    try:
        action()
    except ARGUMENT_ERRORS as error:
        message = str(error)
        check(any(name in message for name in names), case, claim, f"the message does not name {names}: {message!r}")
        return message
    except Exception as error:  # noqa: BLE001 - any other error is the failure being reported
        fail(case, claim, f"raised {type(error).__name__} instead of ValueError/TypeError: {error}")
    fail(case, claim, "no error was raised")


bad_temperatures = st.one_of(
    st.just(0.0),
    st.floats(max_value=0.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.sampled_from([math.inf, -math.inf, math.nan]),
    st.floats(min_value=1e-9, max_value=9.9e-4),  # below the default floor of 1e-3
    st.sampled_from([True, "1.0", None, [1.0]]),  # not a real number (a bool is not one either)
)


@given(num_classes=lcst.feature_sizes(max_size=16), temperature=bad_temperatures)
def test_a_temperature_that_is_not_positive_finite_and_above_the_floor_is_rejected(temperature_softmax, num_classes, temperature):
    case = Case("TemperatureSoftmax", "a bad initial_temperature is rejected", params={"num_classes": num_classes, "initial_temperature": temperature})

    def construct_and_build():
        layer = temperature_softmax.make(num_classes, initial_temperature=temperature)
        temperature_softmax.build(layer, (2, num_classes))

    expect_clear_error(case, f"initial_temperature={temperature!r} raises a clear error", construct_and_build, "initial_temperature")


@given(num_classes=lcst.feature_sizes(max_size=16), offset=st.integers(1, 8), data=st.data())
def test_num_classes_must_match_the_inputs_last_dimension(temperature_softmax, num_classes, offset, data):
    last = data.draw(st.sampled_from([num_classes + offset, max(1, num_classes - offset)]).filter(lambda n: n != num_classes), label="last dimension")
    case = Case("TemperatureSoftmax", "num_classes must match the inputs", params={"num_classes": num_classes, "last dimension": last})
    layer = temperature_softmax.make(num_classes)
    expect_clear_error(
        case,
        f"inputs with last dimension {last} for num_classes={num_classes} raise a clear error",
        lambda: temperature_softmax.call(layer, np.zeros((2, last), np.float32)),
        "num_classes",
    )


bad_counts = st.one_of(st.integers(max_value=0), st.sampled_from([2.5, True, "3", None]))


@given(count=bad_counts)
def test_num_classes_and_units_must_be_positive_ints(temperature_softmax, memory_cell, count):
    case = Case("TemperatureSoftmax/MemoryCellLayer", "counts must be positive ints", params={"value": count})
    expect_clear_error(case, f"num_classes={count!r} raises a clear error", lambda: temperature_softmax.make(count), "num_classes")
    expect_clear_error(case, f"units={count!r} raises a clear error", lambda: memory_cell.make(count), "units")


#: Every family of bad basis, each drawn in its own parametrization (in one ``one_of`` a
#: family could go undrawn in a run's 25 examples).
BAD_BASES = {
    "rank 1": st.builds(lambda d: np.ones(d, np.float32), st.integers(1, 4)),
    "rank 3": st.builds(lambda k, d: np.ones((k, d, 2), np.float32), st.integers(1, 3), st.integers(1, 3)),
    "no basis vector": st.builds(lambda d: np.ones((0, d), np.float32), st.integers(1, 4)),
    "vectors of dimension 0": st.builds(lambda k: np.ones((k, 0), np.float32), st.integers(1, 4)),
    "a non-finite entry": st.builds(
        lambda k, d, value, index: np.where(np.arange(k * d).reshape(k, d) == index % (k * d), value, 1.0).astype(np.float32),
        st.integers(1, 4), st.integers(1, 4), st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(0, 15),
    ),
    "not an array of numbers": st.sampled_from([None, "basis", [["a", "b"]]]),
    # Long reprs: the message shortens them (and must still be a clear error).
    "ragged, long": st.builds(lambda d: [[0.5] * d, [0.5] * (d - 1)], st.integers(20, 600)),
    "strings, long": st.builds(lambda d: [["x"] * d], st.integers(20, 600)),
}


@pytest.mark.parametrize("family", list(BAD_BASES))
@given(data=st.data())
def test_the_basis_must_be_a_nonempty_finite_matrix(nonnegative_projection, family, data):
    basis = data.draw(BAD_BASES[family], label="basis_vectors")
    case = Case("NonNegativeProjection", "a bad basis is rejected", params={"family": family, "basis_vectors": repr(basis)[:80]})

    def construct_and_build():
        layer = nonnegative_projection.make(basis)
        nonnegative_projection.build(layer, (2, 3))

    message = expect_clear_error(case, "a basis that is not a non-empty finite rank-2 array raises a clear error", construct_and_build, "basis")
    # A basis can be 256 x 256: the message quotes a shortened repr, not the whole value.
    check(len(message) <= MAX_MESSAGE, case, f"the message stays under {MAX_MESSAGE} characters", f"{len(message)} characters: {message[:200]!r}...")


#: Input shapes the memory cell refuses: it takes (batch, n) only.
NOT_RANK_TWO = st.sampled_from([(5,), (2, 3, 5), (1, 1, 1, 5)])


@given(shape=NOT_RANK_TWO, units=lcst.units(max_units=8))
def test_memory_cell_inputs_must_have_rank_two(memory_cell, shape, units):
    case = Case("MemoryCellLayer", "inputs must have rank 2", params={"input shape": shape, "units": units})
    expect_clear_error(
        case,
        f"inputs of shape {shape} raise a clear error",
        lambda: memory_cell.build(memory_cell.make(units), shape),
        "rank",
    )


#: Smallest positive normal number and largest finite value per dtype a policy holds the
#: temperature in (variable dtype) or computes the softmax in (float32 for 16-bit compute).
DTYPE_LIMITS = {
    "float16": (2.0**-14, 65504.0),
    "bfloat16": (2.0**-126, 3.3895313892515355e38),
    "float32": (2.0**-126, 3.4028234663852886e38),
    "float64": (2.0**-1022, 1.7976931348623157e308),
}
#: The dtypes whose limits bind, per policy: the variable dtype and the softmax's math dtype.
POLICY_DTYPES = {
    "float16": ("float16", "float32"),
    "bfloat16": ("bfloat16", "float32"),
    "mixed_float16": ("float32",),
    "mixed_bfloat16": ("float32",),
    "float32": ("float32",),
    "float64": ("float64",),
}


@pytest.mark.parametrize("dtype", list(POLICY_DTYPES))
@given(data=st.data())
def test_a_floor_or_temperature_the_dtype_cannot_hold_is_rejected(temperature_softmax, dtype, data):
    """Below the smallest normal number a floor may be flushed to zero (0 / 0 = NaN at the
    row's maximum); above the largest finite value the initial temperature is inf. Both are
    ValueErrors naming the argument; the defaults build under every policy."""
    tiny = max(DTYPE_LIMITS[name][0] for name in POLICY_DTYPES[dtype])
    largest = min(DTYPE_LIMITS[name][1] for name in POLICY_DTYPES[dtype])
    num_classes = data.draw(lcst.feature_sizes(max_size=8), label="num_classes")
    params = {"num_classes": num_classes, "dtype": dtype}
    layer = temperature_softmax.make(num_classes, dtype=dtype)
    temperature_softmax.build(layer, (2, num_classes))  # the defaults: no error
    # The limits themselves are valid: a floor at the smallest normal, a temperature at the
    # largest finite value (where the policy's dtypes hold it).
    at_the_limits = temperature_softmax.make(num_classes, initial_temperature=min(largest, 1e300), min_temperature=tiny, dtype=dtype)
    temperature_softmax.build(at_the_limits, (2, num_classes))

    floor = data.draw(st.floats(min_value=tiny * 1e-6, max_value=tiny, exclude_max=True), label="min_temperature")
    case = Case("TemperatureSoftmax", "a floor the dtype cannot hold is rejected", params={**params, "min_temperature": floor})
    expect_clear_error(
        case,
        f"min_temperature={floor!r} under dtype {dtype} raises a clear error",
        lambda: temperature_softmax.make(num_classes, initial_temperature=1.0, min_temperature=floor, dtype=dtype),
        "min_temperature",
    )
    if largest < DTYPE_LIMITS["float64"][1]:
        initial = data.draw(st.floats(min_value=largest, max_value=1e300, exclude_min=True), label="initial_temperature")
        case = Case("TemperatureSoftmax", "a temperature the dtype cannot hold is rejected", params={**params, "initial_temperature": initial})
        expect_clear_error(
            case,
            f"initial_temperature={initial!r} under dtype {dtype} raises a clear error",
            lambda: temperature_softmax.make(num_classes, initial_temperature=initial, dtype=dtype),
            "initial_temperature",
        )


@pytest.mark.keras_only("a Keras dtype policy (mixed_float16)")
@given(magnitude=st.floats(min_value=65520.0, max_value=3e38), sign=st.sampled_from([1.0, -1.0]))
def test_a_basis_entry_beyond_the_compute_dtype_is_rejected(nonnegative_projection, magnitude, sign):
    """Under ``mixed_float16`` the basis is cast to float16 in the call: an entry beyond 65504
    would be inf there (NaN outputs), so the constructor refuses it; 65504 itself is valid."""
    nonnegative_projection.make([[1.0, sign * 65504.0]], dtype="mixed_float16")  # float16's largest: valid
    basis = [[1.0, sign * magnitude], [0.5, 0.25]]
    case = Case("NonNegativeProjection", "a basis the compute dtype cannot hold is rejected", params={"entry": sign * magnitude})
    expect_clear_error(
        case,
        f"a basis entry of {sign * magnitude!r} under mixed_float16 raises a clear error",
        lambda: nonnegative_projection.make(basis, dtype="mixed_float16"),
        "basis_vectors",
    )


@pytest.mark.parametrize("layer_name", ["temperature_softmax", "nonnegative_projection"])
@given(features=lcst.feature_sizes(max_size=8))
def test_inputs_of_rank_one_are_rejected(adapter_for, layer_name, features):
    """Both layers work on rows (the last axis) of a batch: rank-1 inputs are an error at
    build, not a softmax over the batch."""
    adapter = adapter_for(layer_name)
    args = (features,) if layer_name == "temperature_softmax" else (np.eye(3, features).tolist(),)
    case = Case(adapter.contract.class_name, "rank-1 inputs are rejected", params={"input shape": (features,)})
    expect_clear_error(
        case,
        f"building for input shape ({features},) raises a clear error",
        lambda: adapter.build(adapter.make(*args), (features,)),
        "rank",
    )
    built = adapter.make(*args)
    adapter.call(built, np.zeros((2, features), np.float32))
    expect_clear_error(
        case,
        f"after a call on (2, {features}), a call on ({features},) raises a clear error",
        lambda: adapter.call(built, np.zeros((features,), np.float32)),
        "rank", "ndim", "shape",
    )


@pytest.mark.keras_only("a symbolic shape with an unknown last dimension is Keras's build API")
@pytest.mark.parametrize("layer_name", ["temperature_softmax", "nonnegative_projection", "memory_cell"])
@given(features=lcst.feature_sizes(max_size=8), leading=st.sampled_from([(2,), (None,), (2, 3), (None, 3)]))
def test_an_unknown_last_dimension_is_rejected_at_build(adapter_for, layer_name, features, leading):
    """The weights' shapes come from the last dimension: building without it is a clear
    error, whatever the rank (the check must look at the last axis, not the second)."""
    adapter = adapter_for(layer_name)
    if layer_name == "memory_cell":
        leading = leading[:1]
    args = {"temperature_softmax": (features,), "nonnegative_projection": (np.eye(3, features).tolist(),), "memory_cell": (features,)}[layer_name]
    shape = (*leading, None)
    case = Case(adapter.contract.class_name, "an unknown last dimension is rejected", params={"input shape": shape})
    expect_clear_error(
        case,
        f"building for input shape {shape} raises a clear error",
        lambda: adapter.build(adapter.make(*args), shape),
        "last dimension",
    )


@pytest.mark.keras_only("compute_output_shape is Keras's layer API")
@given(shape=NOT_RANK_TWO, units=lcst.units(max_units=8))
def test_memory_cell_output_shape_of_another_rank_is_an_error(memory_cell, shape, units):
    """compute_output_shape refuses what build refuses: no output shape for inputs that are
    not (batch, n)."""
    case = Case("MemoryCellLayer", "no output shape for inputs of another rank", params={"input shape": shape, "units": units})
    expect_clear_error(
        case,
        f"compute_output_shape{shape} raises a clear error",
        lambda: memory_cell.output_shape(memory_cell.make(units), shape),
        "rank",
    )


@given(features=lcst.feature_sizes(max_size=8), other=lcst.feature_sizes(max_size=8), units=lcst.units(max_units=8))
def test_memory_cell_inputs_must_keep_the_size_it_was_built_for(memory_cell, features, other, units):
    """After build the kernel fixes n: inputs with another last dimension, or of another rank,
    are a clear error naming the shapes, not a matmul error from inside the framework."""
    if other == features:
        other = features + 1
    case = Case("MemoryCellLayer", "inputs keep the size the layer was built for", params={"n": features, "other n": other, "units": units})
    layer = memory_cell.make(units)
    memory_cell.call(layer, np.zeros((2, features), np.float32))
    for shape in [(2, other), (features,), (2, 3, features)]:
        expect_clear_error(
            case,
            f"inputs of shape {shape} after (2, {features}) raise a clear error",
            lambda shape=shape: memory_cell.call(layer, np.zeros(shape, np.float32)),
            "shape", "rank", "ndim",
        )
