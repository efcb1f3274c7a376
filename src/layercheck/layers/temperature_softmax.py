"""TemperatureSoftmax: a softmax over the last axis with a trainable, floored temperature.

For inputs ``x`` of shape (..., num_classes) the layer returns::

    T_eff = max(T, min_temperature)
    z     = (x - max(x, axis=-1)) / T_eff
    y     = softmax(z, axis=-1)          # y_i = exp(z_i) / sum_j exp(z_j)

which equals ``softmax(x / T_eff)``: softmax is invariant to adding a constant to every entry
of a row. ``T`` is the scalar weight ``temperature``.

The floor
---------
A temperature of zero divides by zero, and a negative one flips the ranking of the classes.
Nothing in gradient descent keeps ``T`` positive: a loss that rewards sharper outputs pushes
``T`` down by ``lr * dL/dT`` per step, past zero for a large enough step. Two things keep
``T_eff >= min_temperature > 0``:

* the weight carries a :class:`MinValue` constraint, which Keras 3 optimizers apply after
  every update (``variable.assign(variable.constraint(variable))``), so the stored value
  stays ``>= min_temperature`` under training;
* the forward pass clamps again with ``tf.maximum(T, min_temperature)``, so a value assigned
  directly to the weight (or loaded from elsewhere) cannot produce NaN. ``tf.maximum`` sends
  the gradient to its first argument at a tie, so at ``T == min_temperature`` the gradient
  still reaches ``T``; below the floor ``T`` gets no gradient from the forward pass.

Numerical stability
-------------------
The row maximum is subtracted *before* dividing by ``T_eff``: ``z <= 0`` with ``z = 0`` at the
row's maximum, so the softmax never sees an overflowing exponent, whatever the temperature.
Dividing first would turn logits of 1e30 at ``T = 1e-3`` into ``inf`` and ``inf - inf = NaN``.
Infinite inputs are clipped to the largest finite value of the compute dtype first (a no-op
for finite inputs): under ``mixed_float16`` Keras casts a float32 logit of 1e5 to ``inf``.
A NaN input still gives NaN in its row.
The maximum is wrapped in ``stop_gradient``; softmax's shift invariance makes the gradient the
same as without the shift. Entries so far below the maximum that their probability
underflows to exactly zero are clamped at ``-L * T_eff`` (``L`` chosen so that ``exp(-L)`` is
zero in the working dtype): the forward value is unchanged (zero either way), and the backward
pass avoids ``0 * inf`` in ``dL/dT`` from the huge ``-z / T**2`` of such an entry.

For 16-bit compute dtypes (``mixed_float16``, ``mixed_bfloat16``, ``float16``, ``bfloat16``)
the arithmetic is done in float32 and the output cast back to the compute dtype: float16
cannot represent a temperature floor much below 6e-5 as a normal number, and ``z / T`` is
where the precision of the output is decided. Inputs are first cast to the compute dtype
(Keras does it for float inputs; the layer does it for integer ones), so the result depends
only on what a compute-dtype input can hold.

Differences from the how-to this layer comes from: the how-to divided the raw logits by the
raw temperature (NaN for ``T = 0`` and for a tiny ``T`` with large logits), left the
trainable temperature free to go to zero or below, and never checked ``num_classes``
against its arguments or its inputs.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from layercheck.layers import _validation

# Smallest positive normal number of each float dtype: a temperature below it may be flushed
# to zero (XLA on GPU flushes subnormals), and then 0 / 0 gives NaN at the row's maximum.
_SMALLEST_NORMAL = {
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
    "float32": 2.0**-126,
    "float64": 2.0**-1022,
}

# exp(-L) is zero in the dtype: L is twice -log of the smallest subnormal (2**-149, 2**-1074).
# Twice leaves room for an implementation that rounds or computes exp(z - logsumexp(z)).
_UNDERFLOW_EXPONENT = {
    "float32": 2 * 149 * 0.6931471805599453,
    "float64": 2 * 1074 * 0.6931471805599453,
}


def smallest_floor(dtype):
    """The smallest ``min_temperature`` the layer accepts for a variable or math dtype.

    The smallest normal number, and for a math dtype also ``sqrt(L / largest)``: the forward
    pass clamps ``z`` at ``-L * T``, and the chain rule through ``z / T`` gives
    ``dL/dT = -sum(g * z) / T**2``. XLA evaluates it with ``T * T``, which underflows to 0 below
    that floor, and eagerly ``(z / T) / T`` overflows below ``L / largest``; either way an
    underflowed probability's zero gradient times inf makes ``dL/dT`` NaN. In float32 the
    floor is 7.8e-19 (1e-3 by default). Floors down to the smallest normal (1.2e-38) were
    accepted until 2026-12-02 and gave a silent NaN gradient under XLA: found when the gate's
    examples were widened to every documented floor.
    """
    floor = _SMALLEST_NORMAL[dtype]
    if dtype in _UNDERFLOW_EXPONENT:
        floor = max(floor, math.sqrt(_UNDERFLOW_EXPONENT[dtype] / float(np.finfo(dtype).max)))
    return floor


def _math_dtype(compute_dtype):
    """The dtype the softmax is computed in: float64 stays, everything else is float32."""
    return "float64" if compute_dtype == "float64" else "float32"


@keras.saving.register_keras_serializable(package="layercheck")
class MinValue(keras.constraints.Constraint):
    """Clip a weight from below: ``w -> max(w, min_value)``.

    Args:
        min_value: finite real number, the smallest value the weight may hold.
    """

    def __init__(self, min_value):
        self.min_value = _validation.finite_real("min_value", min_value)

    def __call__(self, w):
        # tf.constant converts the Python float straight to w's dtype; keras.ops.cast goes
        # through float32 first, which moves a float64 floor of 1e-3 to 1.00000005e-3.
        return keras.ops.maximum(w, tf.constant(self.min_value, dtype=w.dtype))

    def get_config(self):
        return {"min_value": self.min_value}


@keras.saving.register_keras_serializable(package="layercheck")
class TemperatureSoftmax(keras.layers.Layer):
    """``softmax((x - max(x)) / max(T, min_temperature))`` over the last axis.

    Inputs have shape (..., num_classes) with rank >= 2; the output has the same shape, each
    row a probability vector. See the module docstring for the floor and the stability trick.

    Args:
        num_classes: positive int, the size of the last axis of the inputs.
        initial_temperature: finite real ``>= min_temperature``, the initial value of the
            trainable scalar weight ``temperature``.
        min_temperature: finite real ``> 0``, the floor of the temperature. It must be at
            least the smallest normal number of the layer's float dtypes (6.1e-5 for a pure
            float16 policy) and at least :func:`smallest_floor` of its math dtype (7.8e-19
            for float32, 2.9e-153 for float64: below it ``dL/dT`` is NaN under XLA).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).
    """

    def __init__(self, num_classes, initial_temperature=1.0, min_temperature=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _validation.positive_int("num_classes", num_classes)
        self.min_temperature = _validation.finite_real("min_temperature", min_temperature)
        if self.min_temperature <= 0.0:
            raise ValueError(f"min_temperature must be > 0, got {min_temperature!r}")
        self.initial_temperature = _validation.finite_real("initial_temperature", initial_temperature)
        if self.initial_temperature <= 0.0:
            raise ValueError(f"initial_temperature must be > 0, got {initial_temperature!r}")
        if self.initial_temperature < self.min_temperature:
            raise ValueError(
                f"initial_temperature must be >= min_temperature, got "
                f"initial_temperature={initial_temperature!r} < min_temperature={min_temperature!r}"
            )
        self._check_dtypes()
        self.temperature = None

    def build(self, input_shape):
        self._checked_shape(input_shape)
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            # A float64 scalar: Constant(python_float) converts through float32, which would
            # round the initial temperature of a float64 layer.
            # Never below the held floor: a bfloat16 variable rounds 1e-3 down to 9.9945e-4.
            initializer=keras.initializers.Constant(np.float64(max(self.initial_temperature, self._held_floor()))),
            trainable=True,
            # The layer casts the temperature itself, to float32 under 16-bit policies: Keras's
            # autocast would round it to float16 first.
            autocast=False,
            constraint=MinValue(self._held_floor()),
        )
        # Later calls with another last dimension fail in Keras's input check, before any op.
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self.num_classes})

    def call(self, inputs):
        math_dtype = _math_dtype(self.compute_dtype)
        # Integer inputs are not cast by Keras; casting through the compute dtype keeps the
        # result a function of what a compute-dtype input can hold.
        x = tf.cast(inputs, self.compute_dtype)
        # An infinite logit would give inf - inf = NaN below. Float32 logits beyond 65504 are
        # infinite once Keras casts them to float16, so +-inf count as the largest finite value.
        largest = float(x.dtype.max)
        x = tf.cast(tf.clip_by_value(x, -largest, largest), math_dtype)
        temperature = tf.maximum(
            tf.cast(self.temperature, math_dtype), tf.constant(self._held_floor(), math_dtype)
        )
        z = x - tf.stop_gradient(tf.reduce_max(x, axis=-1, keepdims=True))
        z = tf.maximum(z, -_UNDERFLOW_EXPONENT[math_dtype] * temperature)
        probabilities = tf.nn.softmax(z / temperature, axis=-1)
        return tf.cast(probabilities, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self._checked_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "initial_temperature": self.initial_temperature,
                "min_temperature": self.min_temperature,
            }
        )
        return config

    def _checked_shape(self, input_shape):
        shape = _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2)
        if shape[-1] != self.num_classes:
            raise ValueError(
                f"TemperatureSoftmax {self.name!r} has num_classes={self.num_classes} but its "
                f"inputs have last dimension {shape[-1]} (input shape {shape})"  # pragma: no mutate (message wording only)
            )
        return shape

    def _held_floor(self):
        """The floor as the variable dtype holds it: the smallest value of that dtype at or
        above ``min_temperature``. The constraint and the forward clamp both use it, so a
        temperature pushed to the floor sits exactly at the clamp's tie (where the gradient
        reaches it) in every dtype; rounding to nearest would put a bfloat16 floor below the
        float32 clamp (1e-3 -> 9.9945e-4) and cut the gradient there."""
        dtype = np.dtype(tf.as_dtype(self.variable_dtype).as_numpy_dtype)
        held = np.array(self.min_temperature, dtype=dtype)
        if float(held) < self.min_temperature:
            held = np.nextafter(held, np.array(np.inf, dtype=dtype))
        return float(held)

    def _check_dtypes(self):
        """Reject dtype policies in which the temperature cannot be held as a positive normal."""
        for role, dtype in (("variable", self.variable_dtype), ("compute", self.compute_dtype)):
            if dtype not in _SMALLEST_NORMAL:
                raise ValueError(
                    f"TemperatureSoftmax {self.name!r} needs a floating-point dtype policy, "
                    f"got {role} dtype {dtype}"
                )
        math_dtype = _math_dtype(self.compute_dtype)
        for dtype in {self.variable_dtype, math_dtype}:
            if self.min_temperature < _SMALLEST_NORMAL[dtype]:
                raise ValueError(
                    f"min_temperature={self.min_temperature!r} is below the smallest normal "
                    f"{dtype} number ({_SMALLEST_NORMAL[dtype]!r}); it could be flushed to zero"  # pragma: no mutate (message wording only)
                )
            if self.min_temperature < smallest_floor(dtype):
                raise ValueError(
                    f"min_temperature={self.min_temperature!r} is below {smallest_floor(dtype)!r}, the "
                    f"smallest floor at which the gradient with respect to the temperature stays finite "
                    f"in {dtype}"  # pragma: no mutate (message wording only)
                )
            largest = float(tf.as_dtype(dtype).max)
            if self.initial_temperature > largest:
                raise ValueError(
                    f"initial_temperature={self.initial_temperature!r} overflows {dtype} "
                    f"(largest finite value {largest!r})"
                )
