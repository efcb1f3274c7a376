"""The MemoryCellLayer reference: state semantics, hand cases, and its VJPs against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from finite_differences import check_directional_derivative, floats, relative_step, unit_direction

from reference.memory_cell import memory_cell, memory_cell_sequence, memory_cell_sequence_vjp, memory_cell_vjp

EPS = np.finfo(np.float64).eps
# Central differences have a truncation error of about (step / 6) ** 2 * f''' relative to the
# derivative.  With the values drawn below (|x| <= 2, |K|, |R| <= 1.5, |S| <= 1, at most 4 terms
# per sum) a step h = 1e-6 * max(1, max |argument|) moves the pre-activation a by at most ~1e-5,
# and tanh's derivatives are O(1) multiples of each other, so truncation is below ~1e-11
# relative; 1e-6 leaves a wide margin and still catches a wrong formula (off by O(1) relative).
# Rounding in evaluating f is accounted for separately, by the `noise` bound.
RTOL = 1e-6


def cell_noise(x, s, k, r):
    """Bound on the rounding error of memory_cell(x, s, k, r), elementwise: the sums in
    a = x @ K + S @ R (n + units terms), then tanh (its own eps, plus a's error times 1 - h**2)."""
    h = memory_cell(x, s, k, r)
    terms = x.shape[1] + k.shape[1] + 1
    return 2 * EPS * (np.abs(h) + (1 - h**2) * terms * (np.abs(x) @ np.abs(k) + np.abs(s) @ np.abs(r)))


@st.composite
def cell_cases(draw, steps=None):
    """(inputs, initial state, K, R, cotangents, directions); inputs (T, batch, n) if steps."""
    batch, n, units = (draw(st.integers(1, 4)) for _ in range(3))
    lead = (draw(steps), batch) if steps is not None else (batch,)
    x = draw(hnp.arrays(np.float64, lead + (n,), elements=floats(-2, 2)))
    s = draw(hnp.arrays(np.float64, (batch, units), elements=floats(-1, 1)))
    k = draw(hnp.arrays(np.float64, (n, units), elements=floats(-1.5, 1.5)))
    r = draw(hnp.arrays(np.float64, (units, units), elements=floats(-1.5, 1.5)))
    v = draw(hnp.arrays(np.float64, lead + (units,), elements=floats(-1, 1)))
    u_x, u_k, u_r = (
        unit_direction(draw(hnp.arrays(np.float64, a.shape, elements=floats(-1, 1)))) for a in (x, k, r)
    )
    return x, s, k, r, v, (u_x, u_k, u_r)


@settings(deadline=None)
@given(cell_cases())
def test_vjp_matches_central_differences(case):
    x, s, k, r, v, (u_x, u_k, u_r) = case
    d_inputs, d_kernel, d_recurrent = memory_cell_vjp(x, s, k, r, v)
    noise = cell_noise(x, s, k, r)
    check_directional_derivative(lambda y: memory_cell(y, s, k, r), x, u_x, relative_step(x), v, d_inputs, noise, RTOL)
    check_directional_derivative(lambda m: memory_cell(x, s, m, r), k, u_k, relative_step(k), v, d_kernel, noise, RTOL)
    check_directional_derivative(lambda m: memory_cell(x, s, k, m), r, u_r, relative_step(r), v, d_recurrent, noise, RTOL)


def frozen_state_calls(xs, previous_states, k, r):
    """The calls of a sequence with each call's previous state frozen at the recorded value."""
    return np.stack([memory_cell(x, s, k, r) for x, s in zip(xs, previous_states)])


@settings(deadline=None)
@given(cell_cases(steps=st.integers(1, 4)))
def test_sequence_vjp_matches_central_differences_with_each_previous_state_frozen(case):
    # The layer's gradient over several calls on one tape: each call reads its previous state
    # as a constant, so the function being differentiated is the stack of calls with the
    # recorded previous states frozen (truncated BPTT, window of one call).
    xs, s0, k, r, vs, (u_x, u_k, u_r) = case
    _, states = memory_cell_sequence(xs, k, r, s0)
    previous = np.concatenate([s0[None], states[:-1]])
    d_inputs, d_kernel, d_recurrent = memory_cell_sequence_vjp(xs, k, r, vs, s0)
    noise = np.stack([cell_noise(x, s, k, r) for x, s in zip(xs, previous)])
    check_directional_derivative(lambda y: frozen_state_calls(y, previous, k, r), xs, u_x, relative_step(xs), vs, d_inputs, noise, RTOL)
    check_directional_derivative(lambda m: frozen_state_calls(xs, previous, m, r), k, u_k, relative_step(k), vs, d_kernel, noise, RTOL)
    check_directional_derivative(lambda m: frozen_state_calls(xs, previous, k, m), r, u_r, relative_step(r), vs, d_recurrent, noise, RTOL)


@given(cell_cases(steps=st.integers(1, 5)))
def test_sequence_is_iterated_calls(case):
    xs, s0, k, r, _, _ = case
    outputs, states = memory_cell_sequence(xs, k, r, s0)
    state = s0
    for t, x in enumerate(xs):
        state = memory_cell(x, state, k, r)
        np.testing.assert_array_equal(outputs[t], state)
        np.testing.assert_array_equal(states[t], state)
    assert not np.shares_memory(outputs, states)


@given(cell_cases(steps=st.integers(1, 4)))
def test_sequence_vjp_is_the_sum_of_per_call_vjps(case):
    xs, s0, k, r, vs, _ = case
    previous, expected_inputs = s0, []
    expected_kernel, expected_recurrent = np.zeros_like(k), np.zeros_like(r)
    for x, v in zip(xs, vs):
        dx, dk, dr = memory_cell_vjp(x, previous, k, r, v)
        expected_inputs.append(dx)
        expected_kernel, expected_recurrent = expected_kernel + dk, expected_recurrent + dr
        previous = memory_cell(x, previous, k, r)
    d_inputs, d_kernel, d_recurrent = memory_cell_sequence_vjp(xs, k, r, vs, s0)
    np.testing.assert_allclose(d_inputs, np.stack(expected_inputs), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(d_kernel, expected_kernel, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d_recurrent, expected_recurrent, rtol=1e-12, atol=1e-15)


def test_the_sequence_gradient_is_not_full_backpropagation_through_time():
    # Two calls: the truncated gradient with respect to R misses the path R -> S[0] -> S[1] that
    # full BPTT through the composed sequence would follow.
    xs = np.array([[[1.0]], [[0.5]]])
    k, r, vs = np.array([[1.0]]), np.array([[0.5]]), np.array([[[0.0]], [[1.0]]])
    _, _, d_recurrent = memory_cell_sequence_vjp(xs, k, r, vs)
    s0 = np.tanh(1.0)
    truncated = s0 * (1 - np.tanh(0.5 + 0.5 * s0) ** 2)  # dS1/dR with S0 held constant
    np.testing.assert_allclose(d_recurrent, [[truncated]], rtol=1e-15)
    h = 1e-6
    full = (
        memory_cell_sequence(xs, k, r + h)[0][1, 0, 0] - memory_cell_sequence(xs, k, r - h)[0][1, 0, 0]
    ) / (2 * h)
    # Full BPTT would be the same here: S0 = tanh(x0 K) does not depend on R, since the
    # initial state is zero.  With a non-zero initial state it does, and the two differ.
    np.testing.assert_allclose(full, truncated, rtol=1e-8)
    initial = np.array([[1.0]])
    _, _, d_recurrent = memory_cell_sequence_vjp(xs, k, r, vs, initial)
    full = (
        memory_cell_sequence(xs, k, r + h, initial)[0][1, 0, 0] - memory_cell_sequence(xs, k, r - h, initial)[0][1, 0, 0]
    ) / (2 * h)
    assert abs(d_recurrent[0, 0] - full) > 1e-2


def test_hand_computed_two_calls():
    k = np.array([[1.0, -1.0], [2.0, 0.0]])
    r = np.array([[0.0, 1.0], [1.0, 0.0]])
    xs = np.array([[[1.0, 1.0]], [[0.0, 1.0]]])
    outputs, states = memory_cell_sequence(xs, k, r)
    # Call 0 from the zero state: a = [1 + 2, -1 + 0].
    h0 = np.tanh([3.0, -1.0])
    # Call 1: a = x1 @ K + h0 @ R = [2, 0] + [h0[1], h0[0]].
    h1 = np.tanh([2.0 + np.tanh(-1.0), np.tanh(3.0)])
    np.testing.assert_allclose(outputs, [[h0], [h1]], rtol=1e-15)
    np.testing.assert_array_equal(outputs, states)


def test_zero_kernels_stay_at_zero():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(5, 3, 4))
    outputs, states = memory_cell_sequence(xs, np.zeros((4, 2)), np.zeros((2, 2)))
    np.testing.assert_array_equal(outputs, 0.0)
    np.testing.assert_array_equal(states, 0.0)


def test_default_initial_state_is_zeros():
    rng = np.random.default_rng(1)
    xs, k, r = rng.normal(size=(3, 2, 4)), rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    np.testing.assert_array_equal(memory_cell_sequence(xs, k, r)[0], memory_cell_sequence(xs, k, r, np.zeros((2, 3)))[0])
    np.testing.assert_array_equal(memory_cell_sequence(xs[:1], k, r)[0][0], memory_cell(xs[0], np.zeros((2, 3)), k, r))


def test_float64_out_whatever_the_input_dtype():
    x, s, k, r = (np.ones(shape, np.float32) for shape in ((2, 3), (2, 4), (3, 4), (4, 4)))
    assert memory_cell(x, s, k, r).dtype == np.float64
    assert all(a.dtype == np.float64 for a in memory_cell_vjp(x, s, k, r, s))
    assert all(a.dtype == np.float64 for a in memory_cell_sequence(x[None], k, r))
    assert all(a.dtype == np.float64 for a in memory_cell_sequence_vjp(x[None], k, r, s[None]))


def test_shape_errors():
    x, s, k, r = np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4))
    with pytest.raises(ValueError, match="inputs must have rank 2"):
        memory_cell(x[None], s, k, r)
    with pytest.raises(ValueError, match="kernel must have shape"):
        memory_cell(x, s, np.zeros((5, 4)), r)
    with pytest.raises(ValueError, match="recurrent_kernel must have shape"):
        memory_cell(x, s, k, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="state must have shape"):
        memory_cell(x, np.zeros((3, 4)), k, r)
    with pytest.raises(ValueError, match="cotangent must have shape"):
        memory_cell_vjp(x, s, k, r, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="inputs_sequence must have rank 3"):
        memory_cell_sequence(x, k, r)
    with pytest.raises(ValueError, match="T >= 1"):
        memory_cell_sequence(np.zeros((0, 2, 3)), k, r)
    with pytest.raises(ValueError, match="initial_state must have shape"):
        memory_cell_sequence(x[None], k, r, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="cotangents must have shape"):
        memory_cell_sequence_vjp(x[None], k, r, s)
