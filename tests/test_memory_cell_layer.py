"""MemoryCellLayer's contract: argument errors, build errors, the state's lifecycle."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from layercheck.layers.memory_cell import MemoryCellLayer
from reference import memory_cell as reference


@pytest.mark.parametrize("units", [0, -1])
def test_units_must_be_positive(units):
    with pytest.raises(ValueError, match=rf"units must be a positive int, got {units}"):
        MemoryCellLayer(units)


@pytest.mark.parametrize("units", [2.5, True, "3", None])
def test_units_must_be_an_int(units):
    with pytest.raises(TypeError, match=r"units must be a positive int, got .* of type"):
        MemoryCellLayer(units)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 5)])
def test_inputs_must_have_rank_two(shape):
    with pytest.raises(ValueError, match=r"MemoryCellLayer .* expects inputs of rank 2, got input shape"):
        MemoryCellLayer(3).build(shape)


def test_last_dimension_must_be_known():
    with pytest.raises(ValueError, match=r"needs a known last dimension .* \(None, None\)"):
        MemoryCellLayer(3).build((None, None))


def test_functional_model_with_unknown_batch_size_keeps_state_between_calls():
    inputs = keras.Input(shape=(5,))
    layer = MemoryCellLayer(3)
    model = keras.Model(inputs, layer(inputs))
    data = np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5)
    first = np.asarray(model(data))
    second = np.asarray(model(data))
    assert not np.allclose(first, second), "the second call must start from the first call's state"
    kernel, recurrent_kernel = np.asarray(layer.kernel), np.asarray(layer.recurrent_kernel)
    expected, _ = reference.memory_cell_sequence(np.stack([data, data]), kernel, recurrent_kernel)
    np.testing.assert_allclose(np.stack([first, second]), expected, rtol=1e-5, atol=1e-6)


def test_reset_state_gives_zeros_and_keeps_the_batch_size():
    layer = MemoryCellLayer(3)
    layer(np.ones((4, 5), np.float32))
    layer.reset_state()
    assert layer.state.shape == (4, 3)
    np.testing.assert_array_equal(np.asarray(layer.state), np.zeros((4, 3)))


def test_a_batch_size_change_says_to_reset():
    layer = MemoryCellLayer(3)
    layer(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"state for batch size 4, got inputs with batch size 3.*reset_state\(batch_size=\.\.\.\)"):
        layer(np.ones((3, 5), np.float32))
    layer.reset_state(batch_size=3)
    assert np.asarray(layer(np.ones((3, 5), np.float32))).shape == (3, 3)


def test_a_batch_size_change_in_a_relaxed_trace_fails_at_run_time_with_the_same_advice():
    layer = MemoryCellLayer(3)
    layer(np.ones((4, 5), np.float32))
    step = tf.function(lambda inputs: layer(inputs), input_signature=[tf.TensorSpec([None, 5], tf.float32)])
    step(np.ones((4, 5), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"reset_state\(batch_size=\.\.\.\)"):
        step(np.ones((2, 5), np.float32))


def test_first_call_in_a_trace_without_a_static_batch_size_is_a_clear_error():
    layer = MemoryCellLayer(3)
    layer.build((None, 5))
    step = tf.function(lambda inputs: layer(inputs), input_signature=[tf.TensorSpec([None, 5], tf.float32)])
    with pytest.raises(ValueError, match=r"needs a static batch size there"):
        step(np.ones((4, 5), np.float32))


def test_reset_state_batch_size_is_checked():
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        MemoryCellLayer(3).reset_state(batch_size=0)


def test_state_is_not_a_trainable_weight_and_gets_no_gradient():
    layer = MemoryCellLayer(3)
    data = np.ones((2, 5), np.float32)
    layer(data)
    assert not layer.state.trainable
    assert all(variable is not layer.state for variable in layer.trainable_variables)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(data))
    assert tape.gradient(loss, layer.state) is None


def test_config_is_plain_json_and_round_trips():
    layer = MemoryCellLayer(7, name="cell")
    config = json.loads(json.dumps(layer.get_config()))
    assert MemoryCellLayer.from_config(config).get_config() == layer.get_config()


@pytest.mark.parametrize(
    ("policy", "variable_dtype", "compute_dtype"),
    [("mixed_float16", "float32", "float16"), ("mixed_bfloat16", "float32", "bfloat16"), ("float64", "float64", "float64")],
)
def test_dtype_policies(policy, variable_dtype, compute_dtype):
    layer = MemoryCellLayer(3, dtype=policy)
    outputs = layer(np.ones((2, 5), np.float32))
    assert layer.kernel.dtype == variable_dtype
    assert layer.state.dtype.name == variable_dtype
    assert outputs.dtype.name == compute_dtype
