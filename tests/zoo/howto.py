"""The how-to's three layers, as published (``../shared/seed/``), adapted only in names.

Each is a known-bad implementation the gate must catch. The defects:

* ``HowToTemperatureSoftmax``: ``softmax(inputs / T)`` gives NaN for a tiny ``T`` with large
  logits (``inf - inf``); nothing keeps the trainable ``T`` positive; ``num_classes`` is
  never checked (and ``T = 0`` is accepted).
* ``HowToNonNegativeProjection``: multiplies by the transposed basis, so a (k, d) basis with
  k != d fails, and a square basis reconstructs from its columns, not its rows.
* ``HowToMemoryCellLayer``: the state takes the build-time batch size, so a functional model
  with an unknown batch size cannot be built; a batch-size change fails deep inside
  TensorFlow; there is no ``reset_state``.

Only the weight name ``internal_state`` -> attribute ``state`` and the Keras registration
package differ from the published code; the ``tf.keras`` calls are Keras 3's.
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class HowToTemperatureSoftmax(keras.layers.Layer):
    """Bug: no floor, no stability shift, no argument checks."""

    def __init__(self, num_classes, initial_temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.initial_temperature = initial_temperature

    def build(self, input_shape):
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=True,
        )

    def call(self, inputs):
        return tf.nn.softmax(inputs / self.temperature)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "initial_temperature": self.initial_temperature})
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class HowToNonNegativeProjection(keras.layers.Layer):
    """Bug: reconstructs with the transposed basis."""

    def __init__(self, basis_vectors, **kwargs):
        super().__init__(**kwargs)
        self._basis = tf.constant(basis_vectors, dtype=tf.float32)

    def build(self, input_shape):
        self.basis_vectors = self._basis
        self.projection_weights = self.add_weight(
            name="projection_weights",
            shape=(input_shape[-1], self._basis.shape[0]),
            initializer="random_normal",
            trainable=True,
        )

    def coefficients(self, inputs):
        return tf.nn.relu(tf.matmul(inputs, self.projection_weights))

    def call(self, inputs):
        projected = tf.nn.relu(tf.matmul(inputs, self.projection_weights))
        return tf.matmul(projected, self._basis, transpose_b=True)

    def get_config(self):
        config = super().get_config()
        config.update({"basis_vectors": self._basis.numpy().tolist()})
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class HowToMemoryCellLayer(keras.layers.Layer):
    """Bug: the state's shape uses the build-time batch size; no reset."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.state = self.add_weight(
            name="internal_state", shape=(input_shape[0], self.units), initializer="zeros", trainable=False
        )
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, self.units), initializer="random_normal", trainable=True
        )

    def call(self, inputs):
        new_state = tf.tanh(tf.matmul(inputs, self.kernel) + tf.matmul(self.state, self.recurrent_kernel))
        self.state.assign(new_state)
        return new_state

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


ZOO = {
    "howto_temperature_softmax": ("temperature_softmax", HowToTemperatureSoftmax),
    "howto_nonnegative_projection": ("nonnegative_projection", HowToNonNegativeProjection),
    "howto_memory_cell": ("memory_cell", HowToMemoryCellLayer),
}
