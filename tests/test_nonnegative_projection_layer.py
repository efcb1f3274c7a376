"""Contract tests of the production NonNegativeProjection layer (not the property gate)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from layercheck.layers.nonnegative_projection import NonNegativeProjection

BASIS_3x5 = np.arange(15, dtype=np.float32).reshape(3, 5) / 7 - 1


def reference(x, weights, basis):
    """relu(x @ W) @ B in float64: the coefficients and the output."""
    coefficients = np.maximum(np.asarray(x, np.float64) @ np.asarray(weights, np.float64), 0.0)
    return coefficients, coefficients @ np.asarray(basis, np.float64)


def plain_json(value):
    """True when ``value`` is made only of dict/list/str/int/float/bool/None."""
    if isinstance(value, dict):
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


# ----------------------------------------------------------------------------- the basis argument


@pytest.mark.parametrize(
    "basis, error, match",
    [
        ([1.0, 2.0], ValueError, r"basis_vectors must have rank 2 .* got shape \(2,\)"),
        ([], ValueError, r"basis_vectors must have rank 2 .* got shape \(0,\)"),
        (3.0, ValueError, r"basis_vectors must have rank 2 .* got shape \(\)"),
        (np.zeros((2, 2, 2)), ValueError, r"basis_vectors must have rank 2 .* got shape \(2, 2, 2\)"),
        (np.zeros((0, 3)), ValueError, r"basis_vectors must hold at least one basis vector .* got shape \(0, 3\)"),
        (np.zeros((3, 0)), ValueError, r"basis_vectors must hold at least one basis vector .* got shape \(3, 0\)"),
        ([[1.0, 2.0], [3.0, float("nan")]], ValueError, r"basis_vectors must be finite, got basis_vectors\[1\]\[1\] = nan"),
        ([[float("inf"), 0.0]], ValueError, r"basis_vectors must be finite, got basis_vectors\[0\]\[0\] = inf"),
        (
            np.array([[0.0, 1.0, -np.inf], [np.nan, 0.0, 0.0]]),
            ValueError,
            r"basis_vectors\[0\]\[2\] = -inf \(2 non-finite entries in all\)",
        ),
        ([[1.0, 2.0], [3.0]], ValueError, r"basis_vectors must be a rectangular 2-D array"),
        (None, TypeError, r"basis_vectors must be a 2-D array of real numbers, got None"),
        ("abc", TypeError, r"basis_vectors must be a 2-D array of real numbers, got a non-numeric array .*'abc'"),
        ([["1", "2"]], TypeError, r"non-numeric array \(dtype <U1\)"),
        ([[1.0, object()]], TypeError, r"non-numeric array \(dtype object\)"),
        ([[True, False]], TypeError, r"got a bool array \(dtype bool\)"),
        (np.ones((2, 2), dtype=bool), TypeError, r"got a bool array"),
        ([[1 + 2j, 0.0]], TypeError, r"got a complex array \(dtype complex128\)"),
    ],
)
def test_basis_is_checked(basis, error, match):
    with pytest.raises(error, match=match):
        NonNegativeProjection(basis)


def test_basis_overflowing_the_variable_dtype_is_refused():
    with pytest.raises(ValueError, match=r"magnitude 1e\+300, which overflows the layer's variable dtype float32"):
        NonNegativeProjection([[1e300, 0.0]])
    NonNegativeProjection([[1e300, 0.0]], dtype="float64")


@pytest.mark.parametrize(
    "basis",
    [
        [[1, 0, 2], [0, 1, 3]],
        ((1.5, 0.0, 2.0), (0.0, 1.0, 3.0)),
        np.array([[1, 0, 2], [0, 1, 3]], dtype=np.int32),
        np.array([[1, 0, 2], [0, 1, 3]], dtype=np.uint8),
        np.array([[1, 0, 2], [0, 1, 3]], dtype=np.float16),
        np.array([[1, 0, 2], [0, 1, 3]], dtype=np.float64),
        tf.constant([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]]),
    ],
)
def test_accepted_bases(basis):
    layer = NonNegativeProjection(basis)
    assert (layer.num_basis_vectors, layer.basis_dim) == (2, 3)
    y = layer(tf.ones((4, 6)))
    assert tuple(y.shape) == (4, 3)
    np.testing.assert_array_equal(layer.basis_vectors.numpy(), np.asarray(basis, np.float32))


def test_basis_is_copied():
    basis = np.eye(2)
    layer = NonNegativeProjection(basis)
    basis[0, 0] = 5.0
    assert layer.get_config()["basis_vectors"] == [[1.0, 0.0], [0.0, 1.0]]


# ----------------------------------------------------------------------------- input shapes


def test_rank_one_inputs_are_refused():
    layer = NonNegativeProjection(BASIS_3x5, name="nnp1")
    with pytest.raises(
        ValueError, match=r"NonNegativeProjection 'nnp1' expects inputs of rank >= 2, got input shape \(7,\)"
    ):
        layer(tf.zeros((7,)))
    with pytest.raises(ValueError, match=r"'nnp1' expects inputs of rank >= 2, got input shape \(7,\)"):
        layer.coefficients(tf.zeros((7,)))


def test_unknown_last_dimension_is_refused():
    layer = NonNegativeProjection(BASIS_3x5, name="nnp2")
    with pytest.raises(ValueError, match=r"'nnp2' needs a known last dimension of its inputs, got input shape \(None, None\)"):
        layer.build((None, None))


def test_last_dimension_is_checked_after_build():
    layer = NonNegativeProjection(BASIS_3x5, name="nnp3")
    layer(tf.zeros((2, 7)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 7"):
        layer(tf.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"'nnp3' was built for inputs with last dimension 7, got input shape \(2, 6\)"):
        layer.coefficients(tf.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"'nnp3' was built for inputs with last dimension 7"):
        layer.compute_output_shape((None, 6))


def test_compute_output_shape():
    layer = NonNegativeProjection(BASIS_3x5)
    for shape, expected in [((None, 7), (None, 5)), ((4, 7), (4, 5)), ((None, 2, 7), (None, 2, 5))]:
        assert tuple(layer.compute_output_shape(shape)) == expected
    assert tuple(layer(tf.zeros((2, 3, 7))).shape) == (2, 3, 5)
    assert tuple(layer.compute_output_shape((2, 3, 7))) == (2, 3, 5)


# ----------------------------------------------------------------------------- forward pass


def test_non_square_basis_output_is_coefficients_times_basis():
    # The done-when check: a (3, 5) basis on (4, 7) inputs.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 7)).astype(np.float32)
    layer = NonNegativeProjection(BASIS_3x5)
    y = layer(x)
    assert tuple(y.shape) == (4, 5)
    assert tuple(layer.projection_weights.shape) == (7, 3)
    assert tuple(layer.basis_vectors.shape) == (3, 5)
    c = layer.coefficients(x)
    assert tuple(c.shape) == (4, 3)
    assert np.all(c.numpy() >= 0)
    assert np.any(c.numpy() > 0)  # alive after build
    np.testing.assert_allclose(y.numpy(), c.numpy() @ BASIS_3x5, rtol=1e-5, atol=1e-6)
    ref_c, ref_y = reference(x, layer.projection_weights.numpy(), BASIS_3x5)
    np.testing.assert_allclose(c.numpy(), ref_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), ref_y, rtol=1e-5, atol=1e-6)


def test_more_basis_vectors_than_dimensions():
    basis = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]], np.float32)
    layer = NonNegativeProjection(basis)
    x = np.random.default_rng(1).normal(size=(3, 2)).astype(np.float32)
    y = layer(x)
    assert tuple(y.shape) == (3, 2)
    _, ref_y = reference(x, layer.projection_weights.numpy(), basis)
    np.testing.assert_allclose(y.numpy(), ref_y, rtol=1e-5, atol=1e-6)


def test_square_basis_combines_rows_not_columns():
    basis = np.array([[1.0, 2.0], [0.0, 3.0]], np.float32)
    layer = NonNegativeProjection(basis, kernel_initializer="identity")
    y = layer(tf.constant([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]])).numpy()
    # Coefficients are the inputs with negatives zeroed: rows of the basis come out, not columns.
    np.testing.assert_array_equal(y, [[1.0, 2.0], [0.0, 3.0], [2.0, 4.0]])


def test_rank_three_inputs():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 7)).astype(np.float32)
    layer = NonNegativeProjection(BASIS_3x5)
    y = layer(x).numpy()
    assert y.shape == (2, 3, 5)
    assert tuple(layer.coefficients(x).shape) == (2, 3, 3)
    _, ref_y = reference(x, layer.projection_weights.numpy(), BASIS_3x5)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[1], layer(x[1]).numpy(), rtol=1e-6, atol=1e-6)


def test_coefficients_builds_the_layer():
    layer = NonNegativeProjection(BASIS_3x5)
    c = layer.coefficients(np.ones((2, 4), np.float32))
    assert layer.built and tuple(c.shape) == (2, 3)
    assert tuple(layer.projection_weights.shape) == (4, 3)


def test_integer_inputs_are_cast():
    layer = NonNegativeProjection(BASIS_3x5)
    y = layer(tf.constant([[1, 2, 3, 4, 5, 6, 7]]))
    assert y.dtype == tf.float32
    _, ref_y = reference([[1, 2, 3, 4, 5, 6, 7]], layer.projection_weights.numpy(), BASIS_3x5)
    np.testing.assert_allclose(y.numpy(), ref_y, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- weights and training


def test_basis_is_a_fixed_non_trainable_weight():
    layer = NonNegativeProjection(BASIS_3x5)
    x = tf.constant(np.random.default_rng(3).normal(size=(8, 7)).astype(np.float32))
    layer(x)
    assert layer.trainable_weights == [layer.projection_weights]
    assert layer.non_trainable_weights == [layer.basis_vectors]
    assert not layer.basis_vectors.trainable
    before = layer.projection_weights.numpy().copy()
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    optimizer.apply_gradients(zip(grads, layer.trainable_weights))
    assert not np.array_equal(layer.projection_weights.numpy(), before)
    np.testing.assert_array_equal(layer.basis_vectors.numpy(), BASIS_3x5)


def test_basis_unchanged_by_fit():
    inputs = keras.Input(shape=(7,))
    layer = NonNegativeProjection(BASIS_3x5)
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    rng = np.random.default_rng(4)
    model.fit(rng.normal(size=(8, 7)), rng.normal(size=(8, 5)), epochs=2, batch_size=4, verbose=0)
    np.testing.assert_array_equal(layer.basis_vectors.numpy(), BASIS_3x5)


# ----------------------------------------------------------------------------- config


def test_config_round_trips_through_json():
    layer = NonNegativeProjection(
        BASIS_3x5, kernel_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=3), name="nnpj"
    )
    config = layer.get_config()
    assert plain_json(config)
    assert all(type(v) is float for row in config["basis_vectors"] for v in row)
    restored = NonNegativeProjection.from_config(json.loads(json.dumps(config)))
    assert restored.get_config() == config
    assert isinstance(restored.kernel_initializer, keras.initializers.RandomNormal)
    assert restored.kernel_initializer.stddev == 0.1
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "layercheck>NonNegativeProjection"
    again = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert isinstance(again, NonNegativeProjection) and again.get_config() == config


def test_long_bases_are_cut_in_messages():
    with pytest.raises(TypeError, match=r"non-numeric array .*\.\.\."):
        NonNegativeProjection([["x"] * 100])


class _CountedRepr:
    """An entry that counts how often the error message asks for its repr."""

    calls = 0

    def __repr__(self):
        type(self).calls += 1
        return "entry"


def test_a_huge_ragged_basis_is_refused_without_the_repr_of_every_entry():
    # The how-to's full repr of a ragged list of millions of floats took minutes before the
    # message was cut; the message must be built from a bounded number of entries.
    entry = _CountedRepr()
    _CountedRepr.calls = 0
    ragged = [[entry] * 200_000, [entry] * 199_999]
    with pytest.raises(ValueError, match="basis_vectors must be a rectangular") as raised:
        NonNegativeProjection(ragged)
    assert _CountedRepr.calls <= 12, _CountedRepr.calls
    assert len(str(raised.value)) < 400


def test_saved_model_file_round_trip(tmp_path):
    inputs = keras.Input(shape=(7,))
    layer = NonNegativeProjection(BASIS_3x5)
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    loaded_layer = loaded.layers[-1]
    assert isinstance(loaded_layer, NonNegativeProjection)
    assert loaded_layer.basis_vectors.numpy().tobytes() == BASIS_3x5.tobytes()
    assert loaded_layer.non_trainable_weights == [loaded_layer.basis_vectors]
    x = np.random.default_rng(9).normal(size=(3, 7)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_basis_round_trips_bit_exactly(dtype):
    rng = np.random.default_rng(5)
    basis = rng.normal(size=(3, 4)).astype(dtype) * np.array([1e-30, 1.0, 1e20, 3.0], dtype)
    tiny = np.finfo(dtype)
    basis[0, 0], basis[0, 1] = tiny.smallest_subnormal, -0.0
    basis[1, 0], basis[1, 1] = tiny.max, -tiny.tiny
    basis[2, 0] = np.nextafter(np.array(1.0, dtype), np.array(2.0, dtype))
    layer = NonNegativeProjection(basis, dtype=dtype)
    restored = NonNegativeProjection.from_config(json.loads(json.dumps(layer.get_config())))
    for candidate in (layer, restored):
        candidate.build((None, 2))
        weight = candidate.basis_vectors.numpy()
        assert weight.dtype == dtype
        assert weight.tobytes() == basis.tobytes()


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
    layer = NonNegativeProjection(BASIS_3x5, dtype=policy)
    x = np.random.default_rng(6).normal(size=(4, 7)).astype(np.float32)
    y = layer(x)
    assert layer.projection_weights.dtype == weight_dtype
    assert layer.basis_vectors.dtype == weight_dtype
    assert y.dtype == output_dtype
    assert layer.coefficients(x).dtype == output_dtype
    tolerance = {"float16": 1e-2, "bfloat16": 5e-2, "float64": 1e-12}[output_dtype]
    _, ref_y = reference(x, layer.projection_weights.numpy(), BASIS_3x5)
    np.testing.assert_allclose(tf.cast(y, tf.float64).numpy(), ref_y, rtol=tolerance, atol=tolerance)


def test_functional_model_with_unknown_batch_size():
    inputs = keras.Input(shape=(7,))
    layer = NonNegativeProjection(BASIS_3x5)
    outputs = layer(inputs)
    assert tuple(outputs.shape) == (None, 5)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(7).normal(size=(3, 7)).astype(np.float32)
    _, ref_y = reference(x, layer.projection_weights.numpy(), BASIS_3x5)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref_y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function(jit_compile):
    layer = NonNegativeProjection(BASIS_3x5)
    x = tf.constant(np.random.default_rng(8).normal(size=(2, 3, 7)).astype(np.float32))
    eager = layer(x).numpy()
    compiled = tf.function(layer, jit_compile=jit_compile, input_signature=[tf.TensorSpec((None, None, 7), tf.float32)])
    np.testing.assert_allclose(compiled(x).numpy(), eager, rtol=1e-5, atol=1e-6)
    coefficients = tf.function(layer.coefficients, jit_compile=jit_compile)
    np.testing.assert_allclose(coefficients(x[0]).numpy(), layer.coefficients(x[0]).numpy(), rtol=1e-5, atol=1e-6)
