"""Properties of RMSNorm with ``center=False``, which the generic gate cannot run.

A spec's contract is one fixed set of weights (``LayerSpec.trainable``), and RMSNorm's ``bias``
exists only with ``center=True``: with ``center=False`` every generic property that touches
the contract's weights stops at "missing API: RMSNorm has no weight attribute 'bias'" (the
forward-dtype property reads every trainable weight's dtype, the gradient properties tape
every trainable weight, and the config round trip of a built layer assigns each of them to
the restored layer). So the spec's generic examples keep ``center=True``, and here, with the
same strategies (``rms_norm_spec.examples(center=False)``), reference, assertions and
tolerance table:

1. the layer has exactly one trainable weight, ``scale``, and no ``bias``;
2. every gate policy, in eager, tf.function and XLA, matches the reference without a bias;
3. the tape gradient (inputs and ``scale``) equals the reference VJP in float32 and float64;
4. the config says ``center: False`` and round-trips through JSON, ``from_config`` and a
   ``.keras`` file (safe mode) with bit-identical outputs.
"""

import json
import os
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, dtypes, profiles, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import Case, assert_close, check
from layercheck.gradients import random_cotangent
from my_layers import rms_norm_spec as spec

from _helpers import MODES, call

LAYER = spec.NAME
pytestmark = pytest.mark.layercheck_layer(LAYER)
MODEL = spec.Gradients()


@pytest.fixture(scope="session")
def rms_norm(adapter_for):
    return adapter_for(LAYER)


def uncentered():
    return spec.examples(center=False)


@pytest.mark.parametrize("dtype", dtypes.GATE_POLICIES)
@given(data=st.data())
def test_uncentered_matches_the_reference_in_every_dtype_and_mode(rms_norm, dtype, data):
    example = data.draw(uncentered(), label="example")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    case = Case.of(rms_norm, "center=False matches the reference", None, dtype, example, mode=mode)
    layer = cases.make_layer(rms_norm, example, dtype)
    names = sorted(weight.name for weight in layer.trainable_weights)
    check(names == ["scale"] and getattr(layer, "bias", None) is None, case, "with center=False the only trainable weight is 'scale'", f"trainable weights {names}")
    outputs, output_dtype = call(layer, dtypes.as_input(example.inputs, dtype), mode=mode)
    compute = dtypes.policy(dtype).compute
    check(output_dtype == compute, case, f"the output is in the compute dtype {compute}", f"it is {output_dtype}")
    assert_close(
        outputs,
        spec.reference_outputs(example, dtype),
        case,
        tolerances.forward(dtype, LAYER, "matches the reference in its dtype"),
        claim=f"the {dtype} output without a bias equals the float64 reference",
        scale=spec.error_scale(example, dtype),
    )


@given(data=st.data())
def test_uncentered_tape_gradient_equals_the_reference_vjp(rms_norm, data):
    example = data.draw(uncentered(), label="example")
    dtype = data.draw(st.sampled_from(("float32", "float64")), label="dtype")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    case = Case.of(rms_norm, "center=False: the tape gradient equals the reference VJP", None, dtype, example, mode=mode, cotangent_seed=seed)
    layer = cases.make_layer(rms_norm, example, dtype)
    point = MODEL.point(example, dtype)
    cotangent = random_cotangent(np.random.default_rng(seed), point.inputs.shape, dtype)
    # Not adapter.gradients: it tapes every trainable weight of the contract, bias included.
    import tensorflow as tf

    inputs = tf.constant(dtypes.as_input(example.inputs, dtype))

    def vjp(inputs, cotangent):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.cast(layer(inputs), cotangent.dtype) * cotangent)
        return tape.gradient(loss, [inputs, layer.scale])

    if mode != "eager":
        vjp = tf.function(vjp, jit_compile=(mode == "xla"))
    d_inputs, d_scale = vjp(inputs, tf.constant(cotangent))
    expected = MODEL.vjp(point, cotangent)
    scales = MODEL.vjp_scales(point, cotangent, dtype=dtype)
    check(set(expected) == {"inputs", "scale"}, case, "the reference VJP has no bias term without a bias")
    tolerance = tolerances.gradient(dtype, LAYER, "the tape gradient equals the reference VJP")
    for name, value in (("inputs", d_inputs), ("scale", d_scale)):
        check(value is not None, case, f"the tape gives a gradient with respect to {name!r}")
        assert_close(np.asarray(value, np.float64), expected[name], case, tolerance, claim=f"{dtype}, {mode}: d/d{name} equals the reference VJP", scale=scales[name])


@profiles.scaled(0.4, "each example writes and reads a .keras file")
@given(data=st.data())
def test_uncentered_config_and_keras_file_round_trip(rms_norm, data):
    import keras

    example = data.draw(uncentered(), label="example")
    case = Case.of(rms_norm, "center=False round-trips", None, "float32", example)
    layer = cases.make_layer(rms_norm, example)
    config = json.loads(json.dumps(layer.get_config(), allow_nan=False))
    check(config.get("center") is False, case, "the config says center: False", f"center: {config.get('center')!r}")
    restored = type(layer).from_config(config)
    rms_norm.build(restored, example.inputs.shape)
    restored.scale.assign(layer.scale)
    check(restored.get_config() == layer.get_config(), case, "from_config(config).get_config() equals config")
    check(getattr(restored, "bias", None) is None, case, "from_config of center=False makes no bias")
    expected, _ = call(layer, example.inputs)
    actual, _ = call(restored, example.inputs)
    check(np.array_equal(actual, expected), case, "from_config gives bit-identical outputs")
    inputs = keras.Input(shape=example.inputs.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
    check(np.array_equal(np.asarray(loaded(example.inputs)), np.asarray(model(example.inputs))), case, "the .keras file gives bit-identical outputs")
