"""Properties under ``tf.distribute.MirroredStrategy`` over the run's devices.

In CI these are two logical CPUs (the plugin splits the CPU), so the multi-replica path runs
on any machine.

* every layer builds inside the strategy's scope and takes a training step (``model.fit``)
  that equals the same step on one device; its invariants (floor, fixed basis) hold;
* the memory cell's state is per replica, exactly as the layer documents: each replica keeps
  the recurrence of its own slice of the batch, and reading the state outside the replicas
  gives the first replica's copy.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from layercheck import adapters, cases, profiles, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import Case, assert_close, check
from reference import memory_cell as memory_cell_reference

pytestmark = pytest.mark.keras_only("tf.distribute strategies and Keras model training")


@pytest.fixture(scope="session")
def strategy(layercheck_devices):
    run_devices = layercheck_devices
    gpus = [device for device in run_devices if device.device_type == "GPU"]
    chosen = gpus if len(gpus) >= 2 else [device for device in run_devices if device.device_type == "CPU"]
    return tf.distribute.MirroredStrategy([device.tf_name for device in chosen])


@pytest.mark.parametrize("layer_name", adapters.LAYER_NAMES)
@profiles.scaled(0.2, "each example traces a distributed train step (seconds); values are covered elsewhere")
@given(data=st.data())
def test_a_training_step_under_mirrored_strategy_equals_the_single_device_step(layer_name, strategy, adapter_for, data):
    """Each replica gets the same slice, so the all-reduced step equals one step on one device."""
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
    if layer_name == "temperature_softmax":
        floor = example.kwargs.get("min_temperature", 1e-3)
        check(adapter.weight(layer, "temperature") >= floor, case, "the temperature stays at or above its floor")
    if layer_name == "nonnegative_projection":
        basis = np.asarray(example.args[0], dtype=np.float32)
        check(np.array_equal(adapter.weight(layer, "basis_vectors"), basis), case, "the basis is unchanged by training")


@given(
    sequence=lcst.memory_cell_sequences(max_length=4),
    units=lcst.units(max_units=16),
    seed=lcst.seeds(),
)
def test_memory_cell_state_is_per_replica_under_mirrored_strategy(sequence, units, seed, strategy, memory_cell):
    replicas = strategy.num_replicas_in_sync
    keras.utils.set_random_seed(seed)
    # Different data per replica, so a shared or averaged state would show.
    per_replica = [sequence * (1.0 + 0.5 * index) for index in range(replicas)]
    case = Case("MemoryCellLayer", "the state is per replica under MirroredStrategy", f"{replicas} replicas", params={"sequence": sequence, "units": units, "seed": seed})
    with strategy.scope():
        layer = memory_cell.make(units)
        memory_cell.build(layer, (None, sequence.shape[-1]))
    step = tf.function(lambda inputs: layer(inputs))
    for t in range(sequence.shape[0]):
        distributed = strategy.experimental_distribute_values_from_function(
            lambda context, t=t: tf.constant(per_replica[context.replica_id_in_sync_group][t], tf.float32)
        )
        strategy.run(step, args=(distributed,))
    kernel = memory_cell.weight(layer, "kernel").astype(np.float64)
    recurrent_kernel = memory_cell.weight(layer, "recurrent_kernel").astype(np.float64)
    state = memory_cell.variable(layer, "state")
    copies = [np.asarray(value) for value in state.values] if hasattr(state, "values") else [np.asarray(state)]
    check(len(copies) == replicas, case, "the state has one copy per replica", f"found {len(copies)}")
    tolerance = tolerances.forward("float32", "memory_cell", "per-replica state")
    for index, copy in enumerate(copies):
        _, states = memory_cell_reference.memory_cell_sequence(per_replica[index].astype(np.float32), kernel, recurrent_kernel)
        assert_close(copy, states[-1], case, tolerance, claim=f"replica {index}'s state is the recurrence of its own slice", scale=float(np.abs(recurrent_kernel).sum() + 10))
    assert_close(np.asarray(state), copies[0], case, tolerance, claim="reading the state outside the replicas gives the first replica's copy")
