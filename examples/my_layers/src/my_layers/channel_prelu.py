"""ChannelPReLU: a parametric ReLU with one trainable slope per channel (the last axis).

``y = x`` where ``x > 0``, ``alpha * x`` where ``x <= 0``. At exactly ``x = 0`` the output is 0
and the gradient takes the negative branch: ``dy/dx = alpha``, ``dy/dalpha = 0`` (the
reference, ``my_layers.reference.channel_prelu``, states the same convention).
"""

import numbers

import keras

from my_layers import _checks


@keras.saving.register_keras_serializable(package="my_layers")
class ChannelPReLU(keras.layers.Layer):
    """``where(x > 0, x, alpha * x)`` with ``alpha`` of shape (n,), n the last dimension.

    Args:
        alpha_initializer: the initial slopes: a finite real number (every slope starts at
            it), or a Keras initializer (a name, a serialized config or an instance).
            ``get_config`` stores a number as given and an initializer serialized.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Inputs of rank >= 2 with a known last dimension; the output has the inputs' shape and the
    compute dtype.
    """

    def __init__(self, alpha_initializer=0.25, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha_initializer, numbers.Real) and not isinstance(alpha_initializer, bool):
            self._alpha_value = _checks.finite_real("alpha_initializer", alpha_initializer)
            self.alpha_initializer = keras.initializers.Constant(self._alpha_value)
        else:
            self._alpha_value = None
            self.alpha_initializer = _checks.initializer("alpha_initializer", alpha_initializer)

    def build(self, input_shape):
        shape = _checks.short_shape(input_shape)
        if len(shape) < 2:
            raise ValueError(f"ChannelPReLU needs inputs of rank >= 2, got rank {len(shape)}: {shape}")
        if shape[-1] is None:
            raise ValueError(f"ChannelPReLU needs a known last dimension, got input shape {shape}")
        self.alpha = self.add_weight(name="alpha", shape=(shape[-1],), initializer=self.alpha_initializer, trainable=True)
        # Keras checks calls against the spec before `call`: no error from inside `call`.
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: shape[-1]})

    def call(self, inputs):
        return keras.ops.where(inputs > 0, inputs, self.alpha * inputs)

    def get_config(self):
        config = super().get_config()
        initializer = self._alpha_value if self._alpha_value is not None else keras.initializers.serialize(self.alpha_initializer)
        config.update({"alpha_initializer": initializer})
        return config

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
