"""Gradient checks: tape gradients against the reference VJPs and against finite differences.

``properties/test_gradients.py`` draws the examples and calls the ``check_*`` functions here;
``tests/test_gradient_properties_catch_bad_gradients.py`` calls the same functions on layers
with deliberately wrong gradients. Every check talks to the layer through a
:class:`~layercheck.adapters.KerasAdapter` only, and every failure is a
:class:`~layercheck.assertions.PropertyFailure` naming the layer, the property, the device,
the dtype and the parameters.

What "the gradient" is, layer by layer (the reference modules are the specification)
-----------------------------------------------------------------------------------------
Every check pulls a cotangent ``v`` back through ``L = sum(v * layer(x))``, with respect to the
inputs and every trainable weight (:func:`argument_names`).

* ``TemperatureSoftmax``: ``d/dx`` and ``d/dT`` of ``softmax((x - max x) / max(T, floor))``.
  The floor's behaviour under gradient descent:

  - at ``T == floor`` exactly the gradient reaches ``T`` (``tf.maximum`` sends it to its first
    argument at a tie): the right derivative, and the function is flat to the left
    (:func:`check_gradient_reaches_t_at_the_floor`);
  - an SGD step that would take ``T`` below the floor leaves it *exactly* at the floor: the
    ``MinValue`` constraint, which Keras optimizers apply after every update
    (:func:`check_sgd_step_past_the_floor_stops_at_the_floor`);
  - a ``T`` assigned below the floor (``assign`` does not apply constraints) gets a zero
    gradient: ``max(T, floor)`` does not depend on it. The next optimizer step lifts it to
    the floor by the constraint, not by the gradient
    (:func:`check_temperature_below_the_floor_gets_no_gradient`).

* ``NonNegativeProjection``: ``d/dx`` and ``d/dW`` of ``relu(x @ W) @ B``; ``relu'(0) = 0``
  (TensorFlow's ``ReluGrad``). The basis is a constant: not trainable, never watched by a tape.

* ``MemoryCellLayer``: one call reads the state as a CONSTANT. Through one call the gradient
  is ``reference.memory_cell.memory_cell_vjp`` at the state the layer held before the call;
  nothing flows into the state or earlier calls. Through several calls recorded on ONE tape,
  the gradient with respect to ``kernel`` and ``recurrent_kernel`` is the sum of the per-call
  VJPs, each with its own previous state held constant (truncated backpropagation through
  time with a window of one call: ``reference.memory_cell.memory_cell_sequence_vjp``), and
  the gradient with respect to the inputs of call t is that call's own. The checks replay
  ``memory_cell_sequence_vjp`` one call at a time from the states the layer actually held
  (its outputs; teacher forcing), so a gradient check does not also re-check the forward
  recurrence (the memory-cell properties do that); from the reference's own states this is
  exactly the whole-sequence VJP (tests/ checks it).

Comparisons with the reference
------------------------------
The reference VJP is evaluated in float64 on the very values the layer saw (inputs, weights,
floor and cotangent rounded to its dtype). The tolerance is ``tolerances.gradient(dtype, ...)``
with, as ``scale``, the same VJP formula evaluated on absolute values (:func:`vjp_scales`): the
rounding error of a sum of products is bounded by eps times the sum of the absolute terms.

TensorFlow flushes subnormal numbers to zero: a float32 probability below 1.2e-38 is 0 where
the reference keeps e.g. 1e-40, so every scale carries ``tiny / eps`` of the dtype (1e-31 for
float32: far below any real gradient error).

ReLU decisions near 0: where the float64 pre-activation is within the forward tolerance of 0,
or within n times the smallest normal (each subnormal product of the dot product is flushed
before the sum), the layer may legitimately land on the other side of the kink, and the
gradient through that entry is then ``g @ B.T`` instead of 0 (not a rounding-sized
difference). There the reference takes the layer's own decision, read from its
``coefficients`` method (``coefficients > 0``); everywhere else the reference decides alone.
Exact zeros (a zero input row, a zero weight column) are exact in any dtype, so
``relu'(0) = 0`` is still checked on them.

Finite differences (float64 layers: a float32 layer would cast float64 inputs down)
---------------------------------------------------------------------------------------
*Directional* (:func:`check_directional_derivative`, every example): for each differentiable
argument a, a random direction ``u`` and the cotangent ``v``, compare ``<tape gradient, u>``
with the 4-point central difference of ``h -> L(a + h u)``::

    (L(-2h) - 8 L(-h) + 8 L(h) - L(2h)) / (12 h)            error O(h**4 f^(5))

4 evaluations and 1 tape per argument, whatever the input size (the idea of JAX's
``check_grads``). ``u`` is rescaled so that a unit step moves the layer's inner variable (the
softmax's ``z = (x - max x) / T`` over the entries that carry probability, the projection's
pre-activations ``x @ W``, the cell's ``x @ K + S @ R``) by at most 1: then the derivatives of
``h -> L`` are of the order of the outputs and a fixed ``h`` (:data:`STEP`) suits every
example, including temperatures at the floor where ``x / T`` is a thousand times steeper than
``x``. For the memory cell every evaluation replays the calls with the states the unperturbed
calls left (teacher forcing): the function whose derivative the truncated-BPTT tape gives.
The comparison's ``scale`` is ``sum |v| * difference_scale`` (the outputs' float64 error
scale, not floored at 1), so a check is as sharp as the differences can resolve: a saturated
tanh or a one-hot softmax has tiny derivatives and tiny errors. Each comparison is counted as
informative when a 0.1% gradient error would exceed the tolerance.

*Full Jacobian* (:func:`check_full_jacobian`, small sizes, the ``thorough`` profile): the
numerical Jacobian of ``tf.test.compute_gradient`` (2 evaluations per element of the argument),
against the tape's Jacobian assembled row by row from the adapter's gradients with one-hot
cotangents. ``compute_gradient``'s own theoretical Jacobian is not used: for a weight, which
reaches the layer through ``assign``, it has no path to differentiate. Each output is compared
on its own scale, so the temperature's step resolves every probability float64 holds as a
normal number (:data:`JACOBIAN_LIVE_Z`), not only those that weigh in a sum.

Kinks: finite differences are only meaningful where no evaluation crosses a kink.

* ReLU: every pre-activation must keep its sign, and stay clear of 0 by far more than float64
  rounding, at every evaluation point. Examples that do not are MOVED, not discarded: the
  input rows and weight columns holding an offending pre-activation get a random nudge (5% of
  the largest entry, doubled at each retry) until none is left. Exact zeros (zero rows or
  columns, which Hypothesis draws often) are always moved. The value and gradient AT exactly 0
  are checked separately, exactly, on constructed inputs (:func:`check_relu_at_exactly_zero`).
* The temperature floor: a ``T`` whose stencil would reach below the floor is moved up just
  enough (by about ``4 h`` of its own scale, so it stays within 0.1% of the floor); the tie at
  the floor itself is checked with one-sided differences.

Every move is counted in a :class:`KinkTally` and labelled with ``hypothesis.event``; the
properties assert at the end that discarding (after all retries failed) did not starve them
and that some comparison was informative.
"""

import contextlib
import dataclasses
import math

import numpy as np

from layercheck import cases, tolerances
from layercheck.assertions import Case, assert_close, check
from reference import memory_cell as memory_cell_reference
from reference import nonnegative_projection as projection_reference
from reference import temperature_softmax as softmax_reference

# -- property names (the Case's prop, and the key of tolerance overrides) ----------------------

PROP_VJP = "the tape gradient equals the reference VJP"
PROP_SEVERAL_CALLS = "a tape over several calls gives the sum of the per-call VJPs"
PROP_DIRECTIONAL = "the directional derivative equals central differences"
PROP_JACOBIAN = "the full Jacobian equals tf.test.compute_gradient's numerical Jacobian"
PROP_RELU_ZERO = "relu at exactly 0 has value 0 and gradient 0"
PROP_TRAINING_STEP = "an optimizer step moves only the trainable weights"
PROP_FLOOR_TIE = "at T == floor the gradient reaches T"
PROP_FLOOR_STEP = "an SGD step past the floor leaves T exactly at the floor"
PROP_BELOW_FLOOR = "a temperature assigned below the floor gets no gradient"
#: The tolerance key of the one-sided differences at the floor (float64).
ONE_SIDED_AT_THE_FLOOR = "one-sided differences at the floor"

#: Step of the directional differences, in units where a step of 1 moves the inner variable by
#: at most 1. Truncation ~ h**4 / 30 * f^(5) (f^(5) at most ~1e3 times the outputs' scale for
#: these layers) ~ 3e-15; rounding ~ 1.5 / h * eps * (the loss's scale) ~ 3e-12. Both far
#: below the tolerance of tolerances.OVERRIDES[(..., PROP_DIRECTIONAL, "float64")].
STEP = 1e-4
#: The 4-point central stencil: offsets (in steps) and weights (divided by 12 h).
CENTRAL_OFFSETS = (-2.0, -1.0, 1.0, 2.0)
CENTRAL_WEIGHTS = (1.0, -8.0, 8.0, -1.0)
#: The 4-point one-sided (forward) stencil: offsets 0..3, weights divided by 6 h. Error O(h**3).
FORWARD_OFFSETS = (0.0, 1.0, 2.0, 3.0)
FORWARD_WEIGHTS = (-11.0, 18.0, -9.0, 2.0)
#: compute_gradient's per-element step, in the same units (2-point central, error O(d**2)).
JACOBIAN_STEP = 1e-5
#: Entries of z = (x - max x) / T below -LIVE_Z carry probability < e**-60 relative to the
#: row's maximum; they do not set the temperature's scale.
LIVE_Z = 60.0
#: The Jacobian compares each output on its own scale, so every probability that float64 holds
#: as a normal number (e**-700 ~ 1e-304) must be resolved: its z sets the temperature's step.
JACOBIAN_LIVE_Z = 700.0
#: A pre-activation counts as clear of the ReLU kink when every evaluation keeps its sign and
#: stays above this fraction of its absolute terms (float64 rounding is ~n * 1.1e-16 of them).
KINK_CLEARANCE = 1e-9
#: Retries of the move off the kink (nudges of 5%, 10%, ... 160% of the largest entry).
MOVE_ATTEMPTS = 6
#: The floor of TemperatureSoftmax when the constructor does not set one.
DEFAULT_MIN_TEMPERATURE = 1e-3


# -- small helpers ------------------------------------------------------------------------------


def argument_names(adapter):
    """The differentiable arguments: the inputs and every trainable weight of the contract."""
    return ("inputs", *adapter.contract.trainable)


def _event(text):
    from hypothesis import currently_in_test_context, event

    if currently_in_test_context():
        event(text)


def _on(device):
    if device is None:
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device.tf_name)


def _case(adapter, prop, device, dtype, example, **extra):
    params = example.params()
    params.update(extra)
    return Case(
        adapter.contract.class_name,
        prop,
        getattr(device, "name", None) or "the default device",
        dtype,
        params,
    )


def _numpy_dtype(dtype):
    return np.float64 if dtype == "float64" else np.float32


def _as_input(array, dtype):
    return np.asarray(array, dtype=_numpy_dtype(dtype))


def _random(rng, shape, dtype):
    """Standard-normal values rounded to the dtype the layer works in (float32 or float64)."""
    return rng.standard_normal(shape).astype(_numpy_dtype(dtype))


def _rows(array):
    array = np.asarray(array)
    return array.reshape(-1, array.shape[-1])


# -- the values a layer saw ------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    """What one gradient is taken at, in float64, as the layer sees it.

    ``inputs`` is one call's inputs, or (T, batch, n) for the memory cell; ``weights`` holds the
    trainable weights; ``constants`` the rest: ``min_temperature``, ``basis_vectors``, or the
    memory cell's ``states`` (the state before each call, (T, batch, units)).
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


def point_from_example(example, dtype):
    """The example's inputs and weights as a layer of dtype ``dtype`` holds them (float64).

    The memory cell's ``states`` are left out: they come from running the layer.
    """
    inputs = cases.as_seen(example.inputs, dtype)
    if example.layer == "temperature_softmax":
        # The temperature and the floor are held in the variable dtype and not autocast.
        held = "float64" if dtype == "float64" else "float32"
        # cases.make_layer assigns a drawn "temperature" weight over the initial temperature.
        given = example.weights.get("temperature", example.kwargs.get("initial_temperature", 1.0))
        temperature = cases.as_seen(np.float64(given), held)
        floor = cases.as_seen(np.float64(example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)), held)
        return Point(example.layer, inputs, {"temperature": temperature}, {"min_temperature": float(floor)})
    if example.layer == "nonnegative_projection":
        return Point(
            example.layer,
            inputs,
            {"projection_weights": cases.as_seen(example.weights["projection_weights"], dtype)},
            {"basis_vectors": cases.as_seen(np.asarray(example.args[0]), dtype)},
        )
    return Point(
        example.layer,
        inputs,
        {name: cases.as_seen(example.weights[name], dtype) for name in ("kernel", "recurrent_kernel")},
        {},
    )


def output_shape(point):
    """Shape of the outputs of ``point`` (all calls for the memory cell)."""
    if point.layer == "temperature_softmax":
        return point.inputs.shape
    if point.layer == "nonnegative_projection":
        return point.inputs.shape[:-1] + (point.constants["basis_vectors"].shape[1],)
    return point.inputs.shape[:-1] + (point.weights["kernel"].shape[1],)


# -- the reference VJPs and their error scales -----------------------------------------------------


def reference_vjp(point, cotangent, relu_mask=None):
    """``{argument name: float64 VJP}`` from the reference modules.

    For the memory cell ``point.inputs`` is (T, batch, n) with ``point.constants["states"]``
    the state before each call; the weights' VJP is the sum over the calls (each previous state
    held constant), the inputs' VJP is (T, batch, n). ``relu_mask`` (projection only) replaces
    the reference's own ``x @ W > 0`` decisions (see the module docstring).
    """
    g = np.asarray(cotangent, dtype=np.float64)
    if point.layer == "temperature_softmax":
        d_inputs, d_temperature = softmax_reference.temperature_softmax_vjp(
            point.inputs, point.weights["temperature"], g, min_temperature=point.constants["min_temperature"]
        )
        return {"inputs": d_inputs, "temperature": d_temperature}
    if point.layer == "nonnegative_projection":
        w = point.weights["projection_weights"]
        b = point.constants["basis_vectors"]
        if relu_mask is None:
            d_inputs, d_weights = projection_reference.nonnegative_projection_vjp(point.inputs, w, b, g)
        else:
            # The reference's formula, with the given ReLU decisions (see the module docstring).
            d_coefficients = (g @ b.T) * relu_mask
            d_inputs = d_coefficients @ w.T
            d_weights = _rows(point.inputs).T @ _rows(d_coefficients)
        return {"inputs": d_inputs, "projection_weights": d_weights}
    # memory_cell_sequence_vjp sums the per-call VJPs over its own float64 recurrence; here it
    # runs one call at a time from the state the layer actually held (teacher forcing), so the
    # comparison sees the gradient, not the float32 drift of the forward recurrence.
    k, r = point.weights["kernel"], point.weights["recurrent_kernel"]
    d_inputs, d_kernel, d_recurrent = [], np.zeros_like(k), np.zeros_like(r)
    for x, s, gt in zip(point.inputs, point.constants["states"], g):
        dx, dk, dr = memory_cell_reference.memory_cell_sequence_vjp(x[None], k, r, gt[None], initial_state=s)
        d_inputs.append(dx[0])
        d_kernel += dk
        d_recurrent += dr
    return {"inputs": np.stack(d_inputs), "kernel": d_kernel, "recurrent_kernel": d_recurrent}


def _underflow(dtype):
    """The absolute error of values near the dtype's smallest normal (TensorFlow flushes
    subnormals to zero), as a scale: ``tiny / eps`` (1e-31 for float32, 1e-292 for float64),
    so that ``atol * scale`` covers ``tiny`` for any atol above ``eps``."""
    info = np.finfo(_numpy_dtype(dtype))
    return float(info.tiny / info.eps)


def vjp_scales(point, cotangent, relu_mask=None, dtype="float64"):
    """The VJP formulas on absolute values: the sums each gradient entry is made of.

    * softmax: ``p * (|g| + sum |g| p) / T`` for the inputs; for ``T`` the sum of that times
      ``|z|`` (``dL/dT = -sum(dL/dx * z)``, z = (x - max x) / T);
    * projection: ``(|g| @ |B|.T) * mask`` pulled back through ``|W|`` and ``|x|``;
    * memory cell: ``|g| * (1 + |x| @ |K| + |S| @ |R|)`` for the pre-activation's cotangent
      (tanh' = 1 - h**2 is computed from an h whose error grows with the pre-activation's
      terms), pulled back through ``|K|``, ``|x|`` and ``|S|``, summed over the calls.

    Every scale carries :func:`_underflow` of ``dtype`` (for the softmax, every probability
    does: one flushed to zero errs by up to ``tiny * |g| / T`` in the gradient).
    """
    g = np.abs(np.asarray(cotangent, dtype=np.float64))
    floor = _underflow(dtype)
    if point.layer == "temperature_softmax":
        x = point.inputs
        min_temperature = point.constants["min_temperature"]
        t_eff = float(softmax_reference.effective_temperature(point.weights["temperature"], min_temperature))
        p = softmax_reference.temperature_softmax(x, point.weights["temperature"], min_temperature) + floor
        z = np.abs(x - x.max(axis=-1, keepdims=True)) / t_eff
        d_inputs = p * (g + np.sum(g * p, axis=-1, keepdims=True)) / t_eff + floor
        return {"inputs": d_inputs, "temperature": np.float64(np.sum(d_inputs * z) + floor)}
    if point.layer == "nonnegative_projection":
        x, w = point.inputs, point.weights["projection_weights"]
        b = np.abs(point.constants["basis_vectors"])
        mask = (x @ w > 0) if relu_mask is None else relu_mask
        d_coefficients = (g @ b.T) * mask
        return {
            "inputs": d_coefficients @ np.abs(w).T + floor,
            "projection_weights": np.abs(_rows(x)).T @ _rows(d_coefficients) + floor,
        }
    k, r = np.abs(point.weights["kernel"]), np.abs(point.weights["recurrent_kernel"])
    d_inputs, d_kernel, d_recurrent = [], np.zeros_like(k), np.zeros_like(r)
    for x, s, gt in zip(point.inputs, point.constants["states"], g):
        x, s = np.abs(x), np.abs(s)
        ga = gt * (1.0 + x @ k + s @ r)
        d_inputs.append(ga @ k.T)
        d_kernel += x.T @ ga
        d_recurrent += s.T @ ga
    return {"inputs": np.stack(d_inputs) + floor, "kernel": d_kernel + floor, "recurrent_kernel": d_recurrent + floor}


def difference_scale(point):
    """Per output: the size of its float64 rounding error divided by eps, up to a constant
    (the scale of a finite difference's rounding, and of its truncation for these layers).

    * softmax: ``p * (1 + (|x| + |max x|) / T)`` plus its row sum times ``p`` (exp turns an
      error in z into a relative error of p, and the row sum adds its own). ``|x|``, not
      ``|x - max x|``: an evaluation point ``x + t u`` is itself rounded by ``eps * |x|``,
      which is ``eps * |x| / T`` in z (3e4 eps at T = 1e-3 and logits of 30);
    * projection: ``(|x| @ |W|) @ |B|``;
    * memory cell: ``|y| + (1 - y**2) * (1 + |x| @ |K| + |S| @ |R|)``.

    Unlike :func:`output_scale` it is not floored at 1: a saturated tanh or a one-hot softmax
    has tiny derivatives and tiny errors, and a floor at 1 would let any gradient pass there.
    """
    if point.layer == "temperature_softmax":
        x = point.inputs
        min_temperature = point.constants["min_temperature"]
        t_eff = float(softmax_reference.effective_temperature(point.weights["temperature"], min_temperature))
        p = softmax_reference.temperature_softmax(x, point.weights["temperature"], min_temperature)
        grown = p * (1.0 + (np.abs(x) + np.abs(x.max(axis=-1, keepdims=True))) / t_eff)
        return grown + p * np.sum(grown, axis=-1, keepdims=True)
    if point.layer == "nonnegative_projection":
        x, w = np.abs(point.inputs), np.abs(point.weights["projection_weights"])
        return (x @ w) @ np.abs(point.constants["basis_vectors"])
    k, r = point.weights["kernel"], point.weights["recurrent_kernel"]
    scales = []
    for x, s in zip(point.inputs, point.constants["states"]):
        y = np.tanh(x @ k + s @ r)
        scales.append(np.abs(y) + (1.0 - y**2) * (1.0 + np.abs(x) @ np.abs(k) + np.abs(s) @ np.abs(r)))
    return np.stack(scales)


def relu_decisions(adapter, layer, point, dtype):
    """The ReLU decisions ``pre-activation > 0`` to pull the reference back through.

    The float64 reference decides, except where its pre-activation is within the forward
    tolerance of ``dtype`` of 0, or within n times the dtype's smallest normal (TensorFlow
    flushes subnormal products to 0): there the layer's own decision (``coefficients(x) > 0``, from
    the contract's ``coefficients`` method) is taken. Returns None when the reference decides
    everywhere.
    """
    pre = projection_reference.pre_activations(point.inputs, point.weights["projection_weights"])
    tolerance = tolerances.forward(dtype, point.layer, PROP_VJP)
    terms = np.abs(point.inputs) @ np.abs(point.weights["projection_weights"])
    # TensorFlow flushes subnormals to zero, each product of the dot product included: each of
    # its n terms may lose up to the smallest normal (then relu' = 0 where float64 says > 0).
    flushed = float(np.finfo(_numpy_dtype(dtype)).tiny) * point.inputs.shape[-1]
    ambiguous = np.abs(pre) <= tolerance.atol * terms + tolerance.rtol * np.abs(pre) + flushed
    if not ambiguous.any():
        return None
    import tensorflow as tf

    coefficients = np.asarray(adapter.method(layer, "coefficients")(tf.constant(_as_input(point.inputs, dtype))))
    _event(f"ReLU: pre-activations within {dtype} rounding of 0 (the layer's own side used)")
    return np.where(ambiguous, coefficients > 0, pre > 0)


# -- tapes ------------------------------------------------------------------------------------------


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
    variables = [adapter.variable(layer, name) for name in adapter.contract.trainable]
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
    gradients = {name: None if value is None else _to_numpy(value) for name, value in zip(names, results)}
    return _to_numpy(outputs), gradients, list(watched)


def _to_numpy(value):
    """A tensor as a NumPy array, 16-bit floats widened to float32 (as ``adapter.gradients``)."""
    array = np.array(value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype.kind == "V" or array.dtype.name in ("bfloat16", "float16"):
        return array.astype(np.float32)
    return array


# -- 1. tape gradient against the reference VJP -------------------------------------------------------


def _temperature_event(point):
    t, floor = float(point.weights["temperature"]), point.constants["min_temperature"]
    if t == floor:
        label = "at the floor"
    elif t < 10 * floor:
        label = "within 10x of the floor"
    elif t < 1.0:
        label = "below 1"
    else:
        label = "1 or more"
    _event(f"temperature: {label}")


def _compare_gradients(case, actual, expected, scales, tolerance, what, names):
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

    The memory cell: the example's calls but the last run first (eagerly), then the gradient
    of the last call, against ``memory_cell_vjp`` at the state the layer held before it.
    """
    rng = np.random.default_rng(seed)
    case = _case(adapter, PROP_VJP, device, dtype, example, mode=mode, cotangent_seed=seed)
    point = point_from_example(example, dtype)
    relu_mask = None
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        if example.layer == "memory_cell":
            for x in example.call_inputs[:-1]:
                adapter.call(layer, _as_input(x, dtype), "eager")
            state = adapter.weight(layer, "state").astype(np.float64)
            point = point.replace(inputs=point.inputs[-1:], constants={"states": state[None]})
        cotangent = _random(rng, output_shape(point), dtype)
        call_cotangent = cotangent[0] if example.layer == "memory_cell" else cotangent
        call_inputs = point.inputs[0] if example.layer == "memory_cell" else point.inputs
        tape = adapter.gradients(layer, _as_input(call_inputs, dtype), call_cotangent, mode)
        if example.layer == "nonnegative_projection":
            relu_mask = relu_decisions(adapter, layer, point, dtype)
    if example.layer == "temperature_softmax":
        _temperature_event(point)
    expected = reference_vjp(point, cotangent, relu_mask)
    scales = vjp_scales(point, cotangent, relu_mask, dtype)
    if example.layer == "memory_cell":
        expected["inputs"], scales["inputs"] = expected["inputs"][0], scales["inputs"][0]
    _compare_gradients(
        case,
        tape,
        expected,
        scales,
        tolerances.gradient(dtype, example.layer, PROP_VJP),
        f"{dtype}, {mode}",
        argument_names(adapter),
    )


# -- 2. several calls on one tape -------------------------------------------------------------------


def several_calls(example):
    """The calls of ``example`` as one array (T, ...): the memory cell's sequence, or for the
    stateless layers the inputs and the inputs with the batch axis reversed."""
    if example.layer == "memory_cell":
        return np.asarray(example.inputs)
    return np.stack([example.inputs, np.flip(example.inputs, axis=0)])


def _expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype):
    """Reference VJP and scales summed over the calls (the weights) / stacked (the inputs)."""
    if point.layer == "memory_cell":
        states = np.concatenate([np.zeros_like(outputs[:1]), outputs[:-1]]).astype(np.float64)
        call_point = point.replace(inputs=calls_seen, constants={"states": states})
        return reference_vjp(call_point, cotangents), vjp_scales(call_point, cotangents, dtype=dtype)
    expected, scales = {}, {}
    for x, g in zip(calls_seen, cotangents):
        call_point = point.replace(inputs=x)
        mask = relu_decisions(adapter, layer, call_point, dtype) if point.layer == "nonnegative_projection" else None
        for target, values in ((expected, reference_vjp(call_point, g, mask)), (scales, vjp_scales(call_point, g, mask, dtype))):
            for name, value in values.items():
                if name == "inputs":
                    target.setdefault(name, []).append(value)
                else:
                    target[name] = target.get(name, 0.0) + value
    for target in (expected, scales):
        target["inputs"] = np.stack(target["inputs"])
    return expected, scales


def check_several_calls(adapter, example, *, dtype="float32", mode="eager", seed=0, device=None):
    """Several calls on one tape: the weights' gradient is the sum of the per-call VJPs (for
    the memory cell each with its previous state held constant: truncated BPTT, window one),
    the inputs' gradient of each call is that call's own VJP."""
    rng = np.random.default_rng(seed)
    calls = several_calls(example)
    case = _case(adapter, PROP_SEVERAL_CALLS, device, dtype, example, mode=mode, calls=len(calls), cotangent_seed=seed)
    point = point_from_example(example, dtype)
    calls_seen = cases.as_seen(calls, dtype)
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        # (T, ...) for every layer: output_shape maps a leading calls axis through.
        cotangents = _random(rng, output_shape(point.replace(inputs=calls_seen)), dtype)
        outputs, tape, _ = several_calls_gradients(adapter, layer, _as_input(calls, dtype), cotangents, mode)
        expected, scales = _expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype)
    _compare_gradients(
        case,
        tape,
        expected,
        scales,
        tolerances.gradient(dtype, example.layer, PROP_SEVERAL_CALLS),
        f"{len(calls)} calls on one tape, {dtype}, {mode}",
        argument_names(adapter),
    )


# -- finite differences: evaluating the layer at a point -------------------------------------------


def _set_weights(adapter, layer, point):
    for name, value in point.weights.items():
        adapter.assign(layer, name, value)


def _outputs_at(adapter, layer, point):
    """The float64 layer's outputs at ``point`` (weights assigned; the memory cell replays its
    calls from ``point.constants["states"]``: teacher forcing)."""
    _set_weights(adapter, layer, point)
    if point.layer != "memory_cell":
        return adapter.call(layer, point.inputs, "eager").astype(np.float64)
    outputs = []
    for x, state in zip(point.inputs, point.constants["states"]):
        adapter.assign(layer, "state", state)
        outputs.append(adapter.call(layer, x, "eager").astype(np.float64))
    return np.stack(outputs)


def _loss_at(adapter, layer, point, cotangent):
    return float(np.sum(_outputs_at(adapter, layer, point) * cotangent))


def _tape_at(adapter, layer, point, cotangent):
    """The float64 tape gradients at ``point`` (eager); for the memory cell the calls run from
    zeros on one tape, and the states they leave are stored in the returned point."""
    _set_weights(adapter, layer, point)
    if point.layer != "memory_cell":
        return point, adapter.gradients(layer, point.inputs, cotangent, "eager")
    adapter.assign(layer, "state", np.zeros(output_shape(point)[1:]))
    outputs, gradients, _ = several_calls_gradients(adapter, layer, point.inputs, cotangent, "eager")
    states = np.concatenate([np.zeros_like(outputs[:1]), outputs[:-1]]).astype(np.float64)
    return point.replace(constants={**point.constants, "states": states}), gradients


# -- finite differences: scales, kinks and moves ------------------------------------------------------


def _softmax_live_z(point, live_z=LIVE_Z):
    x = point.inputs
    t = float(point.weights["temperature"])
    z = (x - x.max(axis=-1, keepdims=True)) / t
    return np.abs(z[z > -live_z])


def inner_rate(point, name, direction, live_z=LIVE_Z):
    """How fast the layer's inner variable moves along ``direction`` of argument ``name``
    (largest absolute derivative at the point; 0 if it does not move).

    For the temperature only the entries with ``z > -live_z`` count: a weighted sum of the
    outputs (the directional check) does not see entries with probability below e**-60, but
    a Jacobian compares every output on its own scale (:data:`JACOBIAN_LIVE_Z`)."""
    u = np.asarray(direction, dtype=np.float64)
    if point.layer == "temperature_softmax":
        t = float(point.weights["temperature"])
        if name == "inputs":
            x = point.inputs
            at_max = np.take_along_axis(u, np.argmax(x, axis=-1)[..., None], axis=-1)
            return float(np.max(np.abs(u - at_max))) / t
        live = _softmax_live_z(point, live_z)
        return max(1.0, float(live.max()) if live.size else 1.0) * abs(float(u)) / t
    if point.layer == "nonnegative_projection":
        if name == "inputs":
            rate = u @ point.weights["projection_weights"]
        else:
            rate = point.inputs @ u
        return float(np.max(np.abs(rate))) if rate.size else 0.0
    k = point.weights["kernel"]
    if name == "inputs":
        rate = np.stack([x @ k for x in u])
    elif name == "kernel":
        rate = np.stack([x @ u for x in point.inputs])
    else:
        rate = np.stack([s @ u for s in point.constants["states"]])
    return float(np.max(np.abs(rate))) if rate.size else 0.0


def _near_relu_kink(point, reach):
    """(rows, k) mask of the pre-activations that some evaluation could push across or onto
    the kink. ``reach(x, w)`` yields the pre-activations at the evaluation points (for
    element-wise steps: the pre-activations, zeroed where a step could flip them)."""
    x, w = point.inputs, point.weights["projection_weights"]
    pre = x @ w
    terms = np.abs(x) @ np.abs(w)
    near = np.abs(pre) <= KINK_CLEARANCE * terms
    for evaluated in reach(x, w):
        near |= (np.sign(evaluated) != np.sign(pre)) | (np.abs(evaluated) <= KINK_CLEARANCE * terms)
    return _rows(near)


def _move_off_relu_kink(point, near, rng, attempt):
    """Nudge the input rows and weight columns that hold an offending pre-activation."""
    x = _rows(point.inputs).copy()
    w = point.weights["projection_weights"].copy()
    rows, columns = near.any(axis=1), near.any(axis=0)
    size = 0.05 * 2.0**attempt
    x[rows] += rng.uniform(-1, 1, (int(rows.sum()), x.shape[1])) * size * max(1.0, float(np.abs(x).max()))
    w[:, columns] += rng.uniform(-1, 1, (w.shape[0], int(columns.sum()))) * size * max(1.0, float(np.abs(w).max()))
    return point.replace(inputs=x.reshape(point.inputs.shape), weights={"projection_weights": w})


@dataclasses.dataclass
class KinkTally:
    """Counts, over a property's examples, what the kink handling did.

    ``checked``: arguments compared with finite differences (moved or not); ``moved``: of
    those, how many needed a move off a kink first; ``entries_moved``: the offending entries
    (pre-activations, or a temperature) found before the moves; ``discarded``: arguments no
    move could clear (never compared). :meth:`check_not_starved` fails a starved property.
    """

    checked: int = 0
    moved: int = 0
    discarded: int = 0
    entries_moved: int = 0
    informative: int = 0

    def summary(self):
        return (
            f"{self.checked} argument(s) compared with finite differences, {self.moved} of them moved off a kink "
            f"first ({self.entries_moved} offending entries in all), {self.discarded} discarded; "
            f"{self.informative} comparison(s) resolved the derivative to better than 0.1%"
        )

    def check_not_starved(self, case):
        """At least 90% of the arguments were compared, and some comparison could see a
        gradient error of 0.1% (a property whose derivatives are all below the differences'
        resolution, e.g. only saturated tanh cells, would pass any gradient)."""
        total = self.checked + self.discarded
        check(
            self.checked > 0 and self.discarded <= 0.1 * total,
            case,
            "the kink filter did not starve the property: at least 90% of the arguments were compared",
            self.summary(),
        )
        check(
            self.informative > 0,
            case,
            "some comparison resolved the derivative well enough to see a 0.1% gradient error",
            self.summary(),
        )

    def record_signal(self, informative):
        """Count a comparison; ``informative``: the derivative exceeds 1000 times the allowed
        error somewhere, so a 0.1% gradient error would show."""
        if informative:
            self.informative += 1
            _event("signal: a 0.1% gradient error would show")
        else:
            _event("signal: below the differences' resolution (e.g. saturated, one-hot or dead)")


class _Discarded(Exception):
    pass


def _clear_of_kinks(point, name, prepare, rng, tally):
    """Move ``point`` until no evaluation crosses a kink.

    ``prepare(point) -> (point, extra)`` computes the step (and may itself lift a temperature
    off the floor, returning a new point); ``extra["reach"]`` (projection) yields what the
    evaluations reach. Returns ``(point, extra, moved)``; raises ``_Discarded`` (counted)
    when no move clears the kink.
    """
    prepared, extra = prepare(point)
    if point.layer == "temperature_softmax":
        moved = prepared is not point
        if moved:
            tally.moved += 1
            tally.entries_moved += 1
            _event("kink: temperature moved up off the floor")
        return prepared, extra, moved
    if point.layer != "nonnegative_projection":
        return prepared, extra, False
    for attempt in range(MOVE_ATTEMPTS + 1):
        near = _near_relu_kink(prepared, extra["reach"])
        if not near.any():
            if attempt:
                tally.moved += 1
                _event(f"kink: moved off the ReLU kink ({attempt} nudge(s))")
            else:
                _event("kink: no pre-activation within reach")
            return prepared, extra, attempt > 0
        if attempt == 0:
            tally.entries_moved += int(near.sum())
        prepared, extra = prepare(_move_off_relu_kink(prepared, near, rng, attempt))
    tally.discarded += 1
    _event("kink: discarded (no move cleared it)")
    raise _Discarded(name)


def _lift_temperature(point, reach):
    """``point`` with ``T`` moved up so that ``T - reach`` stays above the floor, or None."""
    t, floor = float(point.weights["temperature"]), point.constants["min_temperature"]
    if t - reach > floor:
        return None
    return point.with_argument("temperature", np.float64(floor + 2.0 * reach))


# -- 3. directional finite differences -------------------------------------------------------------


def _normalised(point, name, raw_direction):
    rate = inner_rate(point, name, raw_direction)
    return raw_direction / rate if rate > 0 else raw_direction


def _directional_prepare(name, raw_direction, step):
    """``prepare`` for :func:`_clear_of_kinks`: the direction normalised at the point, a
    temperature lifted off the floor if the stencil would reach it, and (projection) the
    pre-activations at every stencil point."""

    def prepare(point):
        direction = _normalised(point, name, raw_direction)
        if point.layer == "temperature_softmax" and name == "temperature":
            lifted = _lift_temperature(point, 2.0 * step * abs(float(direction)))
            if lifted is not None:
                point = lifted
                direction = _normalised(point, name, raw_direction)
        extra = {"direction": direction}
        if point.layer == "nonnegative_projection":

            def reach(x, w):
                for offset in CENTRAL_OFFSETS:
                    moved = point.with_argument(name, point.argument(name) + offset * step * direction)
                    yield moved.inputs @ moved.weights["projection_weights"]

            extra["reach"] = reach
        return point, extra

    return prepare


def check_directional_derivative(adapter, example, *, seed=0, device=None, tally=None, step=STEP):
    """For every differentiable argument: ``<tape gradient, u>`` equals the 4-point central
    difference of ``L`` along ``u``, in float64: 4 evaluations and one tape per argument,
    whatever the input size. Kinks are handled as the module docstring says."""
    tally = tally if tally is not None else KinkTally()
    rng = np.random.default_rng(seed)
    dtype = "float64"
    case = _case(adapter, PROP_DIRECTIONAL, device, dtype, example, direction_seed=seed, step=step)
    tolerance = tolerances.gradient(dtype, example.layer, PROP_DIRECTIONAL)
    start = point_from_example(example, dtype)
    if example.layer == "temperature_softmax":
        _temperature_event(start)
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        cotangent = _random(rng, output_shape(start), dtype)
        if start.layer == "memory_cell":
            start, _ = _tape_at(adapter, layer, start, cotangent)  # the states the calls leave
        for name in argument_names(adapter):
            raw = rng.uniform(-1.0, 1.0, np.shape(start.argument(name)))
            try:
                point, extra, moved = _clear_of_kinks(start, name, _directional_prepare(name, raw, step), rng, tally)
            except _Discarded:
                continue
            direction = extra["direction"]
            point, gradients = _tape_at(adapter, layer, point, cotangent)
            gradient = gradients.get(name)
            check(
                gradient is not None,
                case,
                f"the float64 tape gives a gradient with respect to {name!r}",
                "the tape returned None: the output does not depend on it differentiably",
            )
            along = float(np.sum(np.asarray(gradient, dtype=np.float64) * direction))
            losses = [
                _loss_at(adapter, layer, point.with_argument(name, point.argument(name) + offset * step * direction), cotangent)
                for offset in CENTRAL_OFFSETS
            ]
            differences = math.fsum(w * value for w, value in zip(CENTRAL_WEIGHTS, losses)) / (12.0 * step)
            _set_weights(adapter, layer, point)
            tally.checked += 1
            scale = float(np.sum(np.abs(cotangent) * difference_scale(point)))
            tally.record_signal(abs(differences) > 1e3 * (tolerance.atol * scale + tolerance.rtol * abs(differences)))
            assert_close(
                along,
                differences,
                case,
                tolerance,
                claim=f"<tape gradient wrt {name!r}, u> equals the central difference of L along u"
                + (" (at the example moved off the kink)" if moved else ""),
                scale=scale,
            )


# -- 4. the full Jacobian -----------------------------------------------------------------------


def shrink_example(example, max_side=3):
    """``example`` cropped to at most ``max_side`` along every axis (inputs, weights, basis,
    classes, units, calls): small enough for a full Jacobian."""
    m = max_side
    x = np.asarray(example.inputs)
    if example.layer == "temperature_softmax":
        x = x[tuple(slice(0, m) for _ in x.shape)]
        return dataclasses.replace(example, args=(x.shape[-1],), inputs=x)
    if example.layer == "nonnegative_projection":
        basis = np.asarray(example.args[0], dtype=np.float32)[:m, :m]
        x = x[tuple(slice(0, m) for _ in x.shape)]
        w = example.weights["projection_weights"][: x.shape[-1], : basis.shape[0]]
        return dataclasses.replace(example, args=(basis.tolist(),), inputs=x, weights={"projection_weights": w})
    x = x[:m, :m, :m]
    units = min(example.args[0], m)
    weights = {
        "kernel": example.weights["kernel"][: x.shape[-1], :units],
        "recurrent_kernel": example.weights["recurrent_kernel"][:units, :units],
    }
    return dataclasses.replace(example, args=(units,), inputs=x, weights=weights)


def _element_step(point, name):
    """compute_gradient's per-element step: moving any one element by it moves the inner
    variable by at most JACOBIAN_STEP."""
    value = np.asarray(point.argument(name), dtype=np.float64)
    rates = []
    for index in np.ndindex(value.shape):
        unit = np.zeros_like(value)
        unit[index] = 1.0
        rates.append(inner_rate(point, name, unit, live_z=JACOBIAN_LIVE_Z))
    rate = max(rates) if rates else 0.0
    return JACOBIAN_STEP / rate if rate > 0 else JACOBIAN_STEP


def _jacobian_prepare(name):
    """``prepare`` for :func:`_clear_of_kinks` with compute_gradient's element-wise steps."""

    def prepare(point):
        delta = _element_step(point, name)
        if point.layer == "temperature_softmax" and name == "temperature":
            lifted = _lift_temperature(point, 2.0 * delta)
            if lifted is not None:
                point = lifted
                delta = _element_step(point, name)
        extra = {"delta": delta}
        if point.layer == "nonnegative_projection":

            def reach(x, w):
                # One element moved by delta changes a pre-activation by at most delta times
                # the largest entry it multiplies; clear of twice that, it keeps its sign.
                if name == "inputs":
                    bound = delta * np.abs(w).max(axis=0)[None, :]
                else:
                    bound = delta * np.abs(x).max(axis=-1, keepdims=True)
                pre = x @ w
                yield np.where(np.abs(pre) > 2.0 * bound, pre, 0.0)

            extra["reach"] = reach
        return point, extra

    return prepare


def check_full_jacobian(adapter, example, *, seed=0, device=None, tally=None):
    """For every differentiable argument: the tape's Jacobian (rows from ``adapter.gradients``
    with one-hot cotangents; for the memory cell one tape over all calls) equals the numerical
    Jacobian of ``tf.test.compute_gradient``, in float64. Use on small examples
    (:func:`shrink_example`): it costs 2 evaluations per argument element and one tape per
    output element."""
    import tensorflow as tf

    tally = tally if tally is not None else KinkTally()
    rng = np.random.default_rng(seed)
    dtype = "float64"
    case = _case(adapter, PROP_JACOBIAN, device, dtype, example, seed=seed)
    tolerance = tolerances.gradient(dtype, example.layer, PROP_JACOBIAN)
    start = point_from_example(example, dtype)
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        shape = output_shape(start)
        if start.layer == "memory_cell":
            start, _ = _tape_at(adapter, layer, start, np.zeros(shape))
        for name in argument_names(adapter):
            try:
                point, extra, _ = _clear_of_kinks(start, name, _jacobian_prepare(name), rng, tally)
            except _Discarded:
                continue
            delta = extra["delta"]
            size = int(np.prod(shape))
            rows = []
            for row in range(size):
                one_hot = np.zeros(size)
                one_hot[row] = 1.0
                _, gradients = _tape_at(adapter, layer, point, one_hot.reshape(shape))
                check(gradients.get(name) is not None, case, f"the tape gives a gradient with respect to {name!r}")
                rows.append(np.asarray(gradients[name], dtype=np.float64).ravel())
            tape_jacobian = np.stack(rows)

            def f(value, name=name, point=point):
                return tf.constant(_outputs_at(adapter, layer, point.with_argument(name, np.asarray(value))))

            _, numerical = tf.test.compute_gradient(f, [tf.constant(np.asarray(point.argument(name), np.float64))], delta=delta)
            _set_weights(adapter, layer, point)
            tally.checked += 1
            scale = difference_scale(point).reshape(-1, 1) * (JACOBIAN_STEP / delta)
            allowed = tolerance.atol * scale + tolerance.rtol * np.abs(numerical[0])
            tally.record_signal(bool(np.any(np.abs(numerical[0]) > 1e3 * allowed)))
            assert_close(
                tape_jacobian,
                numerical[0],
                case,
                tolerance,
                claim=f"the tape's Jacobian of the outputs with respect to {name!r} equals compute_gradient's "
                f"numerical one (step {delta:.3g})",
                scale=scale,
            )


# -- 5. ReLU at exactly zero --------------------------------------------------------------------------


def kinked_example(example):
    """``example`` (a NonNegativeProjection example) with pre-activations exactly 0, in any
    dtype and any summation order: input row 0 is zeros (its whole row of pre-activations),
    weight column 0 is zeros (its whole column), and, when there are >= 2 rows, inputs and
    basis vectors, input row 1 is ``[1, 1, 0, ...]`` and weight column 1 ``[1, -1, 0, ...]``
    (1 - 1: products and sum exact, FMA or not). Returns ``(example, kinks)``, ``kinks`` a
    boolean array over the (rows, k) pre-activations."""
    x = _rows(np.array(example.inputs, dtype=np.float32, copy=True))
    w = np.array(example.weights["projection_weights"], dtype=np.float32, copy=True)
    n, k = w.shape
    kinks = np.zeros((x.shape[0], k), dtype=bool)
    x[0] = 0.0
    kinks[0] = True
    w[:, 0] = 0.0
    kinks[:, 0] = True
    if x.shape[0] >= 2 and n >= 2 and k >= 2:
        x[1] = 0.0
        x[1, :2] = 1.0
        w[:, 1] = 0.0
        w[:2, 1] = (1.0, -1.0)
        kinks[1, 1] = True
        _event("ReLU at 0: zero row, zero column and an exact cancellation")
    else:
        _event("ReLU at 0: zero row and zero column only (too small for a cancellation)")
    moved = dataclasses.replace(
        example, inputs=x.reshape(np.shape(example.inputs)), weights={"projection_weights": w}
    )
    return moved, kinks


def check_relu_at_exactly_zero(adapter, example, *, dtype="float32", mode="eager", seed=0, device=None):
    """On :func:`kinked_example`: the coefficients at the exact zeros are exactly 0, the
    gradient through them is exactly 0 (input row 0 and weight column 0 get exactly 0), and
    the whole gradient equals the reference VJP with ``relu'(0) = 0``."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    example, kinks = kinked_example(example)
    case = _case(adapter, PROP_RELU_ZERO, device, dtype, example, mode=mode, cotangent_seed=seed)
    point = point_from_example(example, dtype)
    pre = _rows(projection_reference.pre_activations(point.inputs, point.weights["projection_weights"]))
    check(np.all(pre[kinks] == 0.0), case, "the constructed pre-activations are exactly 0 (harness self-check)")
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        coefficients = _rows(np.asarray(adapter.method(layer, "coefficients")(tf.constant(_as_input(point.inputs, dtype)))))
        cotangent = _random(rng, output_shape(point), dtype)
        tape = adapter.gradients(layer, _as_input(point.inputs, dtype), cotangent, mode)
        relu_mask = relu_decisions(adapter, layer, point, dtype)
    bad = kinks & (coefficients != 0.0)
    check(
        not bad.any(),
        case,
        "relu(0) = 0: the coefficients are exactly 0 where the pre-activation is exactly 0",
        f"{int(bad.sum())} coefficient(s) are not 0; first at {tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else ''}",
    )
    if relu_mask is not None:
        relu_mask = _rows(relu_mask)
        check(not (relu_mask & kinks).any(), case, "the layer's ReLU decisions are 'off' at the exact zeros")
        relu_mask = relu_mask.reshape(output_shape(point)[:-1] + (kinks.shape[1],))
    for name, value in (("inputs", tape.get("inputs")), ("projection_weights", tape.get("projection_weights"))):
        check(value is not None, case, f"the tape gives a gradient with respect to {name!r}")
    d_inputs = _rows(tape["inputs"])
    d_weights = tape["projection_weights"]
    check(
        np.all(d_inputs[0] == 0.0),
        case,
        "relu'(0) = 0: the inputs' gradient of a row whose pre-activations are all exactly 0 is exactly 0",
        f"row 0 of the inputs' gradient: largest |value| {np.abs(d_inputs[0]).max():.9g}",
    )
    check(
        np.all(d_weights[:, 0] == 0.0),
        case,
        "relu'(0) = 0: the gradient of a weight column whose pre-activations are all exactly 0 is exactly 0",
        f"column 0 of the projection_weights' gradient: largest |value| {np.abs(d_weights[:, 0]).max():.9g}",
    )
    _compare_gradients(
        case,
        tape,
        reference_vjp(point, cotangent, relu_mask),
        vjp_scales(point, cotangent, relu_mask, dtype),
        tolerances.gradient(dtype, example.layer, PROP_RELU_ZERO),
        f"relu'(0) = 0, {dtype}, {mode}",
        ("inputs", "projection_weights"),
    )


# -- 6. optimizer steps touch only the trainable weights ---------------------------------------------


def check_training_step(adapter, example, *, mode="eager", seed=0, device=None, learning_rate=0.1):
    """One SGD step on a loss recorded over the example's calls (one tape, in ``mode``):

    * ``layer.trainable_weights`` (what Keras training updates) and the variables the tape
      watched are both exactly the contract's trainable weights (so no optimizer receives a
      gradient for the basis or the state, and none skips a trainable weight);
    * the step leaves every non-trainable weight bit-identical (the memory cell's state: as the
      calls left it);
    * every trainable weight moved by ``-learning_rate`` times the reference gradient (for the
      temperature, then clipped up to the floor by its constraint).
    """
    import keras
    import tensorflow as tf

    dtype = "float32"
    rng = np.random.default_rng(seed)
    case = _case(adapter, PROP_TRAINING_STEP, device, dtype, example, mode=mode, learning_rate=learning_rate, seed=seed)
    point = point_from_example(example, dtype)
    calls = np.asarray(example.inputs)[None] if example.layer != "memory_cell" else np.asarray(example.inputs)
    calls_seen = cases.as_seen(calls, dtype)
    with _on(device):
        layer = cases.make_layer(adapter, example, dtype)
        cotangents = _random(rng, output_shape(point.replace(inputs=calls_seen)), dtype)
        outputs, tape, watched = several_calls_gradients(adapter, layer, _as_input(calls, dtype), cotangents, mode)
        variables = [adapter.variable(layer, name) for name in adapter.contract.trainable]
        keras_trainable = list(getattr(layer, "trainable_weights", variables))
        expected_ids = {id(_underlying(v)) for v in variables}
        watched_ids = {id(_underlying(v)) for v in watched}
        keras_ids = {id(_underlying(v)) for v in keras_trainable}
        names = {
            id(_underlying(v)): getattr(v, "path", getattr(v, "name", repr(v))) for v in [*variables, *watched, *keras_trainable]
        }
        check(
            keras_ids == expected_ids,
            case,
            "layer.trainable_weights (what Keras training updates) are exactly the trainable weights "
            f"({', '.join(adapter.contract.trainable)})",
            f"in trainable_weights but not trainable: {sorted(names[i] for i in keras_ids - expected_ids)}; "
            f"trainable but missing from trainable_weights: {sorted(names[i] for i in expected_ids - keras_ids)}",
        )
        check(
            watched_ids == expected_ids,
            case,
            "the tape watched exactly the trainable weights "
            f"({', '.join(adapter.contract.trainable)}), so no optimizer gets a gradient for anything else",
            f"watched but not trainable: {sorted(names[i] for i in watched_ids - expected_ids)}; "
            f"trainable but not watched: {sorted(names[i] for i in expected_ids - watched_ids)}",
        )
        for name in adapter.contract.trainable:
            check(tape.get(name) is not None, case, f"the tape gives a gradient with respect to {name!r}")
        frozen = {name: adapter.weight(layer, name).copy() for name in adapter.contract.non_trainable}
        before = {name: adapter.weight(layer, name).astype(np.float64) for name in adapter.contract.trainable}
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        optimizer.apply_gradients([(tf.constant(tape[name]), v) for name, v in zip(adapter.contract.trainable, variables)])
        after = {name: adapter.weight(layer, name).astype(np.float64) for name in adapter.contract.trainable}
        for name, value in frozen.items():
            now = adapter.weight(layer, name)
            changed = now.shape != value.shape or not np.array_equal(now.view(np.uint8), value.view(np.uint8))
            check(
                not changed,
                case,
                f"the optimizer step leaves the non-trainable {name!r} bit-identical",
                f"{int(np.sum(now != value)) if now.shape == value.shape else 'shape changed:'} value(s) changed",
            )
        expected, scales = _expected_over_calls(adapter, layer, point, calls_seen, outputs, cotangents, dtype)
    gradient_tolerance = tolerances.gradient(dtype, example.layer, PROP_TRAINING_STEP)
    eps = float(np.finfo(np.float32).eps)
    for name in adapter.contract.trainable:
        reference_gradient = np.asarray(expected[name], dtype=np.float64)
        target = before[name] - learning_rate * reference_gradient
        if name == "temperature":
            target = np.maximum(target, point.constants["min_temperature"])
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
            + (" (then up to the floor)" if name == "temperature" else ""),
            scale=allowed / gradient_tolerance.atol,
        )


# -- 7. the temperature floor -----------------------------------------------------------------------


def with_live_temperature_gradient(example, temperature):
    """A TemperatureSoftmax example at ``temperature`` whose loss can depend on ``T``.

    ``dL/dT`` is 0 for every cotangent when no row has two entries carrying probability (a row
    with one class, or all but one entry far below the maximum at a small T). Row 0 then gets
    an entry ``temperature`` below its maximum (z = -1); a one-class example gets a second
    class. Returns the example with ``initial_temperature=temperature``.
    """
    x = np.array(example.inputs, dtype=np.float32, copy=True)
    if x.shape[-1] == 1:
        x = np.concatenate([x, x - np.float32(1.0)], axis=-1)
    rows = x.reshape(-1, x.shape[-1])
    row = rows[0]
    top = int(np.argmax(row))
    other = 1 if top == 0 else 0
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
        cotangent = _random(rng, output_shape(point), dtype)
        d_temperature = reference_vjp(point, cotangent)["temperature"]
        allowed = tolerance.atol * vjp_scales(point, cotangent, dtype=dtype)["temperature"] + tolerance.rtol * abs(d_temperature)
        if abs(d_temperature) > 100 * allowed:
            return cotangent if d_temperature > 0 else -cotangent
    # Row 0 holds the max and an entry at z = -1: weight that entry alone.
    cotangent = np.zeros(output_shape(point), dtype=_numpy_dtype(dtype))
    rows = cotangent.reshape(-1, cotangent.shape[-1])
    x0 = _rows(point.inputs)[0]
    rows[0, int(np.argsort(x0)[-2])] = 1.0
    d_temperature = reference_vjp(point, cotangent)["temperature"]
    return cotangent if d_temperature > 0 else -cotangent


def check_gradient_reaches_t_at_the_floor(adapter, example, *, mode="eager", seed=0, device=None):
    """At ``T == min_temperature`` exactly: the float32 tape's ``dL/dT`` (in ``mode``) equals the
    reference's (which passes the gradient at the tie) and is not 0; in float64 it equals the
    one-sided (right) difference quotient, and ``L`` is exactly flat to the left of the floor."""
    floor = example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)
    example = with_live_temperature_gradient(example, floor)
    rng = np.random.default_rng(seed)
    case = _case(adapter, PROP_FLOOR_TIE, device, "float32", example, mode=mode, cotangent_seed=seed)
    point = point_from_example(example, "float32")
    check(
        float(point.weights["temperature"]) == point.constants["min_temperature"],
        case,
        "the temperature is exactly at the floor as the layer holds it (harness self-check)",
    )
    cotangent = _significant_temperature_cotangent(point, rng, "float32")
    with _on(device):
        layer = cases.make_layer(adapter, example, "float32")
        tape = adapter.gradients(layer, _as_input(point.inputs, "float32"), cotangent, mode)
    d_temperature = tape.get("temperature")
    check(
        d_temperature is not None and float(d_temperature) != 0.0,
        case,
        "at T == floor the gradient reaches T: dL/dT is not 0 (tf.maximum passes it on at the tie)",
        f"dL/dT = {d_temperature!r}; the reference's is {reference_vjp(point, cotangent)['temperature']:.9g}",
    )
    assert_close(
        d_temperature,
        reference_vjp(point, cotangent)["temperature"],
        case,
        tolerances.gradient("float32", example.layer, PROP_FLOOR_TIE),
        claim=f"at T == floor, the float32 {mode} tape's dL/dT equals the reference's",
        scale=vjp_scales(point, cotangent, dtype="float32")["temperature"],
    )

    # float64: the right derivative by one-sided differences; flat on the left.
    case64 = _case(adapter, PROP_FLOOR_TIE, device, "float64", example, cotangent_seed=seed)
    point64 = point_from_example(example, "float64")
    cotangent64 = cotangent.astype(np.float64)
    live = _softmax_live_z(point64)
    t = float(point64.weights["temperature"])
    delta = STEP * t / max(1.0, float(live.max()) if live.size else 1.0)
    with _on(device):
        layer64 = cases.make_layer(adapter, example, "float64")
        tape64 = adapter.gradients(layer64, point64.inputs, cotangent64, "eager")
        losses = [
            _loss_at(adapter, layer64, point64.with_argument("temperature", np.float64(t + offset * delta)), cotangent64)
            for offset in FORWARD_OFFSETS
        ]
        left = _loss_at(adapter, layer64, point64.with_argument("temperature", np.float64(t - delta)), cotangent64)
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
    point = point_from_example(example, "float32")
    cotangent = _significant_temperature_cotangent(point, rng, "float32")
    t0 = float(point.weights["temperature"])
    floor = point.constants["min_temperature"]
    with _on(device):
        layer = cases.make_layer(adapter, example, "float32")
        tape = adapter.gradients(layer, _as_input(point.inputs, "float32"), cotangent, mode)
        gradient = tape.get("temperature")
        learning_rate = 2.0 * t0 / float(gradient) if gradient is not None and float(gradient) > 0 else 1.0
        case = _case(
            adapter, PROP_FLOOR_STEP, device, "float32", example, mode=mode, cotangent_seed=seed, learning_rate=learning_rate
        )
        check(
            gradient is not None and float(gradient) > 0,
            case,
            "the tape's dL/dT is positive (it pushes T down), as the reference's",
            f"dL/dT = {gradient!r}; the reference's is {reference_vjp(point, cotangent)['temperature']:.9g}",
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
    case = _case(adapter, PROP_BELOW_FLOOR, device, "float32", example, mode=mode, assigned_temperature=below, cotangent_seed=seed)
    point = point_from_example(example, "float32")
    floor = point.constants["min_temperature"]
    held = float(cases.as_seen(np.float64(below), "float32"))
    check(held < floor, case, "the assigned temperature is below the floor as float32 holds it (self-check)")
    point = point.with_argument("temperature", np.float64(held))
    cotangent = _random(rng, output_shape(point), "float32")
    with _on(device):
        layer = cases.make_layer(adapter, example, "float32")
        adapter.assign(layer, "temperature", held)
        tape = adapter.gradients(layer, _as_input(point.inputs, "float32"), cotangent, mode)
        gradient = tape.get("temperature")
        check(
            gradient is None or float(gradient) == 0.0,
            case,
            "below the floor dL/dT is exactly 0: max(T, floor) does not depend on T",
            f"dL/dT = {gradient!r}",
        )
        expected = reference_vjp(point, cotangent)
        assert_close(
            tape["inputs"],
            expected["inputs"],
            case,
            tolerances.gradient("float32", example.layer, PROP_BELOW_FLOOR),
            claim="below the floor the inputs' gradient is the reference's at T_eff = floor",
            scale=vjp_scales(point, cotangent, dtype="float32")["inputs"],
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


__all__ = [
    "KinkTally",
    "Point",
    "argument_names",
    "check_directional_derivative",
    "check_full_jacobian",
    "check_gradient_reaches_t_at_the_floor",
    "check_relu_at_exactly_zero",
    "check_several_calls",
    "check_sgd_step_past_the_floor_stops_at_the_floor",
    "check_temperature_below_the_floor_gets_no_gradient",
    "check_training_step",
    "check_vjp",
    "difference_scale",
    "kinked_example",
    "point_from_example",
    "reference_vjp",
    "relu_decisions",
    "several_calls",
    "several_calls_gradients",
    "shrink_example",
    "vjp_scales",
    "with_live_temperature_gradient",
]
