"""Known-bad layers for the gradient properties: each computes the production layer's forward
values (so every forward property passes) and breaks its gradient in one plausible way. Each
subclasses a production layer, so the production layer through the same check is the control.

TemperatureSoftmax:

* ``ForgottenMeanSoftmax``: a hand-written VJP (``tf.custom_gradient``) that forgets the
  ``- sum(g * p)`` term: ``dL/dx = p * g / T``.
* ``StopGradientTemperatureSoftmax``: the temperature is read through ``tf.stop_gradient``.
* ``FrozenTemperatureSoftmax``: the temperature is built non-trainable: no gradient at all.
* ``UntrainedTemperatureSoftmax``: the temperature is flagged non-trainable after build: a
  tape still differentiates it, but Keras training skips it.
* ``StrictFloorSoftmax``: the floor as ``tf.where(T > floor, T, floor)``: at ``T == floor``
  the gradient goes to the constant, not to T (the wrong tie convention).
* ``UnconstrainedSoftmax``: the temperature has no ``MinValue`` constraint (the forward pass
  still clamps), so gradient descent can take it below the floor, to 0 and below.
* ``StraightThroughFloorSoftmax``: the floor as ``T + stop_gradient(max(T, floor) - T)``
  (a straight-through clamp): below the floor T still gets the gradient.

NonNegativeProjection:

* ``ReluGradOneAtZeroProjection``: relu'(0) = 1 (``g * (a >= 0)``) instead of 0.
* ``StraightThroughReluProjection``: the backward pass ignores the ReLU (gradient 1 everywhere).
* ``TrainableBasisProjection``: the basis is built as a trainable weight.

MemoryCellLayer:

* ``TransposedRecurrentGradientCell``: a hand-written VJP of ``S @ R`` returns ``dL/dR``
  transposed (``g.T @ S`` instead of ``S.T @ g``).
* ``BackpropThroughStateCell``: keeps the previous call's output tensor and uses it as the
  state, so inside one tape the gradient flows through the state into earlier calls (full
  backpropagation through time instead of the documented window of one call). Eager only.
"""

import keras
import numpy as np
import tensorflow as tf

from layercheck.layers import (
    MemoryCellLayer,
    NonNegativeProjection,
    TemperatureSoftmax,
    _validation,
)
from layercheck.layers.temperature_softmax import (
    _UNDERFLOW_EXPONENT,
    MinValue,
    _math_dtype,
)

# -- TemperatureSoftmax ------------------------------------------------------------------------


class _SoftmaxVariant(TemperatureSoftmax):
    """The production forward pass, with hooks for the floor and the softmax."""

    def call(self, inputs):
        math_dtype = _math_dtype(self.compute_dtype)
        x = tf.cast(inputs, self.compute_dtype)
        largest = float(x.dtype.max)
        x = tf.cast(tf.clip_by_value(x, -largest, largest), math_dtype)
        temperature = self._effective_temperature(
            tf.cast(self.temperature, math_dtype), tf.constant(self.min_temperature, math_dtype)
        )
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=-1, keepdims=True))
        z = tf.maximum(z, -_UNDERFLOW_EXPONENT[math_dtype] * temperature)
        return tf.cast(self._softmax(z, temperature), self.compute_dtype)

    def _effective_temperature(self, temperature, floor):
        return tf.maximum(temperature, floor)

    def _softmax(self, z, temperature):
        return tf.nn.softmax(z / temperature, axis=-1)


class ForgottenMeanSoftmax(_SoftmaxVariant):
    """Bug: the hand-written VJP forgets ``- sum(g * p)``: ``dL/dz = p * g``."""

    def _softmax(self, z, temperature):
        @tf.custom_gradient
        def softmax(z, temperature):
            p = tf.nn.softmax(z / temperature, axis=-1)

            def vjp(g):
                d_scaled = p * g  # should be p * (g - sum(g * p))
                return d_scaled / temperature, -tf.reduce_sum(d_scaled * z) / temperature**2

            return p, vjp

        return softmax(z, temperature)


class StopGradientTemperatureSoftmax(_SoftmaxVariant):
    """Bug: ``T`` is read through ``stop_gradient``: it never learns."""

    def _effective_temperature(self, temperature, floor):
        return tf.maximum(tf.stop_gradient(temperature), floor)


class FrozenTemperatureSoftmax(TemperatureSoftmax):
    """Bug: the temperature is built with ``trainable=False`` (as in the production ``build``
    otherwise): the tape never watches it, so it gets no gradient."""

    def build(self, input_shape):
        self._checked_shape(input_shape)
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(np.float64(self.initial_temperature)),
            trainable=False,
            autocast=False,
            constraint=MinValue(self.min_temperature),
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self.num_classes})


class UntrainedTemperatureSoftmax(TemperatureSoftmax):
    """Bug: the temperature is flagged non-trainable after build (``trainable = False`` on the
    Keras variable): a raw tape still differentiates it, but Keras training
    (``layer.trainable_weights``) never updates it."""

    def build(self, input_shape):
        super().build(input_shape)
        self.temperature.trainable = False


class StrictFloorSoftmax(_SoftmaxVariant):
    """Bug: ``tf.where(T > floor, T, floor)``: no gradient to T at ``T == floor``."""

    def _effective_temperature(self, temperature, floor):
        return tf.where(temperature > floor, temperature, floor)


class UnconstrainedSoftmax(TemperatureSoftmax):
    """Bug: no ``MinValue`` constraint on the temperature."""

    def build(self, input_shape):
        super().build(input_shape)
        self.temperature.constraint = None


class StraightThroughFloorSoftmax(_SoftmaxVariant):
    """Bug: a straight-through floor: below it, T still gets the gradient."""

    def _effective_temperature(self, temperature, floor):
        return temperature + tf.stop_gradient(tf.maximum(temperature, floor) - temperature)


# -- NonNegativeProjection -------------------------------------------------------------------


class _ProjectionVariant(NonNegativeProjection):
    """The production forward pass with a hook for the ReLU."""

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        return self._relu(self._contract(x, tf.cast(self.projection_weights, self.compute_dtype)))

    def _relu(self, pre):
        return tf.nn.relu(pre)


class ReluGradOneAtZeroProjection(_ProjectionVariant):
    """Bug: relu'(0) = 1."""

    def _relu(self, pre):
        @tf.custom_gradient
        def relu(a):
            def vjp(g):
                return g * tf.cast(a >= 0, g.dtype)

            return tf.nn.relu(a), vjp

        return relu(pre)


class StraightThroughReluProjection(_ProjectionVariant):
    """Bug: the backward pass ignores the ReLU."""

    def _relu(self, pre):
        return pre + tf.stop_gradient(tf.nn.relu(pre) - pre)


class TrainableBasisProjection(NonNegativeProjection):
    """Bug: the basis is built as a trainable weight (the production ``build`` otherwise)."""

    def build(self, input_shape):
        shape = _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2)
        self.projection_weights = self.add_weight(
            name="projection_weights",
            shape=(shape[-1], self.num_basis_vectors),
            initializer=self.kernel_initializer,
            trainable=True,
        )
        basis = self._basis
        self.basis_vectors = self.add_weight(
            name="basis_vectors",
            shape=basis.shape,
            initializer=lambda shape, dtype=None: tf.constant(basis, dtype=dtype),
            trainable=True,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: shape[-1]})


# -- MemoryCellLayer -----------------------------------------------------------------------------


class TransposedRecurrentGradientCell(MemoryCellLayer):
    """Bug: the hand-written VJP of ``S @ R`` returns ``dL/dR`` transposed."""

    def call(self, inputs):
        previous_state = tf.stop_gradient(self._state_for(inputs))

        @tf.custom_gradient
        def recurrent(state, recurrent_kernel):
            def vjp(g):
                return g @ tf.transpose(recurrent_kernel), tf.transpose(g) @ state  # should be state.T @ g

            return state @ recurrent_kernel, vjp

        new_state = tf.tanh(tf.matmul(inputs, self.kernel) + recurrent(previous_state, tf.convert_to_tensor(self.recurrent_kernel)))
        self.state.assign(tf.cast(new_state, self.state.dtype))
        return new_state


class BackpropThroughStateCell(MemoryCellLayer):
    """Bug: eagerly, the previous call's output tensor (same value as the state) is the state,
    so a tape over several calls backpropagates through time."""

    _carried = None

    def call(self, inputs):
        previous_state = self._state_for(inputs)
        if tf.executing_eagerly() and self._carried is not None:
            previous_state = self._carried
        new_state = tf.tanh(tf.matmul(inputs, self.kernel) + tf.matmul(previous_state, self.recurrent_kernel))
        self.state.assign(tf.cast(new_state, self.state.dtype))
        if tf.executing_eagerly():
            self._carried = new_state
        return new_state

    def reset_state(self, batch_size=None):
        self._carried = None
        super().reset_state(batch_size)


__all__ = [
    "BackpropThroughStateCell",
    "ForgottenMeanSoftmax",
    "FrozenTemperatureSoftmax",
    "ReluGradOneAtZeroProjection",
    "StopGradientTemperatureSoftmax",
    "StraightThroughFloorSoftmax",
    "StraightThroughReluProjection",
    "StrictFloorSoftmax",
    "TrainableBasisProjection",
    "TransposedRecurrentGradientCell",
    "UnconstrainedSoftmax",
    "UntrainedTemperatureSoftmax",
]
