"""RunningStandardize: standardization by running statistics, updated only in training.

* ``training=True``: the BATCH statistics (over every axis but the last; the variance is the
  biased one, divided by the number of rows ``m``) normalize the batch, and the moving
  statistics move towards them::

      y               = (x - mean) / sqrt(variance + epsilon)
      moving_mean     <- momentum * moving_mean     + (1 - momentum) * mean
      moving_variance <- momentum * moving_variance + (1 - momentum) * variance

* ``training=False`` or ``None`` (``predict``, a plain call, an export): the moving statistics
  normalize and nothing changes: ``y = (x - moving_mean) / sqrt(moving_variance + epsilon)``.

The statistics are non-trainable weights: ``get_weights`` / ``set_weights``, ``save_weights``
and ``.keras`` files carry them; the config does not (their initializers are in it). Under a
``tf.distribute`` strategy each replica's batch statistics update the moving ones, averaged
over the replicas (``aggregation="mean"``). Under a 16-bit policy the layer computes in
float32 (the statistics are float32 weights, not autocast) and returns the compute dtype.
"""

import keras

from my_layers import _checks


@keras.saving.register_keras_serializable(package="my_layers")
class RunningStandardize(keras.layers.Layer):
    """Standardize the last axis by running statistics (see the module docstring).

    Args:
        momentum: a real in [0, 1): the weight of the old moving statistics in an update.
        epsilon: a finite positive real added to the variance inside the square root.
        moving_mean_initializer, moving_variance_initializer: Keras initializers of the
            statistics (zeros and ones by default); ``get_config`` stores them serialized.
        **kwargs: passed to ``keras.layers.Layer``.
    """

    def __init__(
        self,
        momentum=0.99,
        epsilon=1e-3,
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.momentum = _checks.finite_real("momentum", momentum)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.epsilon = _checks.finite_real("epsilon", epsilon, positive=True)
        self.moving_mean_initializer = _checks.initializer("moving_mean_initializer", moving_mean_initializer)
        self.moving_variance_initializer = _checks.initializer("moving_variance_initializer", moving_variance_initializer)

    def build(self, input_shape):
        shape = _checks.short_shape(input_shape)
        if len(shape) < 2:
            raise ValueError(f"RunningStandardize needs inputs of rank >= 2, got rank {len(shape)}: {shape}")
        if shape[-1] is None:
            raise ValueError(f"RunningStandardize needs a known last dimension, got input shape {shape}")
        n = shape[-1]
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=(n,), initializer=self.moving_mean_initializer,
            trainable=False, autocast=False, aggregation="mean",
        )  # fmt: skip
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=(n,), initializer=self.moving_variance_initializer,
            trainable=False, autocast=False, aggregation="mean",
        )  # fmt: skip
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: n})

    def call(self, inputs, training=None):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        x = keras.ops.cast(inputs, dtype)
        epsilon = keras.ops.convert_to_tensor(self.epsilon, dtype=dtype)
        if training:
            axes = tuple(range(len(x.shape) - 1))
            mean = keras.ops.mean(x, axis=axes)
            variance = keras.ops.mean(keras.ops.square(x - mean), axis=axes)
            momentum = keras.ops.convert_to_tensor(self.momentum, dtype=self.moving_mean.dtype)
            self.moving_mean.assign(
                momentum * self.moving_mean + (1.0 - momentum) * keras.ops.cast(mean, self.moving_mean.dtype)
            )
            self.moving_variance.assign(
                momentum * self.moving_variance + (1.0 - momentum) * keras.ops.cast(variance, self.moving_variance.dtype)
            )
        else:
            mean = keras.ops.cast(self.moving_mean, dtype)
            variance = keras.ops.cast(self.moving_variance, dtype)
        # rsqrt, not a division by sqrt: Grappler rewrites x / sqrt(v) to x * rsqrt(v) in graphs
        # (an export), which would differ from the eager result in the last bit.
        y = (x - mean) * keras.ops.rsqrt(variance + epsilon)
        return keras.ops.cast(y, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "moving_mean_initializer": keras.initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": keras.initializers.serialize(self.moving_variance_initializer),
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
