"""Known-bad implementations of the three layers: each a copy with ONE realistic defect.

``ZOO = {entry_name: (layer NAME, implementation)}`` (the format of ``layercheck zoo``). Every
entry must be caught by the gate: layercheck's property suite over this project's specs, with
the layer-specific properties under ``tests/``. From the project folder::

    .venv/bin/layercheck zoo my_layers.zoo --tests tests

One entry by hand, as its rerun line would give it::

    .venv/bin/pytest -x --layercheck-layer=rms_norm --layer-impl=rms_norm=my_layers.zoo:RMSNormBiasBeforeScale
"""

import keras
import tensorflow as tf

from my_layers.channel_prelu import ChannelPReLU
from my_layers.rms_norm import RMSNorm
from my_layers.running_standardize import RunningStandardize

PACKAGE = "my_layers_zoo"


def _register(cls):
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


# -- ChannelPReLU ---------------------------------------------------------------------------------


@_register
class PReLUSlopeOnPositiveSide(ChannelPReLU):
    """The slope multiplies the positive side instead of the negative one."""

    def call(self, inputs):
        return keras.ops.where(inputs > 0, self.alpha * inputs, inputs)


@_register
class PReLUKinkGradientIsOne(ChannelPReLU):
    """``x >= 0`` picks the identity branch: same values, but dy/dx(0) = 1 instead of alpha."""

    def call(self, inputs):
        return keras.ops.where(inputs >= 0, inputs, self.alpha * inputs)


@_register
class PReLUStopGradientOnAlpha(ChannelPReLU):
    """``stop_gradient`` on the slope (copied from a frozen-slope variant): alpha never learns."""

    def call(self, inputs):
        return keras.ops.where(inputs > 0, inputs, keras.ops.stop_gradient(self.alpha) * inputs)


@_register
class PReLUCustomGradientUnmasked(ChannelPReLU):
    """A hand-written gradient that forgets the mask: dL/dalpha sums v * x over positive x too."""

    def call(self, inputs):
        @tf.custom_gradient
        def prelu(x, alpha):
            def grad(v):
                d_x = v * tf.where(x > 0, tf.ones_like(x), alpha * tf.ones_like(x))
                d_alpha = tf.reduce_sum(tf.reshape(v * x, (-1, tf.shape(x)[-1])), axis=0)
                return d_x, d_alpha

            return tf.where(x > 0, x, alpha * x), grad

        return prelu(inputs, tf.identity(self.alpha.value))


@_register
class PReLUAlphaNotTrainable(ChannelPReLU):
    """alpha created with ``trainable=False``: the optimizer never moves it."""

    def build(self, input_shape):
        super().build(input_shape)
        self.alpha.trainable = False


@_register
class PReLUConfigWithoutInitializer(ChannelPReLU):
    """get_config forgets alpha_initializer: a reloaded layer starts from the default 0.25."""

    def get_config(self):
        config = super().get_config()
        config.pop("alpha_initializer")
        return config


@_register
class PReLUFloat32Output(ChannelPReLU):
    """Computes and returns float32 whatever the policy (mixed precision: not the compute dtype)."""

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        return keras.ops.where(x > 0, x, keras.ops.cast(self.alpha, "float32") * x)


# -- RMSNorm ------------------------------------------------------------------------------------


@_register
class RMSNormEpsilonOutsideSqrt(RMSNorm):
    """``x / (sqrt(mean(x**2)) + epsilon)`` instead of ``x / sqrt(mean(x**2) + epsilon)``."""

    def call(self, inputs):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        x = keras.ops.cast(inputs, dtype)
        r = keras.ops.sqrt(keras.ops.mean(keras.ops.square(x), axis=self._axes, keepdims=True)) + keras.ops.convert_to_tensor(self.epsilon, dtype=dtype)
        y = x / r * keras.ops.reshape(keras.ops.cast(self.scale, dtype), self._broadcast)
        if self.center:
            y = y + keras.ops.reshape(keras.ops.cast(self.bias, dtype), self._broadcast)
        return keras.ops.cast(y, self.compute_dtype)


@_register
class RMSNormMeanOverLastAxis(RMSNorm):
    """The mean square is always taken over the last axis, whatever ``axis`` says."""

    def build(self, input_shape):
        super().build(input_shape)
        self._true_axes, self._axes = self._axes, (len(input_shape) - 1,)

    def call(self, inputs):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        x = keras.ops.cast(inputs, dtype)
        ms = keras.ops.mean(keras.ops.square(x), axis=-1, keepdims=True)
        y = x * keras.ops.rsqrt(ms + keras.ops.convert_to_tensor(self.epsilon, dtype=dtype))
        y = y * keras.ops.reshape(keras.ops.cast(self.scale, dtype), self._broadcast)
        if self.center:
            y = y + keras.ops.reshape(keras.ops.cast(self.bias, dtype), self._broadcast)
        return keras.ops.cast(y, self.compute_dtype)


@_register
class RMSNormBiasBeforeScale(RMSNorm):
    """``(x / r + bias) * scale``: the bias is added before the scale."""

    def call(self, inputs):
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        x = keras.ops.cast(inputs, dtype)
        y = x * keras.ops.rsqrt(keras.ops.mean(keras.ops.square(x), axis=self._axes, keepdims=True) + keras.ops.convert_to_tensor(self.epsilon, dtype=dtype))
        if self.center:
            y = y + keras.ops.reshape(keras.ops.cast(self.bias, dtype), self._broadcast)
        y = y * keras.ops.reshape(keras.ops.cast(self.scale, dtype), self._broadcast)
        return keras.ops.cast(y, self.compute_dtype)


@_register
class RMSNormInitializerNotSerialized(RMSNorm):
    """get_config stores the initializers' class names, not their serialized configs (their
    parameters are lost: RandomNormal(mean=0.3, stddev=2) comes back as RandomNormal())."""

    def get_config(self):
        config = super().get_config()
        config["scale_initializer"] = type(self.scale_initializer).__name__
        config["bias_initializer"] = type(self.bias_initializer).__name__
        return config


@_register
class RMSNormSquaresInFloat16(RMSNorm):
    """No upcast: x**2 and its mean are computed in the compute dtype (float16 overflows past 256)."""

    def call(self, inputs):
        dtype = self.compute_dtype
        x = keras.ops.cast(inputs, dtype)
        ms = keras.ops.mean(keras.ops.square(x), axis=self._axes, keepdims=True)
        y = x * keras.ops.rsqrt(ms + keras.ops.convert_to_tensor(self.epsilon, dtype=dtype))
        y = y * keras.ops.reshape(keras.ops.cast(self.scale, dtype), self._broadcast)
        if self.center:
            y = y + keras.ops.reshape(keras.ops.cast(self.bias, dtype), self._broadcast)
        return y


@_register
class RMSNormDefaultEpsilonDiffers(RMSNorm):
    """The default epsilon is 1e-5 (copied from LayerNormalization), not the documented 1e-6."""

    def __init__(self, axis=-1, epsilon=1e-5, **kwargs):
        super().__init__(axis=axis, epsilon=epsilon, **kwargs)


@_register
class RMSNormCenterIgnored(RMSNorm):
    """``center=False`` is stored but ignored: the bias is created and added anyway."""

    def build(self, input_shape):
        center, self.center = self.center, True
        super().build(input_shape)
        self.center = center

    def call(self, inputs):
        center, self.center = self.center, True
        try:
            return super().call(inputs)
        finally:
            self.center = center


# -- RunningStandardize -------------------------------------------------------------------------


def _moments(x):
    axes = tuple(range(len(x.shape) - 1))
    mean = keras.ops.mean(x, axis=axes)
    return mean, keras.ops.mean(keras.ops.square(x - mean), axis=axes)


class _Standardize(RunningStandardize):
    """The correct layer split into overridable steps (not an entry)."""

    def _dtype(self):
        return "float64" if self.compute_dtype == "float64" else "float32"

    def moments(self, x):
        return _moments(x)

    def update(self, mean, variance):
        momentum = keras.ops.convert_to_tensor(self.momentum, dtype=self.moving_mean.dtype)
        self.moving_mean.assign(momentum * self.moving_mean + (1.0 - momentum) * keras.ops.cast(mean, self.moving_mean.dtype))
        self.moving_variance.assign(momentum * self.moving_variance + (1.0 - momentum) * keras.ops.cast(variance, self.moving_variance.dtype))

    def normalize(self, x, mean, variance):
        epsilon = keras.ops.convert_to_tensor(self.epsilon, dtype=x.dtype)
        return (x - keras.ops.cast(mean, x.dtype)) * keras.ops.rsqrt(keras.ops.cast(variance, x.dtype) + epsilon)

    def call(self, inputs, training=None):
        x = keras.ops.cast(inputs, self._dtype())
        if training:
            mean, variance = self.moments(x)
            self.update(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return keras.ops.cast(self.normalize(x, mean, variance), self.compute_dtype)


@_register
class StandardizeUpdatesInInference(_Standardize):
    """The statistics are updated on every call (the update sits outside ``if training``)."""

    def call(self, inputs, training=None):
        x = keras.ops.cast(inputs, self._dtype())
        mean, variance = self.moments(x)
        if training:
            outputs = self.normalize(x, mean, variance)
        else:
            outputs = self.normalize(x, self.moving_mean, self.moving_variance)
        self.update(mean, variance)
        return keras.ops.cast(outputs, self.compute_dtype)


@_register
class StandardizeMomentumSwapped(_Standardize):
    """``momentum * batch + (1 - momentum) * old``: momentum weighs the new value."""

    def update(self, mean, variance):
        m = keras.ops.convert_to_tensor(self.momentum, dtype=self.moving_mean.dtype)
        self.moving_mean.assign((1.0 - m) * self.moving_mean + m * keras.ops.cast(mean, self.moving_mean.dtype))
        self.moving_variance.assign((1.0 - m) * self.moving_variance + m * keras.ops.cast(variance, self.moving_variance.dtype))


@_register
class StandardizeUnbiasedVariance(_Standardize):
    """The unbiased variance (divided by m - 1), where the docs say the biased one."""

    def moments(self, x):
        mean, variance = _moments(x)
        rows = keras.ops.cast(keras.ops.size(x) // keras.ops.shape(x)[-1], variance.dtype)
        return mean, variance * rows / keras.ops.maximum(rows - 1.0, 1.0)


@_register
class StandardizeStatisticsNotWeights(_Standardize):
    """The statistics are plain tf.Variables, not Keras weights: get_weights, set_weights,
    save_weights and .keras files leave them out."""

    def build(self, input_shape):
        super().build(input_shape)
        # Replaced by plain tf.Variables: the Keras weights the layer lists keep their initial values.
        self.moving_mean = tf.Variable(self.moving_mean.numpy(), trainable=False)
        self.moving_variance = tf.Variable(self.moving_variance.numpy(), trainable=False)


@_register
class StandardizeTrainingUsesMovingStatistics(_Standardize):
    """In training the batch updates the moving statistics, but the OLD moving statistics normalize."""

    def call(self, inputs, training=None):
        x = keras.ops.cast(inputs, self._dtype())
        outputs = self.normalize(x, self.moving_mean, self.moving_variance)
        if training:
            self.update(*self.moments(x))
        return keras.ops.cast(outputs, self.compute_dtype)


@_register
class StandardizeMomentsInFloat16(_Standardize):
    """The batch statistics are computed in the compute dtype: (x - mean)**2 overflows float16."""

    def call(self, inputs, training=None):
        if training:
            mean, variance = self.moments(keras.ops.cast(inputs, self.compute_dtype))
            self.update(mean, variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        x = keras.ops.cast(inputs, self._dtype())
        return keras.ops.cast(self.normalize(x, mean, variance), self.compute_dtype)


@_register
class StandardizeEpsilonOutsideSqrt(_Standardize):
    """``(x - mean) / (sqrt(variance) + epsilon)``."""

    def normalize(self, x, mean, variance):
        epsilon = keras.ops.convert_to_tensor(self.epsilon, dtype=x.dtype)
        return (x - keras.ops.cast(mean, x.dtype)) / (keras.ops.sqrt(keras.ops.cast(variance, x.dtype)) + epsilon)


ZOO = {
    "prelu_slope_on_positive_side": ("channel_prelu", PReLUSlopeOnPositiveSide),
    "prelu_kink_gradient_is_one": ("channel_prelu", PReLUKinkGradientIsOne),
    "prelu_stop_gradient_on_alpha": ("channel_prelu", PReLUStopGradientOnAlpha),
    "prelu_custom_gradient_unmasked": ("channel_prelu", PReLUCustomGradientUnmasked),
    "prelu_alpha_not_trainable": ("channel_prelu", PReLUAlphaNotTrainable),
    "prelu_config_without_initializer": ("channel_prelu", PReLUConfigWithoutInitializer),
    "prelu_float32_output": ("channel_prelu", PReLUFloat32Output),
    "rms_epsilon_outside_sqrt": ("rms_norm", RMSNormEpsilonOutsideSqrt),
    "rms_mean_over_last_axis": ("rms_norm", RMSNormMeanOverLastAxis),
    "rms_bias_before_scale": ("rms_norm", RMSNormBiasBeforeScale),
    "rms_initializer_not_serialized": ("rms_norm", RMSNormInitializerNotSerialized),
    "rms_squares_in_float16": ("rms_norm", RMSNormSquaresInFloat16),
    "rms_default_epsilon_differs": ("rms_norm", RMSNormDefaultEpsilonDiffers),
    "rms_center_ignored": ("rms_norm", RMSNormCenterIgnored),
    "standardize_updates_in_inference": ("running_standardize", StandardizeUpdatesInInference),
    "standardize_momentum_swapped": ("running_standardize", StandardizeMomentumSwapped),
    "standardize_unbiased_variance": ("running_standardize", StandardizeUnbiasedVariance),
    "standardize_statistics_not_weights": ("running_standardize", StandardizeStatisticsNotWeights),
    "standardize_training_uses_moving_statistics": ("running_standardize", StandardizeTrainingUsesMovingStatistics),
    "standardize_moments_in_float16": ("running_standardize", StandardizeMomentsInFloat16),
    "standardize_epsilon_outside_sqrt": ("running_standardize", StandardizeEpsilonOutsideSqrt),
}
