"""Properties under ``tf.distribute.MirroredStrategy`` over the run's devices.

In CI these are two logical CPUs (the plugin splits the CPU), so the multi-replica path runs
on any machine.

* every registered layer builds inside the strategy's scope and takes a training step
  (``model.fit``) that equals the same step on one device; the invariants its spec says a
  training step keeps (``LayerSpec.after_training``) hold.

What one layer documents about replicas (a stateful layer's per-replica state) is checked in
that layer's own file.
"""

import dataclasses

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, profiles, registry, tolerances
from layercheck.assertions import Case, assert_close

pytestmark = pytest.mark.keras_only("tf.distribute strategies and Keras model training")


LEARNING_RATE = 0.1


def _targets(example, global_inputs, output_tail):
    """The step's regression targets, uniform in [-1, 1], seeded by the example."""
    shape = global_inputs.shape[:-1] + tuple(output_tail)
    return np.random.default_rng(example.seed).uniform(-1, 1, shape).astype(np.float32)


def _one_step(example, global_inputs, adapter):
    """``example`` as the one training step takes it: the global batch, one call."""
    inputs = global_inputs[None] if adapter.spec.stateful else global_inputs
    return dataclasses.replace(example, inputs=inputs.astype(np.float64))


def _gradient_terms(adapter, example, global_inputs, targets):
    """Per trainable weight, the sum of the magnitudes of the terms of ``dL/dw`` for the
    step's mean squared error (``dL/dy = 2 (y - t) / size``): the gradient model's VJP on
    absolute values. Empty for a layer without a gradient model."""
    model = adapter.spec.gradient
    if model is None:
        return {}
    step = _one_step(example, global_inputs, adapter)
    point = model.point(step, "float32")
    outputs = np.asarray(cases.reference_outputs(step, "float32"), dtype=np.float64)
    if adapter.spec.stateful:
        point = point.replace(constants={**point.constants, "states": model.states_from_outputs(outputs)})
    cotangent = (2.0 * np.abs(outputs.reshape(targets.shape) - targets) / targets.size).reshape(model.output_shape(point))
    scales = model.vjp_scales(point, cotangent, dtype="float32")
    return {name: np.asarray(scales[name], dtype=np.float64) for name in adapter.contract.trainable if name in scales}


@pytest.mark.parametrize("layer_name", registry.names())
@profiles.scaled(0.2, "each example traces a distributed train step (seconds); values are covered elsewhere")
@given(data=st.data())
def test_a_training_step_under_mirrored_strategy_equals_the_single_device_step(layer_name, mirrored_strategy, adapter_for, data):
    """Each replica gets the same slice, so the all-reduced step equals one step on one device."""
    strategy = mirrored_strategy
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    replicas = strategy.num_replicas_in_sync
    case = Case(adapter.contract.class_name, "a MirroredStrategy training step equals the single-device step", f"{replicas} replicas", "float32", example.params())
    step_inputs = example.call_inputs[0].astype(np.float32)
    global_inputs = np.concatenate([step_inputs] * replicas)

    def one_step():
        layer = cases.make_layer(adapter, example, input_shape=(None, *step_inputs.shape[1:]))
        inputs = keras.Input(shape=step_inputs.shape[1:])
        model = keras.Model(inputs, layer(inputs))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss="mse")
        targets = _targets(example, global_inputs, model.output_shape[-1:])
        model.fit(global_inputs, targets, batch_size=len(global_inputs), epochs=1, verbose=0, shuffle=False)
        return layer, {name: adapter.weight(layer, name) for name in adapter.contract.trainable}, targets

    _, expected, targets = one_step()
    with strategy.scope():
        layer, actual, _ = one_step()
    gradient_terms = _gradient_terms(adapter, example, global_inputs, targets)
    for name in adapter.contract.trainable:
        assert_close(
            actual[name],
            expected[name],
            case,
            tolerances.forward("float32", layer_name, "distributed step"),
            claim=f"the weight {name!r} after the distributed step equals the single-device one",
            # The step is w - lr * dL/dw, and dL/dw is a sum over the global batch whose order
            # the all-reduce changes: its rounding is eps times the sum of its terms' magnitudes
            # (the gradient model's VJP on absolute values), which may be far above |w|.
            scale=np.maximum(np.abs(expected[name]), 1.0) + LEARNING_RATE * gradient_terms.get(name, 0.0),
        )
    if adapter.spec.after_training is not None:
        adapter.spec.after_training(adapter, layer, example, case)
