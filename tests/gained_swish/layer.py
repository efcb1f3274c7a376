"""GainedSwish: ``y = gain * x * sigmoid(x)`` over the last axis, ``gain`` trainable (n,)."""

import math

import keras


@keras.saving.register_keras_serializable(package="layercheck_tests")
class GainedSwish(keras.layers.Layer):
    """``gain * x * sigmoid(x)``; inputs of rank >= 2 with a known last dimension.

    Args:
        initial_gain: finite real number, the initial value of every entry of ``gain``.
    """

    def __init__(self, initial_gain=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(initial_gain, bool) or not isinstance(initial_gain, (int, float)) or not math.isfinite(initial_gain):
            raise ValueError(f"initial_gain must be a finite real number, got {initial_gain!r}")
        self.initial_gain = float(initial_gain)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"GainedSwish needs inputs of rank >= 2, got rank {len(input_shape)}: {tuple(input_shape)}")
        if input_shape[-1] is None:
            raise ValueError(f"GainedSwish needs a known last dimension, got input shape {tuple(input_shape)}")
        self.gain = self.add_weight(
            name="gain", shape=(input_shape[-1],), initializer=keras.initializers.Constant(self.initial_gain), trainable=True
        )
        # Keras checks calls against the spec before `call`: an error raised inside `call` would
        # come back wrapped in terminal escape codes, which the gate refuses as unclear.
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, inputs):
        return self.gain * inputs * keras.ops.sigmoid(inputs)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_gain": self.initial_gain})
        return config

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class BrokenGainedSwish(GainedSwish):
    """A plausible bug: the piecewise-linear ``hard_sigmoid`` for ``sigmoid`` (faster, wrong)."""

    def call(self, inputs):
        return self.gain * inputs * keras.ops.hard_sigmoid(inputs)
