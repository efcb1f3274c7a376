"""Properties of RunningStandardize that the generic gate cannot express: what ``training=``
changes.

The generic properties call ``layer(x)`` only (``training=None``, the inference path); the
adapter has no ``training`` argument, and the spec's ``STATEFUL`` capability means something
else (a per-batch state over a sequence of calls, not carried by saved weights). Here, with
the gate's strategies (``my_layers.running_standardize_spec.examples``), its assertions and
its tolerance table:

1. an inference call (``training=False`` or ``None``, eager, tf.function or XLA) leaves both
   statistics bit-identical and equals the reference's inference;
2. a training call, in every gate policy and mode, normalizes with the batch's statistics
   (mean and BIASED variance over every axis but the last) and moves the moving statistics by
   ``momentum * old + (1 - momentum) * batch``;
3. a sequence of training calls follows the recurrence call after call (a state across
   calls), and the next inference call uses the statistics it left;
4. ``get_weights`` / ``set_weights`` and ``save_weights`` / ``load_weights`` carry the trained
   statistics: a fresh layer given them (another seed, random initializers) serves the same
   inference outputs bit for bit;
5. the tape gradient of a training call (through the batch statistics) equals the reference VJP.
"""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, dtypes, profiles, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import Case, assert_close, check
from my_layers import running_standardize_spec as spec
from my_layers.reference import running_standardize as reference

from _helpers import MODES, bits, call

LAYER = spec.NAME
pytestmark = pytest.mark.layercheck_layer(LAYER)


@pytest.fixture(scope="session")
def running_standardize(adapter_for):
    return adapter_for(LAYER)


def _case(adapter, prop, example, dtype="float32", **extra):
    return Case.of(adapter, prop, None, dtype, example, **extra)


def _statistics(adapter, layer):
    return {name: adapter.weight(layer, name) for name in ("moving_mean", "moving_variance")}


def _training_scales(x, old, momentum, epsilon):
    """Error scales of a training call: the output's terms ``(|x| + |mean|) / s``; the new
    statistics' terms ``momentum * |old| + (1 - momentum) * |batch terms|``."""
    mean, variance = reference.batch_moments(x)
    rows = reference.rows(x)
    reach = np.abs(rows).max(axis=0) + np.abs(mean)
    output = np.maximum((np.abs(x) + np.abs(mean)) / np.sqrt(variance + epsilon), 1.0)
    old_mean, old_variance = (np.abs(value) for value in old)
    return output, {
        "moving_mean": np.maximum(momentum * old_mean + (1 - momentum) * reach, 1.0),
        "moving_variance": np.maximum(momentum * old_variance + (1 - momentum) * reach**2, 1.0),
    }


# -- 1 ------------------------------------------------------------------------------------------


@given(data=st.data())
def test_inference_changes_nothing(running_standardize, data):
    """training=False and None, in every mode, twice: the statistics stay bit-identical and the
    outputs are the reference's inference on them."""
    adapter = running_standardize
    example = data.draw(spec.examples(), label="example")
    training = data.draw(st.sampled_from([None, False]), label="training")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    case = _case(adapter, "an inference call changes nothing", example, training=training, mode=mode)
    layer = cases.make_layer(adapter, example)
    before = _statistics(adapter, layer)
    for _ in range(2):
        outputs, _ = call(layer, example.inputs, training=training, mode=mode)
    for name, value in _statistics(adapter, layer).items():
        check(
            np.array_equal(bits(value), bits(before[name])),
            case,
            f"an inference call (training={training}) leaves {name!r} bit-identical",
            f"largest change {np.max(np.abs(value.astype(np.float64) - before[name]))}",
        )
    assert_close(
        outputs,
        spec.reference_outputs(example, "float32"),
        case,
        tolerances.forward("float32", LAYER, "inference equals the reference"),
        claim="the inference output is (x - moving_mean) / sqrt(moving_variance + epsilon)",
        scale=spec.error_scale(example, "float32"),
    )


# -- 2 ------------------------------------------------------------------------------------------


def check_training_call(adapter, example, dtype, mode):
    """One training call against the reference: outputs, then both statistics."""
    case = _case(adapter, "a training call normalizes with the batch and updates the statistics", example, dtype, mode=mode)
    policy = dtypes.policy(dtype)
    layer = cases.make_layer(adapter, example, dtype)
    old = spec.statistics_seen(example, dtype)
    outputs, output_dtype = call(layer, dtypes.as_input(example.inputs, dtype), training=True, mode=mode)
    check(output_dtype == policy.compute, case, f"the output is in the compute dtype {policy.compute}", f"it is {output_dtype}")
    x = dtypes.as_seen(example.inputs, dtype)
    momentum, epsilon = spec.momentum_seen(example, dtype), spec.epsilon_seen(example, dtype)
    expected, new_mean, new_variance = reference.training(x, *old, momentum, epsilon)
    output_scale, scales = _training_scales(x, old, momentum, epsilon)
    tolerance = tolerances.forward(dtype, LAYER, "a training call equals the reference")
    assert_close(
        outputs,
        expected,
        case,
        tolerance,
        claim=f"the {dtype} training output is (x - batch mean) / sqrt(batch biased variance + epsilon)",
        scale=output_scale,
    )
    # The statistics are float32 (float64) weights, updated in float32 (float64) whatever the policy.
    held = tolerances.forward(dtypes.held(dtype), LAYER, "a training call equals the reference")
    for name, value in (("moving_mean", new_mean), ("moving_variance", new_variance)):
        assert_close(
            adapter.weight(layer, name),
            value,
            case,
            held,
            claim=f"after a training call {name} = momentum * old + (1 - momentum) * the batch's "
            + ("mean" if name == "moving_mean" else "biased variance (divided by the number of rows)"),
            scale=scales[name],
        )


@pytest.mark.parametrize("dtype", dtypes.GATE_POLICIES)
@given(data=st.data())
def test_a_training_call_uses_the_batch_statistics_and_updates_the_moving_ones(running_standardize, dtype, data):
    example = data.draw(spec.examples(), label="example")
    mode = data.draw(st.sampled_from(MODES), label="mode")
    check_training_call(running_standardize, example, dtype, mode)


# -- 3 ------------------------------------------------------------------------------------------


@st.composite
def training_sequences(draw):
    """An example and 2 to 5 more batches of its width (any rank and batch size)."""
    example = draw(spec.examples())
    width = example.inputs.shape[-1]
    shapes = st.integers(2, 4).flatmap(lambda rank: lcst.input_shapes(min_rank=rank, max_rank=rank, feature_size=width, max_elements=1024))
    batches = draw(st.lists(shapes.flatmap(lambda shape: lcst.logits(shape, max_magnitude=30.0)), min_size=2, max_size=5), label="batches")
    return example, [example.inputs, *batches]


@profiles.scaled(0.6, "several training calls per example; property 2 covers one call in every policy")
@given(data=st.data())
def test_training_calls_follow_the_recurrence_and_inference_uses_what_they_left(running_standardize, data):
    adapter = running_standardize
    example, batches = data.draw(training_sequences(), label="sequence")
    mode = data.draw(st.sampled_from(("eager", "function")), label="mode")
    case = _case(adapter, "training calls follow the documented recurrence", example, mode=mode, calls=len(batches))
    layer = cases.make_layer(adapter, example)
    mean, variance = spec.statistics_seen(example, "float32")
    momentum, epsilon = spec.momentum_seen(example, "float32"), spec.epsilon_seen(example, "float32")
    for index, batch in enumerate(batches):
        x = dtypes.as_seen(batch, "float32")
        _, scales = _training_scales(x, (mean, variance), momentum, epsilon)
        _, mean, variance = reference.training(x, mean, variance, momentum, epsilon)
        call(layer, batch.astype(np.float32), training=True, mode=mode)
        for name, value in (("moving_mean", mean), ("moving_variance", variance)):
            assert_close(
                adapter.weight(layer, name),
                value,
                case,
                tolerances.forward("float32", LAYER, "training calls follow the recurrence"),
                claim=f"after training call {index + 1} of {len(batches)}, {name} follows the recurrence",
                scale=scales[name],
            )
        # The next call starts from what the layer holds: each call's rounding is not carried on.
        mean, variance = (adapter.weight(layer, name).astype(np.float64) for name in ("moving_mean", "moving_variance"))
    probe = batches[0].astype(np.float32)
    outputs, _ = call(layer, probe, training=None, mode=mode)
    expected = reference.inference(dtypes.as_seen(probe, "float32"), mean, variance, epsilon)
    assert_close(
        outputs,
        expected,
        case,
        tolerances.forward("float32", LAYER, "inference after training"),
        claim="an inference call after training uses the moving statistics the training calls left",
        scale=np.maximum((np.abs(probe) + np.abs(mean)) / np.sqrt(variance + epsilon), 1.0),
    )


# -- 4 ------------------------------------------------------------------------------------------


@profiles.scaled(0.4, "each example writes and reads an HDF5 weights file")
@given(data=st.data())
def test_weights_carry_the_trained_statistics(running_standardize, data):
    """After training calls, ``set_weights(get_weights())`` into a fresh layer, and
    ``save_weights`` / ``load_weights`` into a fresh model (another seed, random initializers
    for the statistics so that a weight left unloaded shows), give the trained statistics and
    the same inference outputs, bit for bit."""
    import keras

    adapter = running_standardize
    example = data.draw(spec.examples(), label="example")
    steps = data.draw(st.integers(1, 3), label="training calls")
    case = _case(adapter, "get/set_weights and save/load_weights carry the trained statistics", example, steps=steps)
    shape = example.inputs.shape
    random = {"class_name": "RandomNormal", "config": {"mean": 5.0, "stddev": 2.0, "seed": None}, "module": "keras.initializers", "registered_name": None}
    layer = cases.make_layer(adapter, example)
    for step in range(steps):
        call(layer, (example.inputs * (step + 1)).astype(np.float32), training=True)
    trained = _statistics(adapter, layer)
    expected, _ = call(layer, example.inputs, training=False)

    adapter.seed(example.seed + 1)
    fresh = adapter.make(**example.kwargs, moving_mean_initializer=random, moving_variance_initializer="glorot_uniform")
    adapter.build(fresh, shape)
    fresh.set_weights(layer.get_weights())
    for how, other in (("set_weights(get_weights())", fresh),):
        for name, value in _statistics(adapter, other).items():
            check(np.array_equal(bits(value), bits(trained[name])), case, f"{how} carries the trained {name!r} bit for bit")
        actual, _ = call(other, example.inputs, training=False)
        check(np.array_equal(actual, expected), case, f"{how} gives the same inference outputs, bit for bit")

    def model_of(target):
        inputs = keras.Input(shape=shape[1:])
        return keras.Model(inputs, target(inputs))

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.weights.h5")
        model_of(layer).save_weights(path)
        adapter.seed(example.seed + 2)
        loaded = adapter.make(**example.kwargs, moving_mean_initializer=random, moving_variance_initializer="glorot_uniform")
        model = model_of(loaded)
        model.load_weights(path)
    for name, value in _statistics(adapter, loaded).items():
        check(np.array_equal(bits(value), bits(trained[name])), case, f"save_weights / load_weights carries the trained {name!r} bit for bit")
    actual, _ = call(loaded, example.inputs, training=False)
    check(np.array_equal(actual, expected), case, "the layer that loaded the weights gives the same inference outputs, bit for bit")


# -- 5 ------------------------------------------------------------------------------------------


@given(data=st.data())
def test_training_gradient_equals_the_reference_vjp(running_standardize, data):
    """d/dx of sum(v * layer(x, training=True)), through the batch statistics."""
    import tensorflow as tf

    adapter = running_standardize
    example = data.draw(spec.examples(), label="example")
    dtype = data.draw(st.sampled_from(("float32", "float64")), label="dtype")
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    case = _case(adapter, "the training call's tape gradient equals the reference VJP", example, dtype, cotangent_seed=seed)
    layer = cases.make_layer(adapter, example, dtype)
    inputs = tf.constant(dtypes.as_input(example.inputs, dtype))
    cotangent = np.random.default_rng(seed).standard_normal(example.inputs.shape).astype(dtypes.working_dtype(dtype))
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(layer(inputs, training=True) * cotangent)
    gradient = tape.gradient(loss, inputs)
    check(gradient is not None, case, "the tape gives a gradient with respect to the inputs")
    x = dtypes.as_seen(example.inputs, dtype)
    epsilon = spec.epsilon_seen(example, dtype)
    expected = reference.training_vjp(x, epsilon, cotangent)
    _, variance = reference.batch_moments(x)
    m = reference.rows(x).shape[0]
    v = np.abs(reference.rows(cotangent.astype(np.float64)))
    y = np.abs(reference.rows(x - reference.batch_moments(x)[0])) / np.sqrt(variance + epsilon)
    scale = ((v + v.sum(axis=0) / m + y * (v * (y + 1)).sum(axis=0) / m) * (1 + y) / np.sqrt(variance + epsilon)).reshape(x.shape)
    assert_close(
        np.asarray(gradient, dtype=np.float64),
        expected,
        case,
        tolerances.gradient(dtype, LAYER, "the training gradient equals the reference VJP"),
        claim=f"{dtype}: the training call's gradient with respect to the inputs equals the reference VJP",
        scale=scale,
    )
