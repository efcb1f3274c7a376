"""Contract tests of the production TemperatureSoftmax layer (not the property gate)."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from layercheck.layers.temperature_softmax import MinValue, TemperatureSoftmax


def reference_softmax(x, temperature):
    """softmax(x / T) over the last axis, in float64, shifted by the row max."""
    z = (np.asarray(x, np.float64) - np.max(x, axis=-1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "num_classes, error, match",
    [
        (0, ValueError, r"num_classes must be a positive int, got 0"),
        (-1, ValueError, r"num_classes must be a positive int, got -1"),
        (2.5, TypeError, r"num_classes must be a positive int, got 2\.5 of type float"),
        (True, TypeError, r"num_classes must be a positive int, got True of type bool"),
        ("3", TypeError, r"num_classes must be a positive int, got '3' of type str"),
        (None, TypeError, r"num_classes must be a positive int, got None"),
    ],
)
def test_num_classes_is_checked(num_classes, error, match):
    with pytest.raises(error, match=match):
        TemperatureSoftmax(num_classes)


@pytest.mark.parametrize(
    "initial_temperature, error, match",
    [
        (0.0, ValueError, r"initial_temperature must be > 0, got 0\.0"),
        (0, ValueError, r"initial_temperature must be > 0, got 0"),
        (-1, ValueError, r"initial_temperature must be > 0, got -1"),
        (float("nan"), ValueError, r"initial_temperature must be finite, got nan"),
        (float("inf"), ValueError, r"initial_temperature must be finite, got inf"),
        (-float("inf"), ValueError, r"initial_temperature must be finite, got -inf"),
        ("1.0", TypeError, r"initial_temperature must be a finite real number, got '1\.0' of type str"),
        (True, TypeError, r"initial_temperature must be a finite real number, got True of type bool"),
        (None, TypeError, r"initial_temperature must be a finite real number, got None"),
    ],
)
def test_initial_temperature_is_checked(initial_temperature, error, match):
    with pytest.raises(error, match=match):
        TemperatureSoftmax(3, initial_temperature)


def test_initial_temperature_below_the_floor_names_both_values():
    with pytest.raises(
        ValueError,
        match=r"initial_temperature must be >= min_temperature, got initial_temperature=0\.5 < min_temperature=0\.6",
    ):
        TemperatureSoftmax(3, initial_temperature=0.5, min_temperature=0.6)


def test_zero_temperature_is_refused():
    # The done-when check: the how-to's layer gave NaN here.
    with pytest.raises(ValueError, match="initial_temperature"):
        TemperatureSoftmax(5, 0.0)


@pytest.mark.parametrize(
    "min_temperature, error, match",
    [
        (0.0, ValueError, r"min_temperature must be > 0, got 0\.0"),
        (0, ValueError, r"min_temperature must be > 0, got 0"),
        (-1e-3, ValueError, r"min_temperature must be > 0, got -0\.001"),
        (float("nan"), ValueError, r"min_temperature must be finite, got nan"),
        (float("inf"), ValueError, r"min_temperature must be finite, got inf"),
        ("0.1", TypeError, r"min_temperature must be a finite real number, got '0\.1' of type str"),
        # Positive, but zero once rounded to float32: the floor would not keep T_eff > 0.
        (1e-50, ValueError, r"min_temperature=1e-50 is below the smallest normal float32"),
    ],
)
def test_min_temperature_is_checked(min_temperature, error, match):
    with pytest.raises(error, match=match):
        TemperatureSoftmax(3, 1.0, min_temperature)


def test_dtype_limits_of_the_policy_are_checked():
    with pytest.raises(ValueError, match=r"min_temperature=1e-05 is below the smallest normal float16"):
        TemperatureSoftmax(3, 1.0, 1e-5, dtype="float16")
    with pytest.raises(ValueError, match=r"initial_temperature=100000\.0 overflows float16"):
        TemperatureSoftmax(3, 1e5, dtype="float16")
    with pytest.raises(ValueError, match=r"floating-point dtype policy, got variable dtype int32"):
        TemperatureSoftmax(3, dtype="int32")
    # The same floor is fine where the arithmetic is float32.
    TemperatureSoftmax(3, 1.0, 1e-5, dtype="mixed_float16")


# ----------------------------------------------------------------------------- input shapes


def test_num_classes_mismatch_at_build_names_layer_and_shapes():
    layer = TemperatureSoftmax(5, name="ts")
    with pytest.raises(
        ValueError,
        match=r"TemperatureSoftmax 'ts' has num_classes=5 but its inputs have last dimension 4 \(input shape \(2, 4\)\)",
    ):
        layer(tf.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"'ts' has num_classes=5 .* \(input shape \(None, 4\)\)"):
        layer(keras.Input(shape=(4,)))
    assert not layer.built


def test_rank_one_inputs_are_refused():
    layer = TemperatureSoftmax(5, name="ts1")
    with pytest.raises(ValueError, match=r"TemperatureSoftmax 'ts1' expects inputs of rank >= 2, got input shape \(5,\)"):
        layer(tf.zeros((5,)))


def test_unknown_last_dimension_is_refused():
    layer = TemperatureSoftmax(5, name="ts2")
    with pytest.raises(ValueError, match=r"'ts2' needs a known last dimension of its inputs, got input shape \(None, None\)"):
        layer.build((None, None))


def test_last_dimension_is_checked_after_build():
    layer = TemperatureSoftmax(3)
    layer(tf.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(tf.zeros((2, 4)))


def test_compute_output_shape():
    layer = TemperatureSoftmax(5, name="ts3")
    for shape in [(None, 5), (2, 5), (None, 3, 5), (2, 3, 4, 5)]:
        assert tuple(layer.compute_output_shape(shape)) == shape
    assert tuple(layer(tf.zeros((2, 3, 5))).shape) == (2, 3, 5)
    with pytest.raises(ValueError, match=r"'ts3' has num_classes=5 but its inputs have last dimension 4"):
        layer.compute_output_shape((None, 4))


# ----------------------------------------------------------------------------- forward pass


def test_output_is_softmax_of_logits_over_temperature():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6)).astype(np.float32) * 3
    layer = TemperatureSoftmax(6, initial_temperature=0.7)
    y = layer(x)
    assert layer.temperature.shape == ()
    assert layer.trainable_weights == [layer.temperature]
    np.testing.assert_allclose(y.numpy(), reference_softmax(x, np.float32(0.7)), rtol=1e-5, atol=1e-7)


def test_rank_three_inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    layer = TemperatureSoftmax(4, initial_temperature=2.0)
    y = layer(x).numpy()
    assert y.shape == (2, 3, 4)
    np.testing.assert_allclose(y, reference_softmax(x, 2.0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(y[1], layer(x[1]).numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("temperature", [1.0, 1e-3])
def test_extreme_logits_give_finite_rows_summing_to_one(temperature):
    x = tf.constant(
        [[1e30, -1e30, 0.0], [-1e30, -1e30, -1e30], [1e30, 1e30, -1e30], [3e38, -3e38, 1.0]], tf.float32
    )
    layer = TemperatureSoftmax(3, initial_temperature=temperature, min_temperature=1e-3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.constant([1.0, 2.0, 3.0]))
    grad_x, grad_t = tape.gradient(loss, [x, layer.temperature])
    y = y.numpy()
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0], [1, 0, 0]], atol=1e-7)
    # The backward pass too: without the underflow clamp dL/dT is 0 * inf = NaN here.
    assert np.all(np.isfinite(grad_x.numpy())) and np.isfinite(grad_t.numpy())


def test_infinite_logits_count_as_the_largest_finite_value():
    layer = TemperatureSoftmax(3, initial_temperature=1e-3)
    y = layer(tf.constant([[np.inf, np.inf, 0.0], [-np.inf, 0.0, 1.0], [np.inf, -np.inf, 1e38]])).numpy()
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], atol=1e-7)


def test_directly_assigned_temperature_below_the_floor_is_clamped():
    x = tf.constant([[1e30, -1e30, 0.0], [1.0, 2.0, 3.0]])
    layer = TemperatureSoftmax(3, min_temperature=0.5)
    at_floor = TemperatureSoftmax(3, initial_temperature=0.5, min_temperature=0.5)
    expected = at_floor(x).numpy()
    layer(x)
    for value in [0.0, -2.0, 1e-30]:
        layer.temperature.assign(value)
        np.testing.assert_array_equal(layer(x).numpy(), expected)


def test_gradient_reaches_the_temperature_at_the_floor():
    # tf.maximum sends the gradient to its first argument at a tie: T, not the floor.
    layer = TemperatureSoftmax(3, initial_temperature=0.25, min_temperature=0.25)
    x = tf.constant([[0.0, 0.1, 0.2]])
    with tf.GradientTape() as tape:
        loss = layer(x)[0, 2]
    grad = tape.gradient(loss, layer.temperature).numpy()
    assert np.isfinite(grad) and grad < 0  # a higher temperature flattens the winning class.


def test_integer_inputs_are_cast():
    layer = TemperatureSoftmax(3)
    y = layer(tf.constant([[1, 2, 3]]))
    assert y.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), reference_softmax([[1, 2, 3]], 1.0), rtol=1e-6)


# ----------------------------------------------------------------------------- training


def test_temperature_stays_at_or_above_the_floor_under_sgd():
    layer = TemperatureSoftmax(3, initial_temperature=1.0, min_temperature=0.05)
    x = tf.constant([[0.0, 1.0, 2.0]])
    layer(x)
    constraint = layer.temperature.constraint
    assert isinstance(constraint, MinValue) and constraint.min_value == layer._held_floor() == float(np.float32(0.05))
    optimizer = keras.optimizers.SGD(learning_rate=10.0)
    floor = np.float32(0.05)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = layer.temperature * 1.0  # dL/dT = 1: each step asks for T - 10.
        optimizer.apply_gradients(zip(tape.gradient(loss, [layer.temperature]), [layer.temperature]))
        assert layer.temperature.numpy() >= floor
    assert layer.temperature.numpy() == floor
    assert np.all(np.isfinite(layer(x).numpy()))


def test_temperature_stays_at_or_above_the_floor_in_fit():
    # A loss that rewards sharp outputs pushes T down; fit runs the optimizer in a tf.function.
    inputs = keras.Input(shape=(3,))
    layer = TemperatureSoftmax(3, initial_temperature=1.0, min_temperature=0.1)
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=100.0), loss="categorical_crossentropy")
    x = np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]], np.float32)
    y = np.array([[0, 0, 1], [1, 0, 0]], np.float32)
    model.fit(x, y, epochs=3, batch_size=2, verbose=0)
    assert layer.temperature.numpy() == np.float32(0.1)


def test_min_value_constraint():
    constraint = MinValue(0.5)
    np.testing.assert_array_equal(constraint(tf.constant([0.1, 0.5, 2.0])).numpy(), [0.5, 0.5, 2.0])
    assert constraint.get_config() == {"min_value": 0.5}
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(keras.saving.serialize_keras_object(constraint))))
    assert isinstance(restored, MinValue) and restored.min_value == 0.5
    with pytest.raises(ValueError, match="min_value must be finite, got nan"):
        MinValue(math.nan)


# ----------------------------------------------------------------------------- config


def test_config_round_trips_through_json():
    layer = TemperatureSoftmax(np.int64(4), initial_temperature=np.float32(0.5), min_temperature=0.01, name="tsj")
    config = layer.get_config()
    assert config["num_classes"] == 4 and type(config["num_classes"]) is int
    assert type(config["initial_temperature"]) is float and type(config["min_temperature"]) is float
    text = json.dumps(config)
    restored = TemperatureSoftmax.from_config(json.loads(text))
    assert restored.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "layercheck>TemperatureSoftmax"
    again = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert isinstance(again, TemperatureSoftmax) and again.get_config() == config


def test_saved_model_file_round_trip(tmp_path):
    inputs = keras.Input(shape=(3,))
    layer = TemperatureSoftmax(3, initial_temperature=1.0, min_temperature=0.05)
    model = keras.Model(inputs, layer(inputs))
    layer.temperature.assign(0.37)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded_layer = keras.models.load_model(path).layers[-1]
    assert isinstance(loaded_layer, TemperatureSoftmax)
    assert loaded_layer.temperature.numpy() == np.float32(0.37)
    assert isinstance(loaded_layer.temperature.constraint, MinValue)
    assert loaded_layer.temperature.constraint.min_value == float(np.float32(0.05))


# ----------------------------------------------------------------------------- dtypes and graphs


@pytest.mark.parametrize(
    "policy, weight_dtype, output_dtype",
    [
        ("mixed_float16", "float32", "float16"),
        ("mixed_bfloat16", "float32", "bfloat16"),
        ("float64", "float64", "float64"),
    ],
)
def test_dtype_policies(policy, weight_dtype, output_dtype):
    layer = TemperatureSoftmax(3, initial_temperature=0.5, dtype=policy)
    x = np.array([[1e30, -1e30, 0.0], [0.1, 0.2, 0.3]], np.float32)
    y = layer(x)
    assert layer.temperature.dtype == weight_dtype
    assert y.dtype == output_dtype
    y = tf.cast(y, tf.float64).numpy()
    assert np.all(np.isfinite(y))
    tolerance = {"float16": 2e-3, "bfloat16": 1e-2, "float64": 1e-12}[output_dtype]
    # Keras casts the inputs to the compute dtype (1e30 is inf in float16); the layer reads
    # +-inf as the largest finite value of that dtype.
    largest = float(tf.as_dtype(output_dtype).max)
    x_cast = np.clip(tf.cast(tf.cast(x, output_dtype), tf.float64).numpy(), -largest, largest)
    np.testing.assert_allclose(y, reference_softmax(x_cast, 0.5), rtol=tolerance, atol=tolerance)


def test_functional_model_with_unknown_batch_size():
    inputs = keras.Input(shape=(4,))
    outputs = TemperatureSoftmax(4, initial_temperature=2.0)(inputs)
    assert tuple(outputs.shape) == (None, 4)
    model = keras.Model(inputs, outputs)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference_softmax(x, 2.0), rtol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function(jit_compile):
    layer = TemperatureSoftmax(3, initial_temperature=1e-3)
    x = tf.constant([[1e30, -1e30, 0.0], [0.1, 0.2, 0.3]])
    eager = layer(x).numpy()
    compiled = tf.function(layer, jit_compile=jit_compile, input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    result = compiled(x).numpy()
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, eager, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- the held floor


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "mixed_bfloat16", "mixed_float16", "float32", "float64"])
def test_at_the_floor_the_gradient_reaches_the_temperature_in_every_policy(dtype):
    """The floor as the variable holds it is never below min_temperature, the initial value
    at the floor sits exactly on the forward clamp, and dL/dT is nonzero there. (A bfloat16
    variable rounds 1e-3 down to 9.9945e-4, below a float32 clamp at 1e-3: the gradient was 0.)"""
    layer = TemperatureSoftmax(3, initial_temperature=1e-3, dtype=dtype)
    layer.build((2, 3))
    held = float(np.asarray(layer.temperature.numpy(), np.float64))
    assert held >= 1e-3
    # Logits a few temperatures apart, so the softmax is not saturated at T = 1e-3.
    x = tf.constant([[1e-3, 2e-3, 0.0], [0.0, -1e-3, 5e-4]], dtype=layer.compute_dtype)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(layer(x), tf.float32) * tf.constant([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    gradient = float(tape.gradient(loss, layer.temperature))
    assert math.isfinite(gradient) and gradient != 0.0
    # An SGD step down past the floor is lifted back onto it by the constraint.
    keras.optimizers.SGD(learning_rate=1.0).apply_gradients([(tf.constant(1.0, layer.temperature.dtype), layer.temperature)])
    assert float(np.asarray(layer.temperature.numpy(), np.float64)) == held


@pytest.mark.parametrize("dtype", ["float32", "float64", "mixed_float16"])
def test_below_the_smallest_floor_is_rejected_and_at_it_the_xla_gradient_is_finite(dtype):
    # Floors between the smallest normal and sqrt(L / largest) were accepted until 2026-12-02;
    # under XLA, dL/dT divided by an underflowed T * T and came out NaN.
    from layercheck.layers.temperature_softmax import smallest_floor

    floor = smallest_floor("float64" if dtype == "float64" else "float32")
    with pytest.raises(ValueError, match=r"min_temperature=.* is below .*smallest floor"):
        TemperatureSoftmax(3, 1.0, floor / 2, dtype=dtype)
    layer = TemperatureSoftmax(3, initial_temperature=floor, min_temperature=floor, dtype=dtype)
    x = tf.constant([[0.0, 30.0, 5.0], [1.0, 1.0, 1.0], [-3e4, 3e4, 0.0]])

    @tf.function(jit_compile=True)
    def temperature_gradient(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(layer(x), tf.float32) * tf.constant([1.0, 2.0, 3.0]))
        return tape.gradient(loss, layer.temperature)

    assert np.isfinite(temperature_gradient(x).numpy())
