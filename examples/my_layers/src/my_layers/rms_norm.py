"""RMSNorm: root-mean-square normalization over one or several axes, with a learned scale and,
with ``center``, a learned bias."""

import numbers

import keras

from my_layers import _checks


def _axis_argument(axis):
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
        axes = [int(a) for a in axis]
        return axes
    raise TypeError(f"axis must be an int or a non-empty list of ints, got {axis!r}")


@keras.saving.register_keras_serializable(package="my_layers")
class RMSNorm(keras.layers.Layer):
    """``y = x / sqrt(mean(x**2 over axis) + epsilon) * scale (+ bias)``.

    Args:
        axis: an int or a non-empty list of ints: the axes to normalize over (negative ones
            count from the end). Not the batch axis 0; no axis twice.
        epsilon: a finite positive real, added to the mean square inside the square root.
        center: a bool; with True a trainable ``bias`` is added after the scale.
        scale_initializer, bias_initializer: Keras initializers (a name, a serialized config
            or an instance); ``get_config`` stores them serialized.
        **kwargs: passed to ``keras.layers.Layer``.

    ``scale`` and ``bias`` have the shape of the inputs along the axes (in increasing order)
    and are kept in the variable dtype, not autocast: under a 16-bit policy the layer computes
    in float32 (``x**2`` would overflow float16 from ``|x| > 256``) and returns the compute dtype.
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-6,
        center=True,
        scale_initializer="ones",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = _axis_argument(axis)
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis must not name an axis twice, got {axis!r}")
        self.epsilon = _checks.finite_real("epsilon", epsilon, positive=True)
        if not isinstance(center, bool):
            raise TypeError(f"center must be a bool, got {center!r}")
        self.center = center
        self.scale_initializer = _checks.initializer("scale_initializer", scale_initializer)
        self.bias_initializer = _checks.initializer("bias_initializer", bias_initializer)
        self.supports_masking = False

    def build(self, input_shape):
        shape = _checks.short_shape(input_shape)
        rank = len(shape)
        if rank < 2:
            raise ValueError(f"RMSNorm needs inputs of rank >= 2, got rank {rank}: {shape}")
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        resolved = []
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f"axis {self.axis!r} is out of range for inputs of rank {rank}: {shape}")
            resolved.append(a % rank)
        if 0 in resolved:
            raise ValueError(f"axis {self.axis!r} names the batch axis 0 of inputs of shape {shape}")
        if len(set(resolved)) != len(resolved):
            raise ValueError(f"axis {self.axis!r} names an axis twice for inputs of rank {rank}")
        self._axes = tuple(sorted(resolved))
        if any(shape[a] is None for a in self._axes):
            raise ValueError(f"RMSNorm needs a known last dimension and known sides along axis {self.axis!r}, got input shape {shape}")
        param_shape = tuple(shape[a] for a in self._axes)
        self._broadcast = tuple(shape[i] if i in self._axes else 1 for i in range(rank))
        self.scale = self.add_weight(name="scale", shape=param_shape, initializer=self.scale_initializer, trainable=True, autocast=False)
        if self.center:
            self.bias = self.add_weight(name="bias", shape=param_shape, initializer=self.bias_initializer, trainable=True, autocast=False)
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={a: shape[a] for a in self._axes})

    def call(self, inputs):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        x = keras.ops.cast(inputs, dtype)
        mean_square = keras.ops.mean(keras.ops.square(x), axis=self._axes, keepdims=True)
        # Every factor broadcast to the inputs' shape first: in a graph (tf.function, an export)
        # Grappler's arithmetic optimizer rewrites x / sqrt(v) into x * rsqrt(v) and reorders a
        # chain of products of different shapes (MinimizeBroadcasts), which changes the last bit
        # against the eager result; products of equal shapes are left in this order.
        shape = keras.ops.shape(x)
        inverse = keras.ops.rsqrt(mean_square + keras.ops.convert_to_tensor(self.epsilon, dtype=dtype))
        scale = keras.ops.reshape(keras.ops.cast(self.scale, dtype), self._broadcast)
        y = x * keras.ops.broadcast_to(inverse, shape) * keras.ops.broadcast_to(scale, shape)
        if self.center:
            y = y + keras.ops.reshape(keras.ops.cast(self.bias, dtype), self._broadcast)
        return keras.ops.cast(y, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale_initializer": keras.initializers.serialize(self.scale_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
