"""Gradient checks against the reference VJPs: one call, several calls, an optimizer step.

``properties/test_gradients.py`` draws the examples and calls the ``check_*`` functions here
(and those of :mod:`layercheck.finite_differences`) for every registered layer with a gradient
model; ``tests/test_gradient_properties_catch_bad_gradients.py`` calls the same functions on
layers with deliberately wrong gradients. Every check reaches the layer through its adapter,
and every failure is a :class:`~layercheck.assertions.PropertyFailure` naming the layer, the
property, the device, the dtype and the parameters.

What "the gradient" is
----------------------
Every check pulls a cotangent ``v`` back through ``L = sum(v * layer(x))``, with respect to the
inputs and every trainable weight (:func:`argument_names`). What the reference VJP is, layer
by layer, is the layer's :class:`GradientModel` (in its spec, next to the layer), which calls
the layer's reference module.

A **stateful** layer reads its state as a CONSTANT through one call: the gradient of one call
is the VJP at the state the layer held before it, and through several calls recorded on one
tape the weights get the sum of the per-call VJPs, each with its own previous state held
constant (truncated backpropagation through time, window one call). The checks replay the
calls one at a time from the states the layer actually held (teacher forcing:
``GradientModel.states_from_outputs``), so a gradient check does not also re-check the forward
recurrence (the layer's own properties do that). A stateful model's :class:`Point` holds
``inputs`` of shape ``(steps, ...)`` and ``constants["states"]``, the state before each step.

Comparisons
-----------
The reference VJP is evaluated in float64 on the very values the layer saw (inputs, weights,
constants and cotangent rounded to its dtype). The tolerance is ``tolerances.gradient`` with,
as ``scale``, the same VJP formula on absolute values (``GradientModel.vjp_scales``): the
rounding error of a sum of products is bounded by eps times the sum of the absolute terms.
TensorFlow flushes subnormals to zero, so every scale carries :func:`underflow` of the dtype.

Where the layer has a kink (``GradientModel.decisions``), the reference takes the layer's own
side wherever rounding in the layer's dtype could decide it; everywhere else it decides alone.
"""

import dataclasses

import numpy as np

from layercheck import dtypes, tolerances
from layercheck.assertions import Case, assert_close, check
from layercheck.devices import on

# -- property names (the Case's prop, and the key of tolerance overrides) ----------------------

PROP_VJP = "the tape gradient equals the reference VJP"
PROP_SEVERAL_CALLS = "a tape over several calls gives the sum of the per-call VJPs"
PROP_TRAINING_STEP = "an optimizer step moves only the trainable weights"


# -- the values a layer saw ----------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    """What one gradient is taken at, in float64, as the layer sees it.

    ``inputs``: one call's inputs, or ``(steps, batch, ...)`` for a stateful layer; ``weights``:
    the trainable weights; ``constants``: the rest (a floor, a basis, the states before each
    step), as the layer's gradient model defines them.
    """

    layer: str
    inputs: np.ndarray
    weights: dict
    constants: dict

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def with_argument(self, name, value):
        if name == "inputs":
            return self.replace(inputs=value)
        return self.replace(weights={**self.weights, name: value})

    def argument(self, name):
        return self.inputs if name == "inputs" else self.weights[name]


class GradientModel:
    """How the harness differentiates one layer: the reference VJP and the scales of its errors.

    A layer's spec holds an instance of a subclass (next to the layer). The methods without a
    default must be given; the kink hooks default to "no kink"; ``states_from_outputs`` is for
    stateful layers.
    """

    def point(self, example, dtype):
        """The example's inputs, trainable weights and constants as a layer of ``dtype`` holds
        them (float64). A stateful layer's ``states`` are filled in from running the layer."""
        raise NotImplementedError

    def output_shape(self, point):
        """The outputs' shape at ``point`` (a leading steps or calls axis maps through)."""
        raise NotImplementedError

    def vjp(self, point, cotangent, decisions=None):
        """``{argument name: float64 VJP}`` from the reference module. A stateful layer sums the
        weights' VJP over the steps (each previous state held constant) and stacks the inputs'.
        ``decisions``: what :meth:`decisions` returned (the layer's side of its kinks)."""
        raise NotImplementedError

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        """The VJP formula on absolute values, plus :func:`underflow` of ``dtype``."""
        raise NotImplementedError

    def difference_scale(self, point):
        """Per output: its float64 rounding error divided by eps, up to a constant (the scale of
        a finite difference's rounding). Not floored at 1: a saturated output has tiny
        derivatives and tiny errors."""
        raise NotImplementedError

    def inner_rate(self, point, name, direction, every_output=False):
        """How fast the layer's inner variable (a pre-activation, ``z = x / T``) moves along
        ``direction`` of argument ``name``: the largest absolute derivative, 0 if it does not
        move. ``every_output``: a Jacobian compares every output on its own scale, so outputs too
        small to weigh in a weighted sum count too."""
        raise NotImplementedError

    def shrink(self, example, max_side=3):
        """``example`` cropped to at most ``max_side`` along every axis (full Jacobians)."""
        raise NotImplementedError

    # -- kinks (defaults: the layer is smooth) --------------------------------------------------

    def decisions(self, adapter, layer, point, dtype):
        """The layer's own side of each kink that rounding in ``dtype`` could decide, as
        :meth:`vjp` takes them; None where the reference decides alone."""
        return None

    def lift(self, point, name, reach):
        """``point`` moved off a one-sided kink (a floor) that a step of ``reach`` in argument
        ``name`` could reach, or None when none is in reach."""
        return None

    def near_kinks(self, point, name, stencil):
        """A boolean mask of the entries some evaluation of ``stencil`` (a
        :class:`~layercheck.finite_differences.Stencil`) could push across or onto a kink, or
        None for a smooth layer."""
        return None

    def move_off_kinks(self, point, near, rng, attempt):
        """``point`` with the entries marked in ``near`` nudged (``attempt``: 0, 1, ...)."""
        raise NotImplementedError

    def check_unambiguous(self, point, dtype, what):
        """Raise ``AssertionError`` naming ``what`` where a kink is within rounding of ``point``
        in ``dtype`` (a golden value must not depend on it)."""

    def constrain(self, point, name, value):
        """``value`` of the trainable weight ``name`` after the weight's documented constraint
        (a floor); the very object ``value`` where it has none."""
        return value

    def describe(self, point):
        """Label the point with ``hypothesis.event`` (which regions the examples reach)."""

    # -- stateful layers ----------------------------------------------------------------------

    def states_from_outputs(self, outputs):
        """The state before each step, from the outputs of the steps (teacher forcing)."""
        raise NotImplementedError


def model_of(adapter):
    model = adapter.spec.gradient
    if model is None:
        raise ValueError(f"the {adapter.spec.name} spec has no gradient model: no gradient property applies to it")
    return model


def argument_names(adapter):
    """The differentiable arguments: the inputs and every trainable weight of the contract."""
    return ("inputs", *adapter.spec.trainable)


def underflow(dtype):
    """The absolute error of values near the dtype's smallest normal (TensorFlow flushes
    subnormals to zero), as a scale: ``tiny / eps`` (1e-31 for float32, 1e-292 for float64),
    so that ``atol * scale`` covers ``tiny`` for any atol above ``eps``."""
    info = np.finfo(dtypes.working_dtype(dtype))
    return float(info.tiny / info.eps)


def random_cotangent(rng, shape, dtype):
    """Standard-normal values rounded to the dtype the layer works in (float32 or float64)."""
    return rng.standard_normal(shape).astype(dtypes.working_dtype(dtype))


def event(text):
    """``hypothesis.event(text)`` when inside a Hypothesis test."""
    from hypothesis import currently_in_test_context
    from hypothesis import event as hypothesis_event

    if currently_in_test_context():
        hypothesis_event(text)


def last_call(model, point, state_before):
    """The point of the last step of a stateful layer's sequence, ``state_before`` held constant."""
    return point.replace(inputs=point.inputs[-1:], constants={**point.constants, "states": np.asarray(state_before)[None]})


def run_earlier_steps(adapter, layer, example, point, dtype):
    """Run a stateful example's steps but the last, eagerly; the point of the last step at the
    state they left."""
    for x in example.call_inputs[:-1]:
        adapter.call(layer, dtypes.as_input(x, dtype), "eager")
    state = adapter.weight(layer, adapter.spec.state).astype(np.float64)
    return last_call(adapter.spec.gradient, point, state)


# -- tapes ---------------------------------------------------------------------------------------


def _underlying(variable):
    """The tf.Variable a tape watches for ``variable`` (a Keras variable wraps one)."""
    import tensorflow as tf

    inner = getattr(variable, "value", None)
    return inner if isinstance(inner, tf.Variable) else variable


def several_calls_gradients(adapter, layer, calls, cotangents, mode="eager"):
    """Several calls recorded on ONE GradientTape: ``L = sum_t sum(layer(calls[t]) * v[t])``.

    Runs eagerly, or the whole tape in one ``tf.function`` (``mode="function"``) or one XLA
    cluster (``mode="xla"``). Returns ``(outputs, gradients, watched)``: the outputs of every
    call (T, ...); ``{"inputs": (T, ...), <trainable weight>: ...}`` (None where the tape has
    no gradient); and the variables the tape watched on its own (the trainable ones it read).
    """
    if adapter.framework != "keras":
        return adapter.several_calls_gradients(layer, calls, cotangents, mode)
    import tensorflow as tf

    calls = tf.convert_to_tensor(calls)
    cotangents = tf.convert_to_tensor(cotangents)
    adapter.build(layer, calls.shape[1:])
    variables = [adapter.variable(layer, name) for name in adapter.spec.trainable]
    watched = []

    def run(calls, cotangents):
        with tf.GradientTape() as tape:
            tape.watch(calls)
            outputs = []
            loss = tf.zeros((), cotangents.dtype)
            for t in range(calls.shape[0]):
                y = adapter.call_tensor(layer, calls[t], "eager")
                outputs.append(y)
                loss += tf.reduce_sum(tf.cast(y, cotangents.dtype) * cotangents[t])
        watched[:] = tape.watched_variables()
        return tf.stack(outputs), tape.gradient(loss, [calls, *variables])

    if mode != "eager":
        run = tf.function(run, jit_compile=(mode == "xla"))
    outputs, results = run(calls, cotangents)
    names = argument_names(adapter)
    gradients = {name: None if value is None else dtypes.to_numpy(value) for name, value in zip(names, results)}
    return dtypes.to_numpy(outputs), gradients, list(watched)


# -- 1. tape gradient against the reference VJP ---------------------------------------------------


def compare_gradients(case, actual, expected, scales, tolerance, what, names):
    """Each of ``names``: the tape gave a gradient, and it equals the reference within tolerance."""
    for name in names:
        value = actual.get(name)
        check(
            value is not None,
            case,
            f"{what}: the tape gives a gradient with respect to {name!r}",
            f"the tape returned None for {name!r}: the layer's output does not depend on it "
            "differentiably (a frozen, non-trainable or stop_gradient'ed weight?)",
        )
        assert_close(
            value,
            expected[name],
            case,
            tolerance,
            claim=f"{what}: the gradient with respect to {name!r} equals the reference VJP",
            scale=scales[name],
        )


def check_vjp(adapter, example, *, dtype="float32", mode="eager", seed=0, device=None):
    """The tape's gradient (``adapter.gradients`` in ``mode``) equals the reference VJP for a
    random cotangent, for the inputs and every trainable weight.

    A stateful layer: the example's steps but the last run first (eagerly), then the gradient
    of the last call, against the VJP at the state the layer held before it.
    """
    spec, model = adapter.spec, model_of(adapter)
    rng = np.random.default_rng(seed)
    case = Case.of(adapter, PROP_VJP, device, dtype, example, mode=mode, cotangent_seed=seed)
    point = model.point(example, dtype)
    with on(device):
        layer = example.make(adapter, dtype)
        if spec.stateful:
            point = run_earlier_steps(adapter, layer, example, point, dtype)
        cotangent = random_cotangent(rng, model.output_shape(point), dtype)
        call_cotangent = cotangent[0] if spec.stateful else cotangent
        call_inputs = point.inputs[0] if spec.stateful else point.inputs
        tape = adapter.gradients(layer, dtypes.as_input(call_inputs, dtype), call_cotangent, mode)
        decisions = model.decisions(adapter, layer, point, dtype)
    model.describe(point)
    expected = model.vjp(point, cotangent, decisions)
    scales = model.vjp_scales(point, cotangent, decisions, dtype)
    if spec.stateful:
        expected["inputs"], scales["inputs"] = expected["inputs"][0], scales["inputs"][0]
    compare_gradients(
        case,
        tape,
        expected,
        scales,
        tolerances.gradient(dtype, spec, PROP_VJP, device),
        f"{dtype}, {mode}",
        argument_names(adapter),
    )


# -- 2. several calls on one tape -----------------------------------------------------------------


def several_calls(example):
    """The calls of ``example`` as one array (T, ...): a stateful layer's sequence, or for a
    stateless one the inputs and the inputs with the batch axis reversed."""
    if example.spec.stateful:
        return np.asarray(example.inputs)
    return np.stack([example.inputs, np.flip(example.inputs, axis=0)])


def expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype):
    """Reference VJP and scales summed over the calls (the weights) / stacked (the inputs)."""
    model = model_of(adapter)
    if adapter.spec.stateful:
        states = model.states_from_outputs(np.asarray(outputs, dtype=np.float64))
        call_point = point.replace(inputs=calls_seen, constants={**point.constants, "states": states})
        return model.vjp(call_point, cotangents), model.vjp_scales(call_point, cotangents, dtype=dtype)
    expected, scales = {}, {}
    for x, g in zip(calls_seen, cotangents):
        call_point = point.replace(inputs=x)
        decisions = model.decisions(adapter, layer, call_point, dtype)
        pairs = ((expected, model.vjp(call_point, g, decisions)), (scales, model.vjp_scales(call_point, g, decisions, dtype)))
        for target, values in pairs:
            for name, value in values.items():
                if name == "inputs":
                    target.setdefault(name, []).append(value)
                else:
                    target[name] = target.get(name, 0.0) + value
    for target in (expected, scales):
        target["inputs"] = np.stack(target["inputs"])
    return expected, scales


def check_several_calls(adapter, example, *, dtype="float32", mode="eager", seed=0, device=None):
    """Several calls on one tape: the weights' gradient is the sum of the per-call VJPs (for a
    stateful layer each with its previous state held constant: truncated BPTT, window one),
    the inputs' gradient of each call is that call's own VJP."""
    model = model_of(adapter)
    rng = np.random.default_rng(seed)
    calls = several_calls(example)
    case = Case.of(adapter, PROP_SEVERAL_CALLS, device, dtype, example, mode=mode, calls=len(calls), cotangent_seed=seed)
    point = model.point(example, dtype)
    calls_seen = dtypes.as_seen(calls, dtype)
    with on(device):
        layer = example.make(adapter, dtype)
        # (T, ...) for every layer: output_shape maps a leading calls axis through.
        cotangents = random_cotangent(rng, model.output_shape(point.replace(inputs=calls_seen)), dtype)
        outputs, tape, _ = several_calls_gradients(adapter, layer, dtypes.as_input(calls, dtype), cotangents, mode)
        expected, scales = expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype)
    compare_gradients(
        case,
        tape,
        expected,
        scales,
        tolerances.gradient(dtype, adapter.spec, PROP_SEVERAL_CALLS, device),
        f"{len(calls)} calls on one tape, {dtype}, {mode}",
        argument_names(adapter),
    )


# -- 3. optimizer steps touch only the trainable weights ------------------------------------------


def _identities(variables):
    return {id(_underlying(v)) for v in variables}


def check_training_step(adapter, example, *, mode="eager", seed=0, device=None, learning_rate=0.1):
    """One SGD step on a loss recorded over the example's calls (one tape, in ``mode``):

    * ``layer.trainable_weights`` (what Keras training updates) and the variables the tape
      watched are both exactly the contract's trainable weights (so no optimizer receives a
      gradient for a non-trainable weight, and none skips a trainable one);
    * the step leaves every non-trainable weight bit-identical (a state: as the calls left it);
    * every trainable weight moved by ``-learning_rate`` times the reference gradient, then
      through the weight's documented constraint (``GradientModel.constrain``).
    """
    import keras
    import tensorflow as tf

    spec, model = adapter.spec, model_of(adapter)
    dtype = "float32"
    rng = np.random.default_rng(seed)
    case = Case.of(adapter, PROP_TRAINING_STEP, device, dtype, example, mode=mode, learning_rate=learning_rate, seed=seed)
    point = model.point(example, dtype)
    calls = np.asarray(example.inputs) if spec.stateful else np.asarray(example.inputs)[None]
    calls_seen = dtypes.as_seen(calls, dtype)
    with on(device):
        layer = example.make(adapter, dtype)
        cotangents = random_cotangent(rng, model.output_shape(point.replace(inputs=calls_seen)), dtype)
        outputs, tape, watched = several_calls_gradients(adapter, layer, dtypes.as_input(calls, dtype), cotangents, mode)
        variables = [adapter.variable(layer, name) for name in spec.trainable]
        keras_trainable = list(getattr(layer, "trainable_weights", variables))
        expected_ids, watched_ids, keras_ids = _identities(variables), _identities(watched), _identities(keras_trainable)
        names = {id(_underlying(v)): getattr(v, "path", getattr(v, "name", repr(v))) for v in [*variables, *watched, *keras_trainable]}
        check(
            keras_ids == expected_ids,
            case,
            f"layer.trainable_weights (what Keras training updates) are exactly the trainable weights ({', '.join(spec.trainable)})",
            f"in trainable_weights but not trainable: {sorted(names[i] for i in keras_ids - expected_ids)}; "
            f"trainable but missing from trainable_weights: {sorted(names[i] for i in expected_ids - keras_ids)}",
        )
        check(
            watched_ids == expected_ids,
            case,
            f"the tape watched exactly the trainable weights ({', '.join(spec.trainable)}), so no optimizer gets a "
            "gradient for anything else",
            f"watched but not trainable: {sorted(names[i] for i in watched_ids - expected_ids)}; "
            f"trainable but not watched: {sorted(names[i] for i in expected_ids - watched_ids)}",
        )
        for name in spec.trainable:
            check(tape.get(name) is not None, case, f"the tape gives a gradient with respect to {name!r}")
        frozen = {name: adapter.weight(layer, name).copy() for name in spec.non_trainable}
        before = {name: adapter.weight(layer, name).astype(np.float64) for name in spec.trainable}
        # Before the step: the reference takes the layer's own side of a kink from the layer
        # (model.decisions), and after the step its weights are no longer the ones the tape saw.
        expected, scales = expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype)
        if spec.trainable:  # Keras's apply_gradients refuses an empty list
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
            optimizer.apply_gradients([(tf.constant(tape[name]), v) for name, v in zip(spec.trainable, variables)])
        after = {name: adapter.weight(layer, name).astype(np.float64) for name in spec.trainable}
        for name, value in frozen.items():
            now = adapter.weight(layer, name)
            changed = now.shape != value.shape or not np.array_equal(now.view(np.uint8), value.view(np.uint8))
            check(
                not changed,
                case,
                f"the optimizer step leaves the non-trainable {name!r} bit-identical",
                f"{int(np.sum(now != value)) if now.shape == value.shape else 'shape changed:'} value(s) changed",
            )
    gradient_tolerance = tolerances.gradient(dtype, spec, PROP_TRAINING_STEP, device)
    eps = float(np.finfo(np.float32).eps)
    for name in spec.trainable:
        reference_gradient = np.asarray(expected[name], dtype=np.float64)
        unconstrained = before[name] - learning_rate * reference_gradient
        target = model.constrain(point, name, unconstrained)
        constrained = target is not unconstrained
        # The step's error: learning_rate times the gradient's allowed error, plus float32
        # rounding of the update; expressed as a scale for the gradient tolerance's atol.
        allowed = learning_rate * (gradient_tolerance.atol * scales[name] + gradient_tolerance.rtol * np.abs(reference_gradient))
        allowed = allowed + 4 * eps * (np.abs(before[name]) + learning_rate * np.abs(reference_gradient))
        assert_close(
            after[name],
            target,
            case,
            gradient_tolerance,
            claim=f"SGD moved {name!r} by -learning_rate * the reference gradient"
            + (" (then through the weight's documented constraint)" if constrained else ""),
            scale=allowed / gradient_tolerance.atol,
        )


__all__ = [
    "PROP_SEVERAL_CALLS",
    "PROP_TRAINING_STEP",
    "PROP_VJP",
    "GradientModel",
    "Point",
    "argument_names",
    "check_several_calls",
    "check_training_step",
    "check_vjp",
    "compare_gradients",
    "event",
    "expected_over_calls",
    "random_cotangent",
    "several_calls",
    "several_calls_gradients",
    "underflow",
]
