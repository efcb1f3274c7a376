"""Bad arguments and bad inputs give a clear error that names the argument and the value.

* a temperature that is zero, negative, non-finite or below the floor is a ValueError;
* ``num_classes``, ``units`` must be positive ints;
* ``num_classes`` must match the inputs' last dimension (at build);
* the basis must be a non-empty, finite, rank-2 array;
* the memory cell's inputs must have rank 2.

Never a silent NaN, never a shape error from deep inside TensorFlow: the message is checked
for the argument's name.
"""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from layercheck import strategies as lcst
from layercheck.assertions import Case, check, fail

ARGUMENT_ERRORS = (ValueError, TypeError)


def expect_clear_error(case, claim, action, *names):
    """``action()`` must raise ValueError/TypeError whose message contains one of ``names``."""
    try:
        action()
    except ARGUMENT_ERRORS as error:
        message = str(error)
        check(any(name in message for name in names), case, claim, f"the message does not name {names}: {message!r}")
        return
    except Exception as error:  # noqa: BLE001 - any other error is the failure being reported
        fail(case, claim, f"raised {type(error).__name__} instead of ValueError/TypeError: {error}")
    fail(case, claim, "no error was raised")


bad_temperatures = st.one_of(
    st.just(0.0),
    st.floats(max_value=0.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.sampled_from([math.inf, -math.inf, math.nan]),
    st.floats(min_value=1e-9, max_value=9.9e-4),  # below the default floor of 1e-3
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


bad_bases = st.one_of(
    st.builds(lambda d: np.ones(d, np.float32), st.integers(1, 4)),  # rank 1
    st.builds(lambda k, d: np.ones((k, d, 2), np.float32), st.integers(1, 3), st.integers(1, 3)),  # rank 3
    st.builds(lambda d: np.ones((0, d), np.float32), st.integers(1, 4)),  # no basis vector
    st.builds(lambda k: np.ones((k, 0), np.float32), st.integers(1, 4)),  # vectors of dimension 0
    st.builds(
        lambda k, d, value, index: np.where(np.arange(k * d).reshape(k, d) == index % (k * d), value, 1.0).astype(np.float32),
        st.integers(1, 4), st.integers(1, 4), st.sampled_from([np.nan, np.inf, -np.inf]), st.integers(0, 15),
    ),
    st.sampled_from([None, "basis", [["a", "b"]]]),
)


@given(basis=bad_bases)
def test_the_basis_must_be_a_nonempty_finite_matrix(nonnegative_projection, basis):
    case = Case("NonNegativeProjection", "a bad basis is rejected", params={"basis_vectors": repr(basis)[:80]})

    def construct_and_build():
        layer = nonnegative_projection.make(basis)
        nonnegative_projection.build(layer, (2, 3))

    expect_clear_error(case, "a basis that is not a non-empty finite rank-2 array raises a clear error", construct_and_build, "basis")


@given(shape=st.sampled_from([(5,), (2, 3, 5), (1, 1, 1, 5)]), units=lcst.units(max_units=8))
def test_memory_cell_inputs_must_have_rank_two(memory_cell, shape, units):
    case = Case("MemoryCellLayer", "inputs must have rank 2", params={"input shape": shape, "units": units})
    expect_clear_error(
        case,
        f"inputs of shape {shape} raise a clear error",
        lambda: memory_cell.build(memory_cell.make(units), shape),
        "rank",
    )
