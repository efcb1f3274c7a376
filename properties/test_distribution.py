"""Properties under ``tf.distribute.MirroredStrategy`` over the run's devices.

In CI these are two logical CPUs (the plugin splits the CPU), so the multi-replica path runs
on any machine.

* every registered layer builds inside the strategy's scope and takes a training step
  (``model.fit``) that equals the same step on one device; the invariants its spec says a
  training step keeps (``LayerSpec.after_training``) hold.

What one layer documents about replicas (a stateful layer's per-replica state) is checked in
that layer's own file.
"""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, profiles, registry, tolerances
from layercheck.assertions import Case, assert_close

pytestmark = pytest.mark.keras_only("tf.distribute strategies and Keras model training")


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
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        targets = np.random.default_rng(example.seed).uniform(-1, 1, global_inputs.shape[:-1] + model.output_shape[-1:])
        model.fit(global_inputs, targets.astype(np.float32), batch_size=len(global_inputs), epochs=1, verbose=0, shuffle=False)
        return layer, {name: adapter.weight(layer, name) for name in adapter.contract.trainable}

    _, expected = one_step()
    with strategy.scope():
        layer, actual = one_step()
    for name in adapter.contract.trainable:
        assert_close(
            actual[name],
            expected[name],
            case,
            tolerances.forward("float32", layer_name, "distributed step"),
            claim=f"the weight {name!r} after the distributed step equals the single-device one",
            scale=np.maximum(np.abs(expected[name]), 1.0),
        )
    if adapter.spec.after_training is not None:
        adapter.spec.after_training(adapter, layer, example, case)
