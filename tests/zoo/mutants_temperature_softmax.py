"""Subtle mutants of TemperatureSoftmax: each is the production layer with one plausible bug.

``layercheck zoo tests/zoo/mutants_temperature_softmax.py`` runs the gate against each entry
of :data:`ZOO`; every one must be caught (tests/test_zoo_command.py). :data:`AWAITING_PROPERTY`
holds the mutants the gate does not catch yet, each with the property it lacks.

Most are right in the common case (``T = 1``, rank-2 inputs, moderate logits, a temperature
above its floor) and wrong only where a property looks: that is what makes them worth having.
Each docstring says the bug and the property expected to catch it first.

The forward pass is :class:`_Steps`, the production ``call`` cut into the steps a mutant
replaces (the clip of infinite inputs, the effective temperature, the shifted softmax).
"""

import keras
import numpy as np
import tensorflow as tf

from layercheck.layers import TemperatureSoftmax, _validation
from layercheck.layers.temperature_softmax import _UNDERFLOW_EXPONENT, MinValue, _math_dtype

register = keras.saving.register_keras_serializable(package="layercheck_zoo")


class _Steps(TemperatureSoftmax):
    """The production forward pass, in replaceable steps (not an entry: it is correct)."""

    axis = -1

    def call(self, inputs):
        math_dtype = self._math_dtype()
        x = tf.cast(inputs, self.compute_dtype)
        largest = float(x.dtype.max)
        x = tf.cast(tf.clip_by_value(x, -largest, largest), math_dtype)
        temperature = self._effective_temperature(
            tf.cast(self.temperature, math_dtype), tf.constant(self._floor(), math_dtype)
        )
        return tf.cast(self._softmax(x, temperature), self.compute_dtype)

    def _math_dtype(self):
        return _math_dtype(self.compute_dtype)

    def _floor(self):
        return self.min_temperature

    def _effective_temperature(self, temperature, floor):
        return tf.maximum(temperature, floor)

    def _softmax(self, x, temperature):
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=self.axis, keepdims=True))
        z = tf.maximum(z, -_UNDERFLOW_EXPONENT[x.dtype.name] * temperature)
        return tf.nn.softmax(z / temperature, axis=self.axis)


@register
class SecondAxisSoftmax(_Steps):
    """Bug: normalises over axis 1, which is the last axis only for rank-2 inputs: on rank-3
    inputs (batch, time, classes) the probabilities sum to one over time.
    Caught by test_equals_reference (rank-3 examples)."""

    axis = 1


@register
class MultipliedTemperatureSoftmax(_Steps):
    """Bug: ``softmax(z * T)`` instead of ``softmax(z / T)``: right at ``T = 1`` (the default),
    inverted sharpening everywhere else. Caught by test_equals_reference."""

    def _softmax(self, x, temperature):
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=-1, keepdims=True))
        return tf.nn.softmax(z * temperature, axis=-1)


@register
class UnshiftedExpSoftmax(_Steps):
    """Bug: ``exp(x / T) / sum(exp(x / T))`` written out without subtracting the row maximum:
    overflows to ``inf / inf = NaN`` once ``x / T`` passes ~88 (logits of 30 at ``T < 0.34``).
    Caught by test_equals_reference."""

    def _softmax(self, x, temperature):
        e = tf.exp(x / temperature)
        return e / tf.reduce_sum(e, axis=-1, keepdims=True)


@register
class MeanShiftedSoftmax(_Steps):
    """Bug: subtracts the row *mean* (not the maximum) and lets ``tf.nn.softmax`` do the rest:
    fine for ordinary logits, but ``(x - mean) / T`` overflows to ``inf`` for extreme ones
    (``inf - inf = NaN`` inside the softmax). Caught by test_finite_at_extreme_logits."""

    def _softmax(self, x, temperature):
        z = x - tf.reduce_mean(x, axis=-1, keepdims=True)
        return tf.nn.softmax(z / temperature, axis=-1)


@register
class DivideThenShiftSoftmax(_Steps):
    """Bug: divides by T first and subtracts the maximum of ``x / T`` after: the same in exact
    arithmetic, but ``x / T`` overflows to ``inf`` for extreme logits at small T, and
    ``inf - inf`` is NaN. Caught by test_finite_at_extreme_logits."""

    def _softmax(self, x, temperature):
        scaled = x / temperature
        z = scaled - tf.stop_gradient(tf.reduce_max(scaled, axis=-1, keepdims=True))
        return tf.nn.softmax(z, axis=-1)


@register
class NoForwardFloorSoftmax(_Steps):
    """Bug: the forward pass uses ``T`` as stored, trusting the ``MinValue`` constraint alone:
    a temperature assigned (or loaded) below the floor is used as is, and gets a gradient.
    Caught by test_at_the_floor_the_gradient_reaches_the_temperature (the loss is not flat
    below the floor) and test_a_temperature_assigned_below_the_floor_gets_no_gradient."""

    def _effective_temperature(self, temperature, floor):
        return temperature


@register
class TenthFloorSoftmax(_Steps):
    """Bug: the floor is applied at a tenth of ``min_temperature`` (constraint and forward
    clamp), e.g. a unit slip (1e-4 for 1e-3): the temperature trains below the documented
    floor. Caught by test_temperature_stays_at_or_above_the_floor_after_optimizer_steps."""

    def _floor(self):
        return self.min_temperature / 10

    def build(self, input_shape):
        super().build(input_shape)
        self.temperature.constraint = MinValue(self._floor())


@register
class ConstantInverseTemperatureSoftmax(_Steps):
    """Bug: multiplies by a precomputed ``1 / T`` read through ``tf.stop_gradient`` (a
    "constant" inverse temperature): the forward values and dL/dx are right, dL/dT is 0, so
    the temperature never learns. Caught by test_tape_gradient_equals_the_reference_vjp."""

    def _softmax(self, x, temperature):
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=-1, keepdims=True))
        z = tf.maximum(z, -_UNDERFLOW_EXPONENT[x.dtype.name] * temperature)
        return tf.nn.softmax(z * tf.stop_gradient(1.0 / temperature), axis=-1)


@register
class UntrackedTemperatureSoftmax(_Steps):
    """Bug: the temperature is a bare ``tf.Variable`` (trainable, constrained), not a Keras
    weight: a tape differentiates it, but it is missing from ``layer.trainable_weights`` (Keras
    training never moves it) and from ``.keras`` / weights files.
    Caught by test_an_optimizer_step_moves_only_the_trainable_weights or a round trip."""

    def build(self, input_shape):
        self._checked_shape(input_shape)
        self.temperature = tf.Variable(
            np.float64(self.initial_temperature),
            dtype=self.variable_dtype,
            trainable=True,
            name="temperature",
            constraint=MinValue(self.min_temperature),
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self.num_classes})


@register
class FromConfigDropsFloorSoftmax(_Steps):
    """Bug: ``from_config`` rebuilds the layer without ``min_temperature`` (a hand-written
    ``from_config`` that lists the arguments and forgot one): a loaded layer has the default
    floor 1e-3, or fails to load when its temperature is below that.
    Caught by test_get_config_is_plain_json_and_from_config_round_trips."""

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("min_temperature", None)
        return cls(**config)


@register
class UncheckedNumClassesSoftmax(_Steps):
    """Bug: ``num_classes`` is stored but never compared with the inputs (no check at build,
    no input spec): inputs of another width are silently normalised over their own width.
    Caught by test_num_classes_must_match_the_inputs_last_dimension."""

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = None

    def _checked_shape(self, input_shape):
        return _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2)


@register
class Float32MathSoftmax(_Steps):
    """Bug: always computes in float32 ("16-bit policies need float32, so use it for all"):
    a float64 layer loses precision, and its extreme logits (up to 1e300) overflow to ``inf``
    in the cast. Caught by test_finite_at_extreme_logits (float64 examples)."""

    def _math_dtype(self):
        return "float32"


@register
class NoUnderflowClampSoftmax(_Steps):
    """Bug: drops the clamp of ``z`` at ``-L * T`` (the forward values do not change: such
    entries underflow to 0 either way). The backward pass of ``z / T`` then computes
    ``0 * (-z / T**2)`` for an underflowed entry, and ``-z / T**2`` overflows to ``inf`` for
    extreme logits at small T: dL/dT is NaN. Caught by the gradient at extreme logits
    (test_gradients.py, property 10)."""

    def _softmax(self, x, temperature):
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=-1, keepdims=True))
        return tf.nn.softmax(z / temperature, axis=-1)


@register
class DefaultTemperatureTwoSoftmax(_Steps):
    """Bug: the default ``initial_temperature`` is 2.0, not the documented 1.0: every layer
    made with the defaults starts twice as flat, and the properties that draw a temperature
    never see the default. Caught by test_documented_defaults_are_the_defaults."""

    def __init__(self, num_classes, initial_temperature=2.0, min_temperature=1e-3, **kwargs):
        super().__init__(num_classes, initial_temperature=initial_temperature, min_temperature=min_temperature, **kwargs)


LAYER = "temperature_softmax"

ZOO = {
    "softmax_second_axis": (LAYER, SecondAxisSoftmax),
    "softmax_multiplied_temperature": (LAYER, MultipliedTemperatureSoftmax),
    "softmax_unshifted_exp": (LAYER, UnshiftedExpSoftmax),
    "softmax_mean_shifted": (LAYER, MeanShiftedSoftmax),
    "softmax_divide_then_shift": (LAYER, DivideThenShiftSoftmax),
    "softmax_no_forward_floor": (LAYER, NoForwardFloorSoftmax),
    "softmax_tenth_floor": (LAYER, TenthFloorSoftmax),
    "softmax_constant_inverse_temperature": (LAYER, ConstantInverseTemperatureSoftmax),
    "softmax_untracked_temperature": (LAYER, UntrackedTemperatureSoftmax),
    "softmax_from_config_drops_floor": (LAYER, FromConfigDropsFloorSoftmax),
    "softmax_unchecked_num_classes": (LAYER, UncheckedNumClassesSoftmax),
    "softmax_float32_math": (LAYER, Float32MathSoftmax),
    "softmax_no_underflow_clamp": (LAYER, NoUnderflowClampSoftmax),
    "softmax_default_temperature_two": (LAYER, DefaultTemperatureTwoSoftmax),
}

#: Mutants the gate does not catch yet, each with the property it lacks (none at present).
#: An entry moves into ZOO when its property lands.
AWAITING_PROPERTY = {}
