"""The TemperatureSoftmax reference: closed forms, the floor, and its VJP against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from finite_differences import check_directional_derivative, floats, unit_direction

from reference.temperature_softmax import (
    MIN_TEMPERATURE,
    effective_temperature,
    temperature_softmax,
    temperature_softmax_vjp,
)

EPS = np.finfo(np.float64).eps
# Central differences have a truncation error of about (step / 6) ** 2 * f''' relative to the
# derivative.  The steps below move the logits / T by at most 1e-6, and softmax's derivatives in
# those units are O(1) multiples of each other, so truncation is ~1e-13 relative; 1e-6 leaves a
# wide margin and still catches a wrong formula (which is off by O(1) relative).  Rounding in
# evaluating f is accounted for separately, by the `noise` bound passed to the check.
RTOL = 1e-6


def softmax_noise(x, t):
    """Bound on the rounding error of temperature_softmax(x, t), elementwise.

    z = (x - max) / T carries a relative error of ~2 eps, which exp turns into an absolute
    error eps |z| relative to exp(z); normalising adds ~(n + max |z|) eps relative.
    """
    t_eff = effective_temperature(t)
    z = np.abs(x - np.max(x, axis=-1, keepdims=True)) / t_eff
    p = temperature_softmax(x, t)
    n = x.shape[-1]
    return 4 * EPS * p * (2 + n + z + np.max(z, axis=-1, keepdims=True))


logit_shapes = hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=5)
# log10(T) from just above the floor (10 ** -2.999 = 1.0023e-3) up to 1e3.
temperatures = floats(-2.999, 3.0).map(lambda e: 10.0**e)


@st.composite
def softmax_cases(draw, temperatures=temperatures):
    shape = draw(logit_shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=floats(-10, 10)))
    v = draw(hnp.arrays(np.float64, shape, elements=floats(-1, 1)))
    u = unit_direction(draw(hnp.arrays(np.float64, shape, elements=floats(-1, 1))))
    return x, draw(temperatures), v, u


@settings(deadline=None)
@given(softmax_cases())
def test_vjp_inputs_matches_central_differences(case):
    x, t, v, u = case
    d_inputs, _ = temperature_softmax_vjp(x, t, v)
    h = 1e-6 * t  # moves the logits / T by at most 1e-6
    check_directional_derivative(lambda y: temperature_softmax(y, t), x, u, h, v, d_inputs, softmax_noise(x, t), RTOL)


@settings(deadline=None)
@given(softmax_cases(), st.sampled_from([1.0, -1.0]))
def test_vjp_temperature_matches_central_differences(case, sign):
    x, t, v, _ = case
    _, d_temperature = temperature_softmax_vjp(x, t, v)
    spread = np.max(np.max(x, axis=-1) - np.min(x, axis=-1)) / t
    # x / T moves by spread * h / T (up to a shift, to which softmax is blind): keep it <= 1e-6.
    # h <= 1e-6 T also keeps T - h above the floor, since T >= 1.0023 * floor.
    h = 1e-6 * t / (1 + spread)
    assert t - h > MIN_TEMPERATURE
    check_directional_derivative(
        lambda s: temperature_softmax(x, s), np.float64(t), np.float64(sign), h, v, d_temperature, softmax_noise(x, t), RTOL
    )


@settings(deadline=None)
@given(softmax_cases(temperatures=floats(1e-5, MIN_TEMPERATURE * (1 - 1e-3))))
def test_below_the_floor_the_temperature_gets_no_gradient(case):
    x, t, v, _ = case
    h = 1e-6 * t
    _, d_temperature = temperature_softmax_vjp(x, t, v)
    assert d_temperature == 0.0
    # Both T + h and T - h are below the floor: the output does not move at all.
    np.testing.assert_array_equal(temperature_softmax(x, t + h), temperature_softmax(x, t - h))
    np.testing.assert_array_equal(temperature_softmax(x, t), temperature_softmax(x, MIN_TEMPERATURE))


def test_at_the_floor_exactly_the_gradient_flows():
    x = np.array([[0.0, 1e-3, 2e-3], [5e-4, 0.0, -5e-4]])
    g = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]])
    _, at_floor = temperature_softmax_vjp(x, MIN_TEMPERATURE, g)
    # The same point with a lower floor: T_eff is unchanged, the mask is 1 on both sides.
    _, unclamped = temperature_softmax_vjp(x, MIN_TEMPERATURE, g, min_temperature=1e-6)
    assert at_floor != 0.0
    assert at_floor == unclamped


@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6), elements=floats(-1e30, 1e30)),
    temperatures,
)
def test_rows_are_finite_and_sum_to_one(x, t):
    p = temperature_softmax(x, t)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(np.sum(p, axis=-1), 1.0, rtol=0, atol=8 * x.shape[-1] * EPS)


def test_equal_logits_give_uniform():
    for t in (MIN_TEMPERATURE, 1.0, 1e6):
        np.testing.assert_allclose(temperature_softmax(np.full((2, 4), 7.5), t), 0.25, rtol=0, atol=EPS)


def test_unit_temperature_is_plain_softmax():
    p = temperature_softmax(np.log([[1.0, 2.0, 3.0]]), 1.0)
    np.testing.assert_allclose(p, [[1 / 6, 2 / 6, 3 / 6]], rtol=1e-15)


def test_temperature_divides_the_logits():
    # softmax(log([1, 4]) / 2) = softmax(log([1, 2])) = [1/3, 2/3].
    np.testing.assert_allclose(temperature_softmax(np.log([[1.0, 4.0]]), 2.0), [[1 / 3, 2 / 3]], rtol=1e-15)


def test_large_temperature_is_near_uniform():
    x = np.array([[-3.0, 0.0, 10.0, 2.0]])
    np.testing.assert_allclose(temperature_softmax(x, 1e9), 0.25, rtol=1e-7)


def test_floor_temperature_is_near_one_hot_with_ties_split():
    x = np.array([[0.0, 1.0, 0.5], [2.0, -1.0, 2.0]])
    p = temperature_softmax(x, MIN_TEMPERATURE)
    np.testing.assert_allclose(p, [[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], rtol=0, atol=1e-100)


def test_huge_logits_at_the_floor():
    x = np.array([[1e30, -1e30, 0.0], [-1e30, -1e30, -1e30]])
    g = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.0]])
    p = temperature_softmax(x, MIN_TEMPERATURE)
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    d_inputs, d_temperature = temperature_softmax_vjp(x, MIN_TEMPERATURE, g)
    assert np.all(np.isfinite(d_inputs)) and np.isfinite(d_temperature)


def test_temperature_below_the_floor_is_clamped():
    x = np.array([[0.0, 1e-3]])
    np.testing.assert_array_equal(temperature_softmax(x, 1e-9), temperature_softmax(x, MIN_TEMPERATURE))
    np.testing.assert_array_equal(temperature_softmax(x, -5.0), temperature_softmax(x, MIN_TEMPERATURE))
    assert effective_temperature(1e-9) == MIN_TEMPERATURE


def test_float64_out_whatever_the_input_dtype():
    x = np.array([[1.0, 2.0], [0.0, -1.0]], dtype=np.float32)
    p = temperature_softmax(x, np.float32(0.5))
    d_inputs, d_temperature = temperature_softmax_vjp(x, np.float32(0.5), np.ones_like(x))
    assert p.dtype == d_inputs.dtype == np.float64
    assert isinstance(d_temperature, np.float64)
    np.testing.assert_allclose(p, temperature_softmax(x.astype(np.float64), 0.5), rtol=0, atol=0)


def test_shape_errors():
    with pytest.raises(ValueError, match="inputs must have rank >= 2"):
        temperature_softmax(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="temperature must be a scalar"):
        temperature_softmax(np.zeros((2, 3)), np.ones(1))
    with pytest.raises(ValueError, match="cotangent must have the shape of inputs"):
        temperature_softmax_vjp(np.zeros((2, 3)), 1.0, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="min_temperature must be positive"):
        temperature_softmax(np.zeros((2, 3)), 1.0, min_temperature=0.0)
