"""Properties of TemperatureSoftmax: ``softmax(x / max(T, min_temperature))`` over the last axis.

Invariants (one test each; every test runs on each logical device, each example in an
execution mode drawn from eager / ``tf.function`` / XLA: a fresh layer per example means a
fresh XLA compilation, about 0.2 s, too dear for every example of every property, and
test_execution_modes.py checks that the three modes agree on every example):

1. float32 outputs equal the float64 reference on the values the layer saw;
2. every row sums to one;
3. every output lies in the closed unit interval [0, 1] (exactly, not within a tolerance);
4. adding a constant to a row changes nothing (the shift is exact in float32 by construction);
5. the order of the logits is preserved: the largest logit gets the largest probability,
   ``x_i > x_j`` gives ``p_i >= p_j``, strictly where the probabilities are distinguishable in
   float32, and equal logits get equal probabilities (see the test for the exact claims);
6. at temperature one the layer is ``tf.nn.softmax``, an independent implementation;
7. a higher temperature never lowers the entropy of a row;
8. at extreme logits (up to the dtype's largest finite value) and temperatures down to the
   floor, the outputs are finite and the rows sum to one, in float32 and float64;
9. optimizer steps that push the temperature down (SGD or Adam, learning rates up to 1e6)
   leave it finite and at or above its floor, and the outputs finite;
10. probabilities down to 1e-30 keep a relative accuracy (log-probabilities are usable), not
    just the absolute one of property 1;
11. at ``T == floor`` the gradient reaches ``T`` (the right derivative; flat on the left);
12. an SGD step past the floor, with the layer's own gradient, leaves ``T`` exactly at the floor;
13. a temperature assigned below the floor gets a zero gradient;
14. at extreme logits (up to float32's largest finite value) and temperatures down to the
    floor, the gradient is finite and equals the reference VJP;
15. a floor or a temperature that the dtype policy cannot hold (or whose ``dL/dT`` it cannot) is a
    clear error;
16. an infinite logit counts as the largest finite value, and a NaN logit stays in its row.

The cores of 11 to 13 are in :mod:`layercheck.layers.temperature_softmax_checks`; the generic
properties (every dtype, mode and device, gradients, round trips, argument checks from the
spec's error inputs) run this layer from its spec, ``layercheck/layers/temperature_softmax_spec.py``.

Inputs come from ``cases.examples("temperature_softmax")`` (ranks 2 and 3, batch sides from
1, logits up to 30, floors from 7.8e-19 to 1e3 or the default, temperatures log-uniform from
the floor to 1e3, about a quarter exactly at the floor); properties that pin their own
temperature against the default floor draw ``floors=False``.
"""

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layercheck import adapters, cases, dtypes, gradients, profiles, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import Case, assert_close, check, expect_clear_error
from layercheck.layers import temperature_softmax_checks as checks
from reference import temperature_softmax as reference

LAYER = "temperature_softmax"
pytestmark = pytest.mark.layercheck_layer(LAYER)


@pytest.fixture(scope="session")
def temperature_softmax(adapter_for):
    return adapter_for(LAYER)

#: The constructor's default ``min_temperature`` (the layer contract's floor).
DEFAULT_FLOOR = 1e-3

#: Smallest positive normal float32: below it a probability carries no relative precision
#: (and TensorFlow flushes subnormals to zero on CPU), so claims about ratios stop there.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)

modes = st.sampled_from(adapters.MODES)
#: The gradient properties compare in the layer dtypes (the 16-bit ones: the forward dtype property).
DTYPES = ("float32", "float64")
#: Properties 11 to 13 check one constructed case each (one branch of the floor); the generic
#: gradient properties cover the examples' whole range.
a_third = profiles.scaled(0.3, "one constructed case per example; the generic gradient properties cover the range")




def _rows(array):
    """The rows (slices along the last axis) as a 2-D array."""
    return np.asarray(array, dtype=np.float64).reshape(-1, np.shape(array)[-1])


def _with_temperature(example, temperature):
    return dataclasses.replace(example, kwargs={**example.kwargs, "initial_temperature": temperature})


def _entropy(probabilities):
    """Row entropies ``-sum p log p`` (with ``0 log 0 = 0``) in float64."""
    p = _rows(probabilities)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def _entropy_error_bound(probabilities, tolerance):
    """The entropy error implied by the forward tolerance on each probability.

    ``d(-p log p)/dp = -(1 + log p)``, so an error of at most ``atol + rtol * p`` in each
    ``p`` moves a row's entropy by at most ``sum (atol + rtol p) |1 + log p|`` to first
    order; ``log`` is taken of ``max(p, tiny)`` so that underflowed probabilities count with
    the largest ``|log p|`` float32 can represent, which also bounds ``-q log q`` for a true
    ``q <= atol``.
    """
    p = _rows(probabilities)
    per_entry = (tolerance.atol + tolerance.rtol * p) * (1.0 + np.abs(np.log(np.maximum(p, FLOAT32_TINY))))
    return per_entry.sum(axis=-1)


# -- 1 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_equals_reference(temperature_softmax, device, data):
    """float32 outputs equal ``reference.temperature_softmax`` (float64) on the float32 values
    the layer saw, within the float32 forward tolerance.

    Subtracting the row maximum before dividing by T (as the specification says) rounds each
    exponent z by about eps * |z|, so each probability by about eps * p * |z| <= eps / e: the
    absolute tolerance holds even at the floor, where |z| reaches 6e4.
    """
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    # Rank-3 inputs and batch 1 must both occur; --hypothesis-show-statistics shows how often.
    event(f"input rank {example.inputs.ndim}{', batch 1' if example.inputs.shape[0] == 1 else ''}")
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "float32 outputs equal the reference"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    assert_close(
        outputs,
        cases.reference_outputs(example, "float32"),
        case,
        tolerances.forward("float32", LAYER, prop),
        claim=f"the {mode} output equals reference.temperature_softmax on the values the layer saw",
        scale=cases.error_scale(example),
    )


# -- 2 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_rows_sum_to_one(temperature_softmax, device, data):
    """Each row is a probability vector: its float32 entries, summed in float64, give one
    within the forward tolerance (each entry carries a relative error of a few eps)."""
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "rows sum to one"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    sums = _rows(outputs).sum(axis=-1)
    assert_close(
        sums,
        np.ones_like(sums),
        case,
        tolerances.forward("float32", LAYER, prop),
        claim="every row of the output sums to 1",
    )


# -- 3 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_outputs_lie_in_the_unit_interval(temperature_softmax, device, data):
    """Every output is a finite number in [0, 1], exactly: ``exp(z) / sum(exp(z))`` with a sum
    that includes ``exp(z)`` cannot exceed 1 in floating point (rounding is monotone), so even
    an ulp above 1 (which makes ``log(1 - p)`` NaN downstream) is a defect."""
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    case = Case.of(adapter, "outputs lie in the unit interval", device, "float32", example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    outside = ~((outputs >= 0.0) & (outputs <= 1.0))  # NaN is outside too
    if outside.any():
        index = tuple(int(i) for i in np.argwhere(outside)[0])
        details = f"{int(outside.sum())} of {outside.size} output(s) outside [0, 1]; first at index {index}: {outputs[index]:.9g}"
    else:
        details = ""
    check(not outside.any(), case, "every output p satisfies 0 <= p <= 1", details)


# -- 4 -------------------------------------------------------------------------------------------


@st.composite
def _exactly_shifted(draw, example):
    """``(inputs, shifted, constants)``: the example's inputs rounded onto a grid on which
    adding a drawn per-row constant ``c`` is exact in float32, ``inputs + c``, and ``c``.

    Per row, with ``M = max(1, max|x| + |c|)`` and ``E = ceil(log2 M) + 1`` (so
    ``M <= 2**(E-1)``), values are rounded to multiples of ``q = 2**(E-24)``. Every multiple of
    ``q`` up to ``2**E`` in magnitude has at most 24 significant bits, so ``x``, ``c`` and
    ``x + c`` (``|x + c| <= M + q <= 2**E``) are all exactly float32, and none is subnormal
    (``q >= 2**-23``). Each ``x`` moves by at most ``q / 2 < 2**-23 M``.
    """
    x = np.asarray(example.inputs, dtype=np.float64)
    # Constants up to 2**20: at T = 1 an implementation that divides x + c by T before
    # subtracting the row maximum then rounds each exponent by up to 0.06, which shows.
    # Small bounds keep the grid fine (q = 2**-19 for |x + c| < 16); large ones coarsen it.
    # Each constant lies between half its bound and the bound, with either sign: a constant
    # far below its bound only repeats a smaller bound (drawn as well), and Hypothesis's
    # preference for small floats in [-1, 1] left the ci profile's 25 examples without one
    # large shift, so that dividing before shifting went unnoticed there.
    log2_bound = draw(st.integers(0, 20), label="log2 of the constants' bound")
    event(f"row constants: |c| in [2**{log2_bound - 1}, 2**{log2_bound}]")
    magnitude = 2.0**log2_bound
    fractions = draw(
        hnp.arrays(
            np.float64,
            x.shape[:-1] + (1,),
            elements=st.floats(0.5, 1.0, allow_nan=False, allow_subnormal=False, width=32),
        ),
        label="row constants / bound",
    )
    signs = draw(hnp.arrays(np.float64, x.shape[:-1] + (1,), elements=st.sampled_from([-1.0, 1.0])), label="signs")
    constants = magnitude * fractions * signs
    bound = np.maximum(1.0, np.max(np.abs(x), axis=-1, keepdims=True) + np.abs(constants))
    exponent = np.ceil(np.log2(bound)) + 1
    quantum = np.exp2(exponent - 24)
    x = np.rint(x / quantum) * quantum
    constants = np.rint(constants / quantum) * quantum
    shifted = x + constants
    for name, values in (("inputs", x), ("shifted inputs", shifted)):
        assert np.array_equal(values.astype(np.float32).astype(np.float64), values), (
            f"test construction: the {name} are not exactly float32"
        )
    return x.astype(np.float32), shifted.astype(np.float32), constants


@pytest.mark.device_sensitive
@given(data=st.data())
def test_adding_a_constant_to_a_row_changes_nothing(temperature_softmax, device, data):
    """``softmax((x + c) / T) = softmax(x / T)`` for a constant ``c`` per row.

    The shift is exact in float32 (see ``_exactly_shifted``), so the two calls compute the
    same mathematical value and any difference is the layer's own rounding: the outputs must
    agree within the forward tolerance. (Subtracting the row maximum first makes them
    identical; dividing by T first would not.)
    """
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    inputs, shifted, constants = data.draw(_exactly_shifted(example), label="exact shift")
    example = dataclasses.replace(example, inputs=inputs)
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "adding a constant to a row changes nothing"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode, row_constants=constants)
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        plain = adapter.call(layer, inputs, mode)
        moved = adapter.call(layer, shifted, mode)
    assert_close(
        moved,
        plain,
        case,
        tolerances.forward("float32", LAYER, prop),
        claim="the output on x + c (c constant along each row) equals the output on x",
    )


# -- 5 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_preserves_order(temperature_softmax, device, data):
    """The probabilities are ranked as the logits are (T > 0 makes ``x -> p`` monotone).

    With ``x`` the float32 inputs, ``p`` the layer's outputs, ``q`` the float64 reference on
    ``x``, ``rtol`` the float32 forward rtol and ``tiny`` the smallest normal float32, for every
    row and every pair of entries ``i, j`` of it:

    * argmax: at every maximal logit, ``p >= max(p) * (1 - rtol) - tiny``;
    * ties: ``x_i == x_j`` gives ``|p_i - p_j| <= rtol * max(p_i, p_j) + tiny`` (an exact tie
      is not demanded: SIMD and scalar ``exp`` may differ by an ulp within one row);
    * weak order: ``x_i > x_j`` gives ``p_i >= p_j * (1 - rtol) - tiny`` (an ulp of slack for
      an ``exp`` that is not exactly monotone; subnormal or underflowed probabilities carry no
      order information, hence ``tiny``);
    * strict order where distinguishable: ``x_i > x_j``, ``q_j >= tiny`` and
      ``q_i > q_j * (1 + 3 rtol)`` give ``p_i > p_j``. The reference ratio leaves room for a
      relative error of ``rtol`` on each side, so a correct float32 layer cannot round the
      two together; entries that underflow (``q_j < tiny``) may all become 0.
    """
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "preserves order"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    rtol = tolerances.forward("float32", LAYER, prop).rtol
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    x = _rows(cases.as_seen(example.inputs, "float32"))
    p = _rows(outputs)
    q = _rows(cases.reference_outputs(example, "float32"))
    # NaN compares false both ways and would pass the order claims unseen.
    check(np.isfinite(p).all(), case, "every output is finite (an order needs numbers)", f"{int((~np.isfinite(p)).sum())} non-finite output(s)")

    def first_pair(mask):
        row, i, j = (int(k) for k in np.argwhere(mask)[0])
        return (
            f"{int(mask.sum())} pair(s); first in row {row}: x[{i}]={x[row, i]:.9g}, x[{j}]={x[row, j]:.9g}, "
            f"p[{i}]={p[row, i]:.9g}, p[{j}]={p[row, j]:.9g}, reference {q[row, i]:.9g}, {q[row, j]:.9g}"
        )

    at_max = x == x.max(axis=-1, keepdims=True)
    low = at_max & (p < p.max(axis=-1, keepdims=True) * (1 - rtol) - FLOAT32_TINY)
    if low.any():
        row, i = (int(k) for k in np.argwhere(low)[0])
        details = f"row {row}: the maximal logit x[{i}]={x[row, i]:.9g} gets {p[row, i]:.9g}, the row's largest output is {p[row].max():.9g}"
    else:
        details = ""
    check(not low.any(), case, "every maximal logit gets the row's largest probability (within rtol)", details)

    xi, xj = x[:, :, None], x[:, None, :]
    pi, pj = p[:, :, None], p[:, None, :]
    qi, qj = q[:, :, None], q[:, None, :]
    ties = (xi == xj) & (np.abs(pi - pj) > rtol * np.maximum(pi, pj) + FLOAT32_TINY)
    check(not ties.any(), case, "equal logits get equal probabilities (within rtol)", first_pair(ties) if ties.any() else "")
    above = xi > xj
    reversed_pairs = above & (pi < pj * (1 - rtol) - FLOAT32_TINY)
    check(
        not reversed_pairs.any(),
        case,
        "x_i > x_j implies p_i >= p_j (within rtol)",
        first_pair(reversed_pairs) if reversed_pairs.any() else "",
    )
    distinguishable = above & (qj >= FLOAT32_TINY) & (qi > qj * (1 + 3 * rtol))
    merged = distinguishable & ~(pi > pj)
    check(
        not merged.any(),
        case,
        "x_i > x_j implies p_i > p_j where the reference probabilities differ by more than 3 rtol and are normal",
        first_pair(merged) if merged.any() else "",
    )


# -- 6 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_temperature_one_equals_plain_softmax(temperature_softmax, device, data):
    """At ``T = 1`` the layer is ``tf.nn.softmax`` over the last axis: checked against that
    independent implementation on the same float32 inputs on the same device."""
    adapter = temperature_softmax
    example = _with_temperature(data.draw(cases.examples(LAYER, floors=False), label="example"), 1.0)
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "temperature one equals plain softmax"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    inputs = np.asarray(example.inputs, dtype=np.float32)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
        plain = tf.nn.softmax(tf.constant(inputs), axis=-1).numpy()
    assert_close(
        outputs,
        plain,
        case,
        tolerances.forward("float32", LAYER, prop),
        claim="with temperature 1 the output equals tf.nn.softmax(inputs, axis=-1)",
    )


# -- 7 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_higher_temperature_never_lowers_the_entropy(temperature_softmax, device, data):
    """``T1 < T2`` gives ``H(T2) >= H(T1)`` per row, up to the entropy error that the forward
    tolerance allows on the probabilities of both calls (see ``_entropy_error_bound``).

    With ``beta = 1/T``, ``dH/dbeta = -beta Var_p(x) <= 0``: flattening a softmax cannot make
    it more certain. One layer; the second temperature is assigned to its weight.
    """
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER, floors=False), label="example")
    low, high = sorted(data.draw(st.tuples(lcst.temperatures(), lcst.temperatures()), label="T1, T2"))
    example = _with_temperature(example, low)
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "higher temperature never lowers the entropy"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode, T1=low, T2=high)
    tolerance = tolerances.forward("float32", LAYER, prop)
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        sharp = adapter.call(layer, np.asarray(example.inputs, np.float32), mode)
        adapter.assign(layer, "temperature", high)
        flat = adapter.call(layer, np.asarray(example.inputs, np.float32), mode)
    h_low, h_high = _entropy(sharp), _entropy(flat)
    slack = _entropy_error_bound(sharp, tolerance) + _entropy_error_bound(flat, tolerance)
    lower = h_high < h_low - slack
    if lower.any():
        row = int(np.argmax(h_low - slack - h_high))
        details = (
            f"{int(lower.sum())} row(s); worst row {row}: H(T1={low!r}) = {h_low[row]:.9g}, "
            f"H(T2={high!r}) = {h_high[row]:.9g}, allowed error {slack[row]:.3g}"
        )
    else:
        details = ""
    check(not lower.any(), case, "entropy(T2) >= entropy(T1) - tolerance for T1 <= T2, on every row", details)


# -- 8 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_finite_at_extreme_logits(temperature_softmax, device, data):
    """Logits up to the dtype's largest finite value (``lcst.extreme_logits``: wide-ranging,
    huge next to small, or all equal and huge), at any temperature down to the floor: every
    output is finite, in [0, 1], and every row sums to one within the dtype's forward
    tolerance.

    Without the row maximum subtracted first, ``exp(x / T)`` overflows here and
    ``inf / inf`` is NaN; subtracting a row mean instead is not enough either, and even
    ``x - max(x)`` overflows to -inf for rows holding both signs at full magnitude.
    """
    adapter = temperature_softmax
    dtype = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    example = data.draw(
        cases.examples(LAYER, floors=False, logits=lambda shape: lcst.extreme_logits(shape, dtype)), label="example"
    )
    # Extreme temperatures too: the floor, or below 1, where x / T grows past the logits'
    # magnitude (a temperature above 1 only shrinks them and hides an unshifted division).
    example.kwargs["initial_temperature"] = data.draw(
        st.one_of(st.just(DEFAULT_FLOOR), lcst.temperatures(DEFAULT_FLOOR, 1.0)), label="initial_temperature"
    )
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "finite at extreme logits"
    case = Case.of(adapter, prop, device, dtype, example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode, dtype)
    bad = ~np.isfinite(outputs) | (outputs < 0) | (outputs > 1)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        details = f"{int(bad.sum())} of {bad.size} output(s) non-finite or outside [0, 1]; first at index {index}: {outputs[index]:.9g}"
    else:
        details = ""
    check(not bad.any(), case, "every output is finite and in [0, 1]", details)
    sums = _rows(outputs).sum(axis=-1)
    assert_close(
        sums, np.ones_like(sums), case, tolerances.forward(dtype, LAYER, prop), claim="every row of the output sums to 1"
    )


# -- 9 -------------------------------------------------------------------------------------------


@st.composite
def _optimizers(draw):
    """``(class name in keras.optimizers, constructor kwargs)``: SGD, SGD with momentum or
    Adam, with learning rates log-uniform in [1e-2, 1e6]."""
    name = draw(st.sampled_from(["SGD", "Adam"]))
    kwargs = {"learning_rate": 10.0 ** draw(st.floats(-2.0, 6.0))}
    if name == "SGD" and draw(st.booleans()):
        kwargs["momentum"] = draw(st.floats(0.1, 0.99))
    return name, kwargs


@pytest.mark.keras_only("Keras optimizers applying the weight's constraint")
@pytest.mark.device_sensitive
@given(data=st.data())
def test_temperature_stays_at_or_above_the_floor_after_optimizer_steps(temperature_softmax, device, data):
    """Optimizer steps on ``loss = T`` (gradient +1: every step pushes T down, by up to 1e6)
    leave T finite and ``>= min_temperature`` as the variable's float32 can hold it, after
    every step; the layer's outputs afterwards are finite. The floor is the constructor's
    default or a drawn ``min_temperature`` in [1e-3, 1]."""
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER, floors=False), label="example")
    floor = data.draw(st.one_of(st.none(), lcst.temperatures(DEFAULT_FLOOR, 1.0)), label="min_temperature")
    kwargs = dict(example.kwargs)
    if floor is None:
        floor = DEFAULT_FLOOR
    else:
        kwargs["min_temperature"] = floor
        kwargs["initial_temperature"] = data.draw(lcst.temperatures(floor, 1e3), label="initial_temperature")
    example = dataclasses.replace(example, kwargs=kwargs)
    optimizer_name, optimizer_kwargs = data.draw(_optimizers(), label="optimizer")
    steps = data.draw(st.integers(1, 4), label="steps")
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "temperature stays at or above the floor after optimizer steps"
    arguments = ", ".join(f"{key}={value:.6g}" for key, value in optimizer_kwargs.items())
    case = Case.of(adapter, prop, device, "float32", example, mode=mode, optimizer=f"{optimizer_name}({arguments})", steps=steps)
    # float32(1e-3) lies above 1e-3; a floor that rounded down could only be held rounded.
    floor_as_held = float(cases.as_seen(np.float64(floor), "float32"))
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example)
        variable = adapter.variable(layer, "temperature")
        optimizer = getattr(keras.optimizers, optimizer_name)(**optimizer_kwargs)
        for step in range(1, steps + 1):
            gradient = tf.ones(variable.shape, dtype=variable.dtype)  # d(T)/dT
            optimizer.apply_gradients([(gradient, variable)])
            temperature = float(adapter.weight(layer, "temperature"))
            check(
                math.isfinite(temperature) and temperature >= floor_as_held,
                case,
                f"after step {step} the temperature is finite and >= the floor {floor!r} (float32: {floor_as_held!r})",
                f"temperature = {temperature!r}",
            )
        outputs, _ = cases.run(adapter, example, mode, layer=layer)
    bad = ~np.isfinite(outputs)
    check(
        not bad.any(),
        case,
        f"after {steps} step(s) the outputs are finite",
        f"{int(bad.sum())} of {bad.size} output(s) non-finite (temperature {temperature!r})" if bad.any() else "",
    )


# -- 10 ------------------------------------------------------------------------------------------

#: Probabilities checked for relative accuracy: from here up (log p >= -69), far above
#: float32's smallest normal 1.2e-38, so flushing subnormals plays no part.
SMALLEST_CHECKED_PROBABILITY = 1e-30


@pytest.mark.device_sensitive
@given(data=st.data())
def test_small_probabilities_keep_their_relative_accuracy(temperature_softmax, device, data):
    """Every probability of at least 1e-30 in the reference is within a relative error of
    ``8 eps (|z| + n)`` of it (z = (x - max x) / T_eff, n the row's length): the rounding of
    ``z`` (about eps |z|), of ``exp`` and of the row's sum (about n eps), with room for
    vectorised ``exp``. Property 1's absolute tolerance says nothing below 1e-6; users who
    take ``log p`` need these digits, and a clamp of ``z`` set too high (at -64, where
    ``exp`` is still 1e-28) would replace them by a constant.
    """
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER, floors=False), label="example")
    if data.draw(st.booleans(), label="deep tail"):
        # Logits T * u below the row's maximum with u in [0, 80]: probabilities from 1 down
        # to 1e-35, the whole range log p users read.
        temperature = max(example.kwargs["initial_temperature"], DEFAULT_FLOOR)
        depths = data.draw(
            hnp.arrays(np.float64, example.inputs.shape, elements=st.floats(0.0, 80.0)), label="depths"
        )
        example = dataclasses.replace(example, inputs=(-temperature * depths).astype(np.float32))
    mode = cases.mode_for(adapter, data.draw(modes, label="mode"))
    prop = "small probabilities keep their relative accuracy"
    case = Case.of(adapter, prop, device, "float32", example, mode=mode)
    with tf.device(device.tf_name):
        outputs, _ = cases.run(adapter, example, mode)
    expected = cases.reference_outputs(example, "float32")
    x = cases.as_seen(example.inputs, "float32")
    held = cases.as_seen(np.float64(example.kwargs["initial_temperature"]), "float32")
    z = (x - x.max(axis=-1, keepdims=True)) / max(float(held), float(np.float32(DEFAULT_FLOOR)))
    eps = float(np.finfo(np.float32).eps)
    allowed = 8 * eps * (np.abs(z) + x.shape[-1]) * expected
    checked = expected >= SMALLEST_CHECKED_PROBABILITY
    small = checked & (expected < 1e-6)
    event(f"probabilities below 1e-6 checked: {'yes' if small.any() else 'none'}")
    error = np.abs(np.asarray(outputs, np.float64) - expected)
    bad = checked & (error > allowed)
    details = ""
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        details = (
            f"{int(bad.sum())} of {int(checked.sum())} checked probabilities off; first at index {index}: "
            f"got {outputs[index]:.9g}, expected {expected[index]:.9g} (z = {z[index]:.6g}), "
            f"relative error {error[index] / expected[index]:.3g} > {allowed[index] / expected[index]:.3g}"
        )
    check(not bad.any(), case, "every probability >= 1e-30 is within 8 eps (|z| + n) relative of the reference", details)


# -- 11, 12, 13: the floor's gradient ----------------------------------------------------------------


@pytest.mark.device_sensitive
@a_third
@given(data=st.data())
def test_at_the_floor_the_gradient_reaches_the_temperature(temperature_softmax, device, data):
    """At T == min_temperature exactly, dL/dT is the reference's (tf.maximum passes the gradient
    to T at the tie), not 0; in float64 it is the right derivative by one-sided differences and
    L is exactly flat to the left of the floor."""
    example = data.draw(cases.examples(LAYER), label="example")
    mode = cases.mode_for(temperature_softmax, data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    checks.check_gradient_reaches_t_at_the_floor(
        temperature_softmax, example, mode=mode, seed=seed, device=device
    )


@pytest.mark.keras_only("a Keras optimizer applying the weight's constraint")
@pytest.mark.device_sensitive
@a_third
@given(data=st.data())
def test_an_sgd_step_past_the_floor_leaves_the_temperature_exactly_at_the_floor(temperature_softmax, device, data):
    """From T in [floor, 10 floor], an SGD step with the layer's own dL/dT > 0 and a learning
    rate that would send T to -T leaves T exactly at the floor (the MinValue constraint)."""
    example = data.draw(cases.examples(LAYER, floors=False), label="example")
    temperature = data.draw(lcst.temperatures(1e-3, 1e-2), label="initial temperature")
    example = dataclasses.replace(example, kwargs={**example.kwargs, "initial_temperature": temperature})
    mode = cases.mode_for(temperature_softmax, data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    checks.check_sgd_step_past_the_floor_stops_at_the_floor(
        temperature_softmax, example, mode=mode, seed=seed, device=device
    )


@pytest.mark.keras_only("the SGD step of the check uses a Keras optimizer and the weight's constraint")
@pytest.mark.device_sensitive
@a_third
@given(data=st.data())
def test_a_temperature_assigned_below_the_floor_gets_no_gradient(temperature_softmax, device, data):
    """T assigned in [1e-6, 5e-4] (below the floor 1e-3; assign applies no constraint): dL/dT is
    exactly 0, the inputs' gradient is the reference's at T_eff = floor, and an SGD step with
    that zero gradient leaves T at the floor (lifted by the constraint)."""
    example = data.draw(cases.examples(LAYER, floors=False), label="example")
    below = data.draw(lcst.temperatures(1e-6, 5e-4), label="assigned temperature")
    mode = cases.mode_for(temperature_softmax, data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    checks.check_temperature_below_the_floor_gets_no_gradient(
        temperature_softmax, example, below, mode=mode, seed=seed, device=device
    )


# -- 14 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@given(data=st.data())
def test_at_extreme_logits_the_gradient_is_finite_and_equals_the_reference_vjp(temperature_softmax, device, data):
    """Property 1 at logits up to float32's largest finite value (``lcst.extreme_logits``) and
    temperatures at the floor or below 1: every gradient is finite and equals the reference.

    Here ``x - max(x)`` reaches -6.8e38 (``-inf`` in float32) and ``z / T`` overflows; the
    forward pass hides it (such entries underflow to 0 either way) but the backward pass of
    ``z / T`` computes ``0 * (-z / T**2) = 0 * inf`` for dL/dT unless ``z`` is clamped first.
    The logits stay within float32's range in float64 too: at float64's own extremes the
    reference's ``x - max(x)`` overflows (the float64 forward pass there is property 8 of
    test_temperature_softmax.py).
    """
    example = data.draw(
        cases.examples(LAYER, floors=False, logits=lambda shape: lcst.extreme_logits(shape, "float32")), label="example"
    )
    example.kwargs["initial_temperature"] = data.draw(
        st.one_of(st.just(DEFAULT_FLOOR), lcst.temperatures(DEFAULT_FLOOR, 1.0)), label="initial_temperature"
    )
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    mode = cases.mode_for(temperature_softmax, data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_vjp(temperature_softmax, example, dtype=dtype, mode=mode, seed=seed, device=device)


# -- 15: limits of the dtype policies -----------------------------------------------------------


#: The dtypes whose limits bind, per policy: the variable dtype and the softmax's math dtype
#: (float32 for 16-bit compute). Their limits are ``dtypes.LIMITS``.
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
    row's maximum), and below the reference's ``smallest_floor`` of the math dtype ``dL/dT``
    is NaN under XLA; above the largest finite value the initial temperature is inf. All are
    ValueErrors naming the argument; the defaults build under every policy."""
    tiny = max(max(dtypes.LIMITS[name][0], reference.smallest_floor(name)) for name in POLICY_DTYPES[dtype])
    largest = min(dtypes.LIMITS[name][1] for name in POLICY_DTYPES[dtype])
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
    if largest < dtypes.LIMITS["float64"][1]:
        initial = data.draw(st.floats(min_value=largest, max_value=1e300, exclude_min=True), label="initial_temperature")
        case = Case("TemperatureSoftmax", "a temperature the dtype cannot hold is rejected", params={**params, "initial_temperature": initial})
        expect_clear_error(
            case,
            f"initial_temperature={initial!r} under dtype {dtype} raises a clear error",
            lambda: temperature_softmax.make(num_classes, initial_temperature=initial, dtype=dtype),
            "initial_temperature",
        )


# -- 16: infinite and NaN logits ----------------------------------------------------------------


@given(data=st.data())
def test_infinite_logits_are_clipped_and_a_nan_stays_in_its_row(temperature_softmax, data):
    """``+-inf`` logits are clipped to the compute dtype's largest finite value before the
    shift: the outputs are exactly those of the clipped logits, finite. A NaN logit gives NaN
    in its own row only: every other row is exactly what it is without it."""
    adapter = temperature_softmax
    example = data.draw(cases.examples(LAYER), label="example")
    mode = cases.mode_for(adapter, data.draw(st.sampled_from(("eager", "function")), label="mode"))
    inputs = example.inputs.astype(np.float32)
    rows = inputs.reshape(-1, inputs.shape[-1])
    row = data.draw(st.integers(0, len(rows) - 1), label="row")
    column = data.draw(st.integers(0, rows.shape[1] - 1), label="column")
    sign = data.draw(st.sampled_from([1.0, -1.0]), label="sign of the infinity")
    largest = np.finfo(np.float32).max
    case = Case.of(adapter, "infinite logits are clipped and a NaN stays in its row", None, "float32", example, mode=mode, row=row, column=column, sign=sign)
    layer = cases.make_layer(adapter, example, "float32")

    def outputs_for(changed_rows):
        return adapter.call(layer, changed_rows.reshape(inputs.shape), mode).reshape(rows.shape)

    infinite, clipped = rows.copy(), rows.copy()
    infinite[row, column] = sign * np.inf
    clipped[row, column] = sign * largest
    got, expected = outputs_for(infinite), outputs_for(clipped)
    check(np.isfinite(got).all(), case, f"the logit {sign * np.inf} gives finite outputs", f"non-finite at {np.argwhere(~np.isfinite(got))[:3].tolist()}")
    check(
        np.array_equal(got, expected),
        case,
        f"the logit {sign * np.inf} gives exactly the outputs of {sign * largest:.9g}, the largest finite float32",
        f"largest difference {np.max(np.abs(got - expected))}",
    )
    with_nan = rows.copy()
    with_nan[row, column] = np.nan
    got, clean = outputs_for(with_nan), outputs_for(rows)
    check(np.isnan(got[row]).all(), case, "a NaN logit gives NaN in every entry of its row", f"row {row}: {got[row]}")
    others = np.arange(len(rows)) != row
    check(
        np.array_equal(got[others], clean[others]),
        case,
        "a NaN logit leaves every other row exactly as it is without it",
        f"{int((got[others] != clean[others]).sum())} entries differ",
    )
