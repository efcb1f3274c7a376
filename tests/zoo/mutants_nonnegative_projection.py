"""Subtle mutants of NonNegativeProjection: each is the production layer with one plausible bug.

``layercheck zoo tests/zoo/mutants_nonnegative_projection.py`` runs the gate against each
entry of :data:`ZOO`; every one must be caught (tests/test_zoo_command.py). Each docstring
says the bug and the property expected to catch it first. Several keep the output in the cone
of the basis rows or keep the coefficients non-negative, so only a sharper property sees them.
"""

import keras
import tensorflow as tf

from layercheck.layers import NonNegativeProjection, _validation

register = keras.saving.register_keras_serializable(package="layercheck_zoo")


@register
class AbsCoefficientsProjection(NonNegativeProjection):
    """Bug: ``|x @ W|`` instead of ``relu(x @ W)``: still non-negative coefficients and an
    output inside the cone, so only the comparison with the reference sees it.
    Caught by test_equals_reference."""

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        return tf.abs(self._contract(x, tf.cast(self.projection_weights, self.compute_dtype)))


@register
class ReluAfterReconstructionProjection(NonNegativeProjection):
    """Bug: ``relu(x @ W @ B)``: the ReLU moved to the end ("the output must be non-negative").
    ``coefficients()`` is still right. Caught by test_equals_reference."""

    def call(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        pre = self._contract(x, tf.cast(self.projection_weights, self.compute_dtype))
        return tf.nn.relu(self._contract(pre, tf.cast(self.basis_vectors, self.compute_dtype)))


@register
class TrainableStoppedBasisProjection(NonNegativeProjection):
    """Bug: the basis is built as a *trainable* weight, read through ``tf.stop_gradient``: it
    gets no gradient and never moves, but it is listed in ``trainable_weights``, so every
    optimizer carries slots for it and a regulariser or weight decay would move it.
    Caught by test_basis_never_changes_under_training_and_gets_no_gradient."""

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

    def call(self, inputs):
        coefficients = self._coefficients(inputs)
        return self._contract(coefficients, tf.stop_gradient(tf.cast(self.basis_vectors, self.compute_dtype)))


@register
class DeadInitProjection(NonNegativeProjection):
    """Bug: ``projection_weights`` initialised to zeros ("start from no contribution"): every
    coefficient is relu(0) = 0, every gradient is 0, and the layer never wakes up.
    Caught by test_freshly_built_layer_is_alive."""

    def __init__(self, basis_vectors, kernel_initializer="zeros", **kwargs):
        super().__init__(basis_vectors, kernel_initializer=kernel_initializer, **kwargs)


@register
class SquareTransposedProjection(NonNegativeProjection):
    """Bug: the how-to's transposed basis survives for square bases (``k == d``), where the
    shapes still fit: reconstructs from the columns. Non-square bases are right.
    Caught by test_equals_reference (a square explicit example)."""

    def call(self, inputs):
        coefficients = self._coefficients(inputs)
        basis = tf.cast(self.basis_vectors, self.compute_dtype)
        if self.num_basis_vectors == self.basis_dim:
            basis = tf.transpose(basis)
        return self._contract(coefficients, basis)


@register
class SlightlyLeakyProjection(NonNegativeProjection):
    """Bug: a leaky ReLU with slope 1e-3 ("to avoid dead units"): negative coefficients of a
    thousandth of the pre-activation. Caught by test_equals_reference."""

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        pre = self._contract(x, tf.cast(self.projection_weights, self.compute_dtype))
        return tf.nn.leaky_relu(pre, alpha=1e-3)


@register
class Bfloat16BasisProjection(NonNegativeProjection):
    """Bug: the basis is rounded through bfloat16 in the call (a "memory-saving" cast): off by
    up to 0.4% for bases that are not exactly bfloat16. Caught by test_equals_reference."""

    def call(self, inputs):
        coefficients = self._coefficients(inputs)
        basis = tf.cast(tf.cast(self.basis_vectors, tf.bfloat16), self.compute_dtype)
        return self._contract(coefficients, basis)


@register
class TimeMajorFlattenProjection(NonNegativeProjection):
    """Bug: for inputs of rank 3, (batch, time, n) is flattened time-major and the
    coefficients reshaped back batch-major: the rows are scrambled unless batch or time is 1.
    Rank 2 is right. Caught by test_equals_reference (the (2, 3, 5) explicit example)."""

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        weights = tf.cast(self.projection_weights, self.compute_dtype)
        if x.shape.rank == 2:
            return tf.nn.relu(tf.matmul(x, weights))
        time_major = tf.transpose(x, [1, 0, *range(2, x.shape.rank)])
        flat = tf.matmul(tf.reshape(time_major, (-1, x.shape[-1])), weights)
        return tf.nn.relu(tf.reshape(flat, tf.concat([tf.shape(x)[:-1], [weights.shape[-1]]], 0)))


@register
class LinearCoefficientsMethodProjection(NonNegativeProjection):
    """Bug: the public ``coefficients()`` returns the pre-activations ``x @ W`` (the ReLU is
    applied only inside ``call``): the output is right, the documented API is not.
    Caught by test_coefficients_are_nonnegative."""

    def coefficients(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        self._checked_shape(inputs.shape)
        if not self.built:
            self.build(inputs.shape)
        x = tf.cast(inputs, self.compute_dtype)
        return self._contract(x, tf.cast(self.projection_weights, self.compute_dtype))


@register
class FrozenWeightsProjection(NonNegativeProjection):
    """Bug: ``projection_weights`` is read through ``tf.stop_gradient`` (copied from the
    basis's handling): right forward values, no gradient, the layer never trains.
    Caught by test_basis_never_changes_under_training_and_gets_no_gradient (W does not move)
    or test_tape_gradient_equals_the_reference_vjp."""

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        weights = tf.stop_gradient(tf.cast(self.projection_weights, self.compute_dtype))
        return tf.nn.relu(self._contract(x, weights))


LAYER = "nonnegative_projection"

ZOO = {
    "projection_abs_coefficients": (LAYER, AbsCoefficientsProjection),
    "projection_relu_after_reconstruction": (LAYER, ReluAfterReconstructionProjection),
    "projection_trainable_stopped_basis": (LAYER, TrainableStoppedBasisProjection),
    "projection_dead_init": (LAYER, DeadInitProjection),
    "projection_square_transposed": (LAYER, SquareTransposedProjection),
    "projection_slightly_leaky": (LAYER, SlightlyLeakyProjection),
    "projection_bfloat16_basis": (LAYER, Bfloat16BasisProjection),
    "projection_time_major_flatten": (LAYER, TimeMajorFlattenProjection),
    "projection_linear_coefficients_method": (LAYER, LinearCoefficientsMethodProjection),
    "projection_frozen_weights": (LAYER, FrozenWeightsProjection),
}
