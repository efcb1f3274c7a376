"""TemperatureSoftmax's own gradient checks: the floor, a one-sided kink of ``T``.

* at ``T == floor`` exactly the gradient reaches ``T`` (``tf.maximum`` sends it to its first
  argument at a tie): the right derivative, and the function is flat to the left
  (:func:`check_gradient_reaches_t_at_the_floor`);
* an SGD step that would take ``T`` below the floor leaves it *exactly* at the floor: the
  ``MinValue`` constraint, which Keras optimizers apply after every update
  (:func:`check_sgd_step_past_the_floor_stops_at_the_floor`);
* a ``T`` assigned below the floor (``assign`` does not apply constraints) gets a zero
  gradient: ``max(T, floor)`` does not depend on it. The next optimizer step lifts it to the
  floor by the constraint, not by the gradient
  (:func:`check_temperature_below_the_floor_gets_no_gradient`).

``properties/test_temperature_softmax.py`` draws the examples; the tests in ``tests/`` feed the
same functions layers with wrong floors.
"""

import dataclasses
import math

import numpy as np

from layercheck import dtypes, tolerances
from layercheck.assertions import Case, assert_close, check
from layercheck.devices import on
from layercheck.finite_differences import FORWARD_OFFSETS, FORWARD_WEIGHTS, STEP, loss_at
from layercheck.gradients import random_cotangent
from layercheck.layers.temperature_softmax_spec import DEFAULT_MIN_TEMPERATURE, Gradients, live_z

MODEL = Gradients()

PROP_FLOOR_TIE = "at T == floor the gradient reaches T"
PROP_FLOOR_STEP = "an SGD step past the floor leaves T exactly at the floor"
PROP_BELOW_FLOOR = "a temperature assigned below the floor gets no gradient"
#: The tolerance key of the one-sided differences at the floor (float64).
ONE_SIDED_AT_THE_FLOOR = "one-sided differences at a one-sided kink"


def with_live_temperature_gradient(example, temperature):
    """A TemperatureSoftmax example at ``temperature`` whose loss can depend on ``T``.

    ``dL/dT`` is 0 for every cotangent when no row has two entries carrying probability (a row
    with one class, or all but one entry far below the maximum at a small T). Row 0 then gets
    an entry ``temperature`` below its maximum (z = -1), after a shift to a maximum of 0 where
    the logits' spacing is coarser than that; a one-class example gets a second class. Returns the example with ``initial_temperature=temperature``.
    """
    x = np.array(example.inputs, dtype=np.float32, copy=True)
    if x.shape[-1] == 1:
        x = np.concatenate([x, x - np.float32(1.0)], axis=-1)
    rows = x.reshape(-1, x.shape[-1])
    row = rows[0]
    top = int(np.argmax(row))
    other = 1 if top == 0 else 0
    # abs: np.spacing is negative for a negative maximum.
    if abs(np.spacing(row[top])) > np.float32(temperature) / 64:
        # At a small floor the logits' own spacing is coarser than T (1e-8 below 9 rounds to
        # 9.5e-7 below, z = -95): shift the row so its maximum is 0, where T is resolved.
        row -= row[top]
    row[other] = np.float32(row[top] - np.float32(temperature))
    if row[other] == row[top]:  # a huge logit: the subtraction rounded away
        row[other] = np.nextafter(row[top], np.float32(-np.inf))
    kwargs = {**example.kwargs, "initial_temperature": temperature}
    weights = {name: value for name, value in example.weights.items() if name != "temperature"}
    return dataclasses.replace(example, args=(x.shape[-1],), kwargs=kwargs, inputs=rows.reshape(x.shape), weights=weights)


def _significant_temperature_cotangent(point, rng, dtype):
    """A cotangent whose reference ``dL/dT`` is positive and far outside the tolerance."""
    tolerance = tolerances.gradient(dtype, point.layer, PROP_FLOOR_TIE)
    for _ in range(8):
        cotangent = random_cotangent(rng, point.inputs.shape, dtype)
        d_temperature = MODEL.vjp(point, cotangent)["temperature"]
        allowed = tolerance.atol * MODEL.vjp_scales(point, cotangent, dtype=dtype)["temperature"] + tolerance.rtol * abs(d_temperature)
        if abs(d_temperature) > 100 * allowed:
            return cotangent if d_temperature > 0 else -cotangent
    # Row 0 holds the max and an entry at z = -1: weight that entry alone.
    cotangent = np.zeros(point.inputs.shape, dtype=dtypes.working_dtype(dtype))
    rows = cotangent.reshape(-1, cotangent.shape[-1])
    x0 = dtypes.rows(point.inputs)[0]
    rows[0, int(np.argsort(x0)[-2])] = 1.0
    d_temperature = MODEL.vjp(point, cotangent)["temperature"]
    return cotangent if d_temperature > 0 else -cotangent


def check_gradient_reaches_t_at_the_floor(adapter, example, *, mode="eager", seed=0, device=None):
    """At ``T == min_temperature`` exactly: the float32 tape's ``dL/dT`` (in ``mode``) equals the
    reference's (which passes the gradient at the tie) and is not 0; in float64 it equals the
    one-sided (right) difference quotient, and ``L`` is exactly flat to the left of the floor."""
    floor = example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)
    example = with_live_temperature_gradient(example, floor)
    rng = np.random.default_rng(seed)
    case = Case.of(adapter, PROP_FLOOR_TIE, device, "float32", example, mode=mode, cotangent_seed=seed)
    point = adapter.spec.gradient.point(example, "float32")
    check(
        float(point.weights["temperature"]) == point.constants["min_temperature"],
        case,
        "the temperature is exactly at the floor as the layer holds it (harness self-check)",
    )
    cotangent = _significant_temperature_cotangent(point, rng, "float32")
    with on(device):
        layer = example.make(adapter, "float32")
        tape = adapter.gradients(layer, dtypes.as_input(point.inputs, "float32"), cotangent, mode)
    d_temperature = tape.get("temperature")
    check(
        d_temperature is not None and float(d_temperature) != 0.0,
        case,
        "at T == floor the gradient reaches T: dL/dT is not 0 (tf.maximum passes it on at the tie)",
        f"dL/dT = {d_temperature!r}; the reference's is {MODEL.vjp(point, cotangent)['temperature']:.9g}",
    )
    assert_close(
        d_temperature,
        MODEL.vjp(point, cotangent)["temperature"],
        case,
        tolerances.gradient("float32", example.layer, PROP_FLOOR_TIE),
        claim=f"at T == floor, the float32 {mode} tape's dL/dT equals the reference's",
        scale=MODEL.vjp_scales(point, cotangent, dtype="float32")["temperature"],
    )

    # float64: the right derivative by one-sided differences; flat on the left.
    case64 = Case.of(adapter, PROP_FLOOR_TIE, device, "float64", example, cotangent_seed=seed)
    point64 = adapter.spec.gradient.point(example, "float64")
    cotangent64 = cotangent.astype(np.float64)
    live = live_z(point64)
    t = float(point64.weights["temperature"])
    delta = STEP * t / max(1.0, float(live.max()) if live.size else 1.0)
    with on(device):
        layer64 = example.make(adapter, "float64")
        tape64 = adapter.gradients(layer64, point64.inputs, cotangent64, "eager")
        losses = [
            loss_at(adapter, layer64, point64.with_argument("temperature", np.float64(t + offset * delta)), cotangent64)
            for offset in FORWARD_OFFSETS
        ]
        left = loss_at(adapter, layer64, point64.with_argument("temperature", np.float64(t - delta)), cotangent64)
    check(
        left == losses[0],
        case64,
        "L is flat to the left of the floor: L(floor - d) == L(floor) exactly",
        f"L(floor - {delta:.3g}) = {left!r}, L(floor) = {losses[0]!r}",
    )
    right = math.fsum(w * value for w, value in zip(FORWARD_WEIGHTS, losses)) / (6.0 * delta)
    assert_close(
        float(tape64["temperature"]),
        right,
        case64,
        tolerances.gradient("float64", example.layer, ONE_SIDED_AT_THE_FLOOR),
        claim="at T == floor, the float64 tape's dL/dT equals the right derivative (one-sided differences)",
        scale=float(np.sum(np.abs(cotangent64))) * STEP / delta,
    )


def check_sgd_step_past_the_floor_stops_at_the_floor(adapter, example, *, mode="eager", seed=0, device=None):
    """An SGD step with the tape's gradient (in ``mode``) and a learning rate large enough to
    send ``T`` to ``-T`` leaves ``T`` exactly at the floor as its dtype holds it (the
    ``MinValue`` constraint, applied by the optimizer after the update)."""
    import keras
    import tensorflow as tf

    temperature = example.weights.get("temperature", example.kwargs.get("initial_temperature", 1.0))
    example = with_live_temperature_gradient(example, float(temperature))
    rng = np.random.default_rng(seed)
    point = adapter.spec.gradient.point(example, "float32")
    cotangent = _significant_temperature_cotangent(point, rng, "float32")
    t0 = float(point.weights["temperature"])
    floor = point.constants["min_temperature"]
    with on(device):
        layer = example.make(adapter, "float32")
        tape = adapter.gradients(layer, dtypes.as_input(point.inputs, "float32"), cotangent, mode)
        gradient = tape.get("temperature")
        learning_rate = 2.0 * t0 / float(gradient) if gradient is not None and float(gradient) > 0 else 1.0
        case = Case.of(
            adapter, PROP_FLOOR_STEP, device, "float32", example, mode=mode, cotangent_seed=seed, learning_rate=learning_rate
        )
        check(
            gradient is not None and float(gradient) > 0,
            case,
            "the tape's dL/dT is positive (it pushes T down), as the reference's",
            f"dL/dT = {gradient!r}; the reference's is {MODEL.vjp(point, cotangent)['temperature']:.9g}",
        )
        check(t0 - learning_rate * float(gradient) < floor, case, "the unconstrained step would end below the floor (self-check)")
        variable = adapter.variable(layer, "temperature")
        keras.optimizers.SGD(learning_rate=learning_rate).apply_gradients([(tf.constant(gradient), variable)])
        after = adapter.weight(layer, "temperature")
    check(
        float(after) == floor,
        case,
        "after an SGD step past the floor, T is exactly the floor (the MinValue constraint)",
        f"T went from {t0!r} to {float(after)!r} (gradient {float(gradient)!r}); the floor as held is {floor!r}",
    )


def check_temperature_below_the_floor_gets_no_gradient(adapter, example, below, *, mode="eager", seed=0, device=None):
    """``T`` assigned ``below`` the floor (``assign`` applies no constraint): the tape's
    ``dL/dT`` is exactly 0 (or None), the inputs' gradient is the reference's at
    ``T_eff = floor``, and an SGD step with that gradient leaves ``T`` exactly at the floor
    (lifted by the constraint, not moved by the gradient)."""
    import keras
    import tensorflow as tf

    example = with_live_temperature_gradient(example, float(example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)))
    rng = np.random.default_rng(seed)
    case = Case.of(adapter, PROP_BELOW_FLOOR, device, "float32", example, mode=mode, assigned_temperature=below, cotangent_seed=seed)
    point = adapter.spec.gradient.point(example, "float32")
    floor = point.constants["min_temperature"]
    held = float(dtypes.as_seen(np.float64(below), "float32"))
    check(held < floor, case, "the assigned temperature is below the floor as float32 holds it (self-check)")
    point = point.with_argument("temperature", np.float64(held))
    cotangent = random_cotangent(rng, point.inputs.shape, "float32")
    with on(device):
        layer = example.make(adapter, "float32")
        adapter.assign(layer, "temperature", held)
        tape = adapter.gradients(layer, dtypes.as_input(point.inputs, "float32"), cotangent, mode)
        gradient = tape.get("temperature")
        check(
            gradient is None or float(gradient) == 0.0,
            case,
            "below the floor dL/dT is exactly 0: max(T, floor) does not depend on T",
            f"dL/dT = {gradient!r}",
        )
        expected = MODEL.vjp(point, cotangent)
        assert_close(
            tape["inputs"],
            expected["inputs"],
            case,
            tolerances.gradient("float32", example.layer, PROP_BELOW_FLOOR),
            claim="below the floor the inputs' gradient is the reference's at T_eff = floor",
            scale=MODEL.vjp_scales(point, cotangent, dtype="float32")["inputs"],
        )
        if gradient is not None:
            variable = adapter.variable(layer, "temperature")
            keras.optimizers.SGD(learning_rate=0.1).apply_gradients([(tf.constant(gradient), variable)])
            after = float(adapter.weight(layer, "temperature"))
            check(
                after == floor,
                case,
                "an SGD step with the zero gradient leaves T exactly at the floor (lifted by the constraint)",
                f"T = {after!r} after the step, the floor as held is {floor!r}",
            )


