"""The NonNegativeProjection reference: closed forms, the ReLU kink, and its VJP against finite differences."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from finite_differences import check_directional_derivative, floats, unit_direction

from reference.nonnegative_projection import (
    coefficients,
    nonnegative_projection,
    nonnegative_projection_vjp,
    pre_activations,
)

EPS = np.finfo(np.float64).eps
# Away from the kink the layer is exactly linear in x (W fixed) and in W (x fixed), so a central
# difference has no truncation error at all: only rounding, bounded by `noise` in the check.
# RTOL only absorbs the rounding of the two dot products themselves (a few eps per term).
RTOL = 1e-9


def nonzero_floats(lo, hi):
    """Magnitudes in [lo, hi], either sign: an all-zero row of x or column of W would put its
    pre-activations on the kink, and the finite-difference test would have to skip them."""
    return st.one_of(floats(lo, hi), floats(-hi, -lo))


@st.composite
def projection_cases(draw):
    leading = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    n, k, d = (draw(st.integers(1, 5)) for _ in range(3))
    x = draw(hnp.arrays(np.float64, leading + (n,), elements=nonzero_floats(0.01, 3)))
    w = draw(hnp.arrays(np.float64, (n, k), elements=nonzero_floats(0.01, 2)))
    b = draw(hnp.arrays(np.float64, (k, d), elements=floats(-2, 2)))
    v = draw(hnp.arrays(np.float64, leading + (d,), elements=floats(-1, 1)))
    u_x = unit_direction(draw(hnp.arrays(np.float64, x.shape, elements=floats(-1, 1))))
    u_w = unit_direction(draw(hnp.arrays(np.float64, w.shape, elements=floats(-1, 1))))
    return x, w, b, v, u_x, u_w


@settings(deadline=None)
@given(projection_cases())
def test_vjp_matches_central_differences_away_from_the_kink(case):
    x, w, b, v, u_x, u_w = case
    h_x = 1e-6 * max(1.0, np.max(np.abs(x)))
    h_w = 1e-6 * max(1.0, np.max(np.abs(w)))
    n, k = w.shape
    pre = pre_activations(x, w)
    # Rounding of one evaluation: x @ W and then c @ B, each a sum of at most n (or k) products.
    noise = 2 * (n + k) * EPS * ((np.abs(x) @ np.abs(w)) @ np.abs(b))
    # Skip examples where a step of h along u_x (or u_w) could move a pre-activation across 0,
    # with room for its rounding: there the difference quotient straddles the kink and is not a
    # derivative.  The kink itself is covered by the closed-form tests below.
    margin = 2 * (h_x * (np.abs(u_x) @ np.abs(w)) + h_w * (np.abs(x) @ np.abs(u_w)) + n * EPS * (np.abs(x) @ np.abs(w)))
    assume(np.all(np.abs(pre) > margin))
    d_inputs, d_weights = nonnegative_projection_vjp(x, w, b, v)
    assert d_inputs.shape == x.shape and d_weights.shape == w.shape
    check_directional_derivative(lambda y: nonnegative_projection(y, w, b), x, u_x, h_x, v, d_inputs, noise, RTOL)
    check_directional_derivative(lambda m: nonnegative_projection(x, m, b), w, u_w, h_w, v, d_weights, noise, RTOL)


@given(projection_cases())
def test_outputs_are_nonnegative_combinations_of_the_basis_rows(case):
    x, w, b, _, _, _ = case
    c = coefficients(x, w)
    assert np.all(c >= 0)
    np.testing.assert_array_equal(nonnegative_projection(x, w, b), c @ b)


def test_identity_basis_and_weights_give_relu():
    x = np.array([[-2.0, 0.0, 3.5], [1.0, -0.5, 0.0]])
    eye = np.eye(3)
    np.testing.assert_array_equal(nonnegative_projection(x, eye, eye), np.maximum(x, 0.0))


def test_k_and_d_are_independent():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 7)), rng.normal(size=(7, 3)), rng.normal(size=(3, 5))
    y = nonnegative_projection(x, w, b)
    assert y.shape == (4, 5)
    np.testing.assert_array_equal(y, coefficients(x, w) @ b)
    np.testing.assert_array_equal(coefficients(x, w), np.maximum(x @ w, 0.0))


def test_rank_three_inputs():
    rng = np.random.default_rng(1)
    x, w, b, g = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(2, 5)), rng.normal(size=(2, 3, 5))
    y = nonnegative_projection(x, w, b)
    np.testing.assert_allclose(y, nonnegative_projection(x.reshape(6, 4), w, b).reshape(2, 3, 5), rtol=1e-15)
    d_inputs, d_weights = nonnegative_projection_vjp(x, w, b, g)
    flat_inputs, flat_weights = nonnegative_projection_vjp(x.reshape(6, 4), w, b, g.reshape(6, 5))
    np.testing.assert_allclose(d_inputs, flat_inputs.reshape(2, 3, 4), rtol=1e-15)
    np.testing.assert_allclose(d_weights, flat_weights, rtol=1e-13)


def test_value_and_gradient_at_the_kink_are_zero():
    # Pre-activations [0, 2]: the first exactly at the kink (1*1 + 1*(-1) = 0 exactly).
    x = np.array([[1.0, 1.0]])
    w = np.array([[1.0, 1.0], [-1.0, 1.0]])
    b = np.array([[10.0, 20.0], [1.0, 1.0]])
    g = np.array([[1.0, 1.0]])
    np.testing.assert_array_equal(pre_activations(x, w), [[0.0, 2.0]])
    np.testing.assert_array_equal(coefficients(x, w), [[0.0, 2.0]])
    np.testing.assert_array_equal(nonnegative_projection(x, w, b), [[2.0, 2.0]])
    d_inputs, d_weights = nonnegative_projection_vjp(x, w, b, g)
    # Only the second coefficient passes gradient: dc = [0, 2] (relu'(0) = 0, not 1 or 1/2).
    np.testing.assert_array_equal(d_inputs, [[2.0, 2.0]])
    np.testing.assert_array_equal(d_weights, [[0.0, 2.0], [0.0, 2.0]])


def test_float64_out_whatever_the_input_dtype():
    x, w, b = (np.ones(s, dtype=np.float32) for s in ((2, 3), (3, 2), (2, 4)))
    assert nonnegative_projection(x, w, b).dtype == np.float64
    assert all(a.dtype == np.float64 for a in nonnegative_projection_vjp(x, w, b, np.ones((2, 4), np.float32)))


def test_shape_errors():
    x, w, b = np.zeros((4, 7)), np.zeros((7, 3)), np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"basis_vectors must have rank 2 \(k, d\), got shape \(3,\)"):
        nonnegative_projection(x, w, np.zeros(3))
    with pytest.raises(ValueError, match="basis_vectors must have shape"):
        nonnegative_projection(x, w, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="projection_weights must have shape"):
        nonnegative_projection(x, np.zeros((6, 3)), b)
    with pytest.raises(ValueError, match="projection_weights must have rank 2"):
        coefficients(x, np.zeros(7))
    with pytest.raises(ValueError, match="inputs must have rank >= 2"):
        pre_activations(np.zeros(7), w)
    with pytest.raises(ValueError, match="cotangent must have the output's shape"):
        nonnegative_projection_vjp(x, w, b, np.zeros((4, 3)))
