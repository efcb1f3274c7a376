"""NonNegativeProjection's own gradient check: the ReLU at exactly 0.

Pre-activations that are exactly 0 in any dtype and summation order (a zero input row, a zero
weight column, ``1 - 1``) must give coefficients exactly 0 and exactly 0 gradient through them
(``relu'(0) = 0``, TensorFlow's convention). ``properties/test_nonnegative_projection.py``
draws the examples; ``tests/`` feeds the same function a layer whose ReLU gradient is 1 at 0.
"""

import dataclasses

import numpy as np

from layercheck import dtypes, tolerances
from layercheck.assertions import Case, check
from layercheck.devices import on
from layercheck.gradients import compare_gradients, event, random_cotangent
from reference import nonnegative_projection as reference

PROP_RELU_ZERO = "relu at exactly 0 has value 0 and gradient 0"


def kinked_example(example):
    """``example`` (a NonNegativeProjection example) with pre-activations exactly 0, in any
    dtype and any summation order: input row 0 is zeros (its whole row of pre-activations),
    weight column 0 is zeros (its whole column), and, when there are >= 2 rows, inputs and
    basis vectors, input row 1 is ``[1, 1, 0, ...]`` and weight column 1 ``[1, -1, 0, ...]``
    (1 - 1: products and sum exact, FMA or not). Returns ``(example, kinks)``, ``kinks`` a
    boolean array over the (rows, k) pre-activations."""
    x = dtypes.rows(np.array(example.inputs, dtype=np.float32, copy=True))
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
        event("ReLU at 0: zero row, zero column and an exact cancellation")
    else:
        event("ReLU at 0: zero row and zero column only (too small for a cancellation)")
    moved = dataclasses.replace(
        example, inputs=x.reshape(np.shape(example.inputs)), weights={"projection_weights": w}
    )
    return moved, kinks


def check_relu_at_exactly_zero(adapter, example, *, dtype="float32", mode="eager", seed=0, device=None):
    """On :func:`kinked_example`: the coefficients at the exact zeros are exactly 0, the
    gradient through them is exactly 0 (input row 0 and weight column 0 get exactly 0), and
    the whole gradient equals the reference VJP with ``relu'(0) = 0``."""
    import tensorflow as tf

    model = adapter.spec.gradient
    rng = np.random.default_rng(seed)
    example, kinks = kinked_example(example)
    case = Case.of(adapter, PROP_RELU_ZERO, device, dtype, example, mode=mode, cotangent_seed=seed)
    point = adapter.spec.gradient.point(example, dtype)
    pre = dtypes.rows(reference.pre_activations(point.inputs, point.weights["projection_weights"]))
    check(np.all(pre[kinks] == 0.0), case, "the constructed pre-activations are exactly 0 (harness self-check)")
    with on(device):
        layer = example.make(adapter, dtype)
        coefficients = dtypes.rows(np.asarray(adapter.method(layer, "coefficients")(tf.constant(dtypes.as_input(point.inputs, dtype)))))
        cotangent = random_cotangent(rng, model.output_shape(point), dtype)
        tape = adapter.gradients(layer, dtypes.as_input(point.inputs, dtype), cotangent, mode)
        relu_mask = model.decisions(adapter, layer, point, dtype)
    bad = kinks & (coefficients != 0.0)
    check(
        not bad.any(),
        case,
        "relu(0) = 0: the coefficients are exactly 0 where the pre-activation is exactly 0",
        f"{int(bad.sum())} coefficient(s) are not 0; first at {tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else ''}",
    )
    if relu_mask is not None:
        relu_mask = dtypes.rows(relu_mask)
        check(not (relu_mask & kinks).any(), case, "the layer's ReLU decisions are 'off' at the exact zeros")
        relu_mask = relu_mask.reshape(model.output_shape(point)[:-1] + (kinks.shape[1],))
    for name, value in (("inputs", tape.get("inputs")), ("projection_weights", tape.get("projection_weights"))):
        check(value is not None, case, f"the tape gives a gradient with respect to {name!r}")
    d_inputs = dtypes.rows(tape["inputs"])
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
    compare_gradients(
        case,
        tape,
        model.vjp(point, cotangent, relu_mask),
        model.vjp_scales(point, cotangent, relu_mask, dtype),
        tolerances.gradient(dtype, adapter.spec, PROP_RELU_ZERO, device),
        f"relu'(0) = 0, {dtype}, {mode}",
        ("inputs", "projection_weights"),
    )


