"""Correct implementations of the three production layers, written differently: the gate must
PASS every entry of :data:`EQUIVALENT` (the false-alarm counterpart of the bug zoo), and fail
the entries of :data:`REFUSED_BY_THE_CONTRACT`, which equal the layer in exact arithmetic but
break a clause of the contract that demands more than the math.

Each entry computes the documented mathematics by another route than the production code
(another composition of Keras layers, another formulation of the same products, another
order of reduction, an optional method left out) and keeps the documented contract around it:
the constructor and its checks (written here independently, with messages that name the
argument), the weight attributes the contract names (as tracked Keras weights, or as
properties that return a tracked sublayer's weight), plain-JSON configs with the documented
defaults, and, for the memory cell, the state's documented semantics. Each docstring says how
the entry differs and why it is still correct; where an honest composition cannot keep a
clause of the contract, the docstring says so as a documented exception.

Run one entry through the gate::

    CI=true .venv/bin/pytest properties -p no:xdist -q -p no:cacheprovider --hypothesis-profile=ci \
        --layercheck-devices=CPU:0,CPU:1 --layercheck-layer=NAME \
        --layer-impl=NAME=tests.zoo.equivalents:ClassName

Nothing here imports the production layers: the contract plumbing is written anew, so a
property that passes an entry does not pass it merely because it shares production code.
"""

import math
import numbers
import reprlib

import keras
import numpy as np
import tensorflow as tf

from reference import temperature_softmax as reference_softmax

register = keras.saving.register_keras_serializable(package="layercheck_equivalents")

# -- argument checks, written anew -----------------------------------------------------------


def _count(name, value):
    """A positive integer (not a bool): ``TypeError`` for another type, ``ValueError`` if < 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r} ({type(value).__name__})")
    if int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _finite_float(name, value):
    """A finite real number (not a bool) as a Python float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return value


def _short(value, limit=80):
    shortener = reprlib.Repr()
    shortener.maxlist = shortener.maxtuple = 5
    shortener.maxlevel = 3
    shortener.maxstring = shortener.maxother = limit
    text = shortener.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _input_shape(layer, input_shape, *, rank, exact=False):
    """The input shape as a tuple, its rank and a known last dimension checked."""
    shape = tuple(input_shape)
    wanted = f"rank {rank}" if exact else f"rank {rank} or more"
    if len(shape) < rank or (exact and len(shape) != rank):
        raise ValueError(f"{type(layer).__name__} {layer.name!r} takes inputs of {wanted}, got input shape {shape}")
    if shape[-1] is None:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} needs the last dimension of its inputs at build, "
            f"got input shape {shape}"
        )
    return shape


def _floating(layer):
    for role, dtype in (("variable", layer.variable_dtype), ("compute", layer.compute_dtype)):
        if dtype not in ("float16", "bfloat16", "float32", "float64"):
            raise ValueError(f"{type(layer).__name__} {layer.name!r} needs a floating-point {role} dtype, got {dtype}")


# ================================================================================================
# TemperatureSoftmax
# ================================================================================================

#: The smallest floor per dtype, as the contract gives it (docs/temperature_softmax.md, decision 7).
_SMALLEST_FLOOR = {name: reference_softmax.smallest_floor(name) for name in ("float16", "bfloat16", "float32", "float64")}

#: ``-2 log(smallest subnormal)``: ``exp`` of anything below ``-L`` is exactly 0 in the dtype.
_DEAD_Z = {name: -2.0 * math.log(float(np.finfo(np.dtype(name)).smallest_subnormal)) for name in ("float32", "float64")}


@register
class AtLeast(keras.constraints.Constraint):
    """``w -> w`` where ``w >= floor``, else ``floor`` (a ``tf.where``, not a maximum)."""

    def __init__(self, floor):
        self.floor = _finite_float("floor", floor)

    def __call__(self, w):
        floor = tf.constant(self.floor, dtype=w.dtype)
        return tf.where(w >= floor, w, floor)

    def get_config(self):
        return {"floor": self.floor}


class _TemperatureContract(keras.layers.Layer):
    """The documented contract of ``TemperatureSoftmax`` without the softmax itself (entries
    give ``_probabilities``) and without ``compute_output_shape`` (entries add it)."""

    def __init__(self, num_classes, initial_temperature=1.0, min_temperature=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _count("num_classes", num_classes)
        self.min_temperature = _finite_float("min_temperature", min_temperature)
        if not self.min_temperature > 0.0:
            raise ValueError(f"min_temperature must be positive, got {min_temperature!r}")
        self.initial_temperature = _finite_float("initial_temperature", initial_temperature)
        if not self.initial_temperature > 0.0:
            raise ValueError(f"initial_temperature must be positive, got {initial_temperature!r}")
        if self.initial_temperature < self.min_temperature:
            raise ValueError(
                f"initial_temperature={initial_temperature!r} is below min_temperature={min_temperature!r}"
            )
        _floating(self)
        for dtype in sorted({self.variable_dtype, self._math}):
            if self.min_temperature < _SMALLEST_FLOOR[dtype]:
                raise ValueError(
                    f"min_temperature={self.min_temperature!r} is below the smallest {dtype} floor {_SMALLEST_FLOOR[dtype]!r}"
                )
            if self.initial_temperature > float(tf.as_dtype(dtype).max):
                raise ValueError(f"initial_temperature={self.initial_temperature!r} does not fit in {dtype}")
        self.temperature = None

    @property
    def _math(self):
        return "float64" if self.compute_dtype == "float64" else "float32"

    def _floor(self):
        """The smallest value of the variable dtype at or above ``min_temperature``."""
        numpy_dtype = tf.as_dtype(self.variable_dtype).as_numpy_dtype
        held = np.asarray(self.min_temperature).astype(numpy_dtype)
        while float(held) < self.min_temperature:
            held = np.nextafter(held, np.asarray(np.inf, numpy_dtype))
        return float(held)

    def build(self, input_shape):
        self._classes_of(input_shape)
        floor = self._floor()
        start = max(self.initial_temperature, floor)
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=lambda shape, dtype=None: tf.cast(tf.constant(start, tf.float64), dtype),
            trainable=True,
            autocast=False,
            constraint=AtLeast(floor),
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self.num_classes})

    def _classes_of(self, input_shape):
        shape = _input_shape(self, input_shape, rank=2)
        if shape[-1] != self.num_classes:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: num_classes={self.num_classes}, but the inputs' "
                f"last dimension is {shape[-1]} (input shape {shape})"
            )
        return shape

    def call(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        top = x.dtype.max
        x = tf.cast(tf.clip_by_value(x, -top, top), self._math)
        t = tf.cast(self.temperature, self._math)
        floor = tf.constant(self._floor(), self._math)
        t_eff = tf.where(t >= floor, t, floor)  # at the tie the gradient reaches t
        return tf.cast(self._probabilities(x, t_eff), self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "initial_temperature": self.initial_temperature,
            "min_temperature": self.min_temperature,
        }


class _WithOutputShape:
    def compute_output_shape(self, input_shape):
        return self._classes_of(input_shape)


def _shifted(x, t_eff):
    """``max(x - max x, -L * T)``, the row maximum a constant: the production's two stability
    steps, needed by any formulation that must stay finite at extreme logits."""
    d = x - tf.stop_gradient(keras.ops.max(x, axis=-1, keepdims=True))
    return keras.ops.maximum(d, -_DEAD_Z[x.dtype.name] * t_eff)


@register
class DivideThenKerasSoftmax(_WithOutputShape, _TemperatureContract):
    """``keras.layers.Softmax()(x / T_eff)``: a Keras ``Softmax`` sublayer (in the math dtype)
    on the logits divided by the effective temperature, with no explicit shift and no
    underflow clamp.

    Why correct: softmax is shift invariant and ``tf.nn.softmax`` (what the Keras layer calls)
    subtracts the row maximum internally, so for finite ``x / T`` the values are the
    production's. The gradient differs in form only: autodiff of ``z = x / T`` gives
    ``dL/dT = -sum(dL/dx * x) / T`` (not ``x - max x``), equal in exact arithmetic because each
    row of ``dL/dx`` sums to zero; its float32 rounding scales with ``|x| / T`` instead of
    ``|z|``, which the spec's ``vjp_scales`` does not allow (it would blind the gradient check
    on rows of large equal logits, where a shifting layer is exact).

    Documented exception (the contract rightly demands more than the math; decision 3 of
    docs/temperature_softmax.md, "shift before dividing"): rounding ``x / T`` in float32 errs
    by ``eps |x| / T``, not ``eps |x - max x| / T``, so wherever ``|x| / T`` is large and the
    spread of the row is not, this is less accurate than the contract allows: the output on
    ``x + c`` differs from that on ``x`` (2.3e-5 relative for ``[0, 1] - 1024`` at ``T = 1.78``),
    ``dL/dx`` at ``x / T ~ 1500..6000`` is off by 1e-4..2e-4 relative, and ``dL/dT`` of a row of
    equal logits of 29 at the floor comes out -0.0156 where the reference says +0.108 (wrong
    sign). With logits near the dtype's largest value at a small ``T``, ``x / T`` overflows and
    the row is NaN (float64 too). Gate run: 11 failures, all of these.
    """

    def __init__(self, num_classes, initial_temperature=1.0, min_temperature=1e-3, **kwargs):
        super().__init__(num_classes, initial_temperature, min_temperature, **kwargs)
        self._softmax = keras.layers.Softmax(axis=-1, dtype=self._math, name="softmax")

    def _probabilities(self, x, t_eff):
        return self._softmax(x / t_eff)


@register
class WideUnshiftedSoftmax(_WithOutputShape, _TemperatureContract):
    """``softmax(x / T_eff)`` with no explicit shift and no clamp, computed in float64 when the
    math dtype is float32 (float32, mixed and 16-bit policies), then rounded to the compute
    dtype.

    Why correct: every float32 logit divided by any float32-normal ``T`` fits in float64
    (3.4e38 / 1.2e-38 < 1e77), so nothing overflows, the internal shift of ``tf.nn.softmax``
    keeps ``exp`` finite, and an underflowed probability contributes ``0 * (-x / T**2)`` with
    a finite factor, so no NaN without the clamp. The output is the float64 softmax rounded
    once, at least as accurate as the production's. ``dL/dT = -sum(dL/dx * x) / T`` in float64.

    For a float64 layer no wider dtype exists: there it shifts by the (constant) row maximum
    and clamps, as the contract's decisions 3 and 5 say.

    Refused by the contract (decision 3, "shift before dividing"): its values are right, but
    ``dL/dT``, summed unshifted, rounds by float64's eps times ``sum |dL/dx * x| / T``, which at
    logits near float32's largest value and a small ``T`` is 1e27 where the exact gradient is
    0 (the gate: ``dL/dT`` got -4.95e27, expected -0, at extreme logits). A training step would
    throw the temperature anywhere.
    """

    def _probabilities(self, x, t_eff):
        if x.dtype == tf.float64:
            return tf.nn.softmax(_shifted(x, t_eff) / t_eff, axis=-1)
        wide = tf.cast(x, tf.float64) / tf.cast(t_eff, tf.float64)
        return tf.cast(keras.ops.softmax(wide, axis=-1), x.dtype)


class _ExpOfLogSoftmax(_TemperatureContract):
    def _probabilities(self, x, t_eff):
        return keras.ops.exp(keras.ops.log_softmax(_shifted(x, t_eff) / t_eff, axis=-1))


@register
class ExpOfLogSoftmax(_WithOutputShape, _ExpOfLogSoftmax):
    """``exp(log_softmax(z / T_eff))`` with keras.ops, ``z`` the shifted, clamped logits.

    Why correct: ``exp(log_softmax(u)) = softmax(u)``; ``log_softmax`` computes
    ``u - logsumexp(u)`` with its own shift, so it is finite for the shifted ``z``; each output
    is ``exp`` of a non-positive number, so it lies in [0, 1]. Rounding: the log domain adds an
    absolute error of about ``eps * |u|`` to ``log p``, a relative error of ``eps * |z|`` on
    ``p``, within the documented ``8 eps (|z| + n)`` for small probabilities. The clamp
    constant is written as ``-2 log(smallest subnormal)`` (the production's ``L``), whose
    docstring leaves room for exactly this ``exp(z - logsumexp(z))`` route. The floor and its
    tie are a ``tf.where`` (gradient to ``T`` where ``T >= floor``), the constraint a
    ``tf.where`` too.
    """


@register
class NoOutputShapeSoftmax(_ExpOfLogSoftmax):
    """:class:`ExpOfLogSoftmax` without ``compute_output_shape``, which is optional in Keras 3:
    ``Layer.compute_output_spec`` falls back to tracing ``call`` symbolically, so functional
    models and saving work. Documented exception: anything that calls
    ``compute_output_shape`` directly gets Keras's ``NotImplementedError``."""


@register
class MatmulSummedSoftmax(_WithOutputShape, _TemperatureContract):
    """The softmax written out: ``e = exp(z / T_eff)`` with ``z`` shifted by ``keras.ops.max``
    (a constant) and clamped, then ``e / (e @ ones)``: the row sum is a matrix-vector product
    (Eigen's GEMV order), not ``reduce_sum``.

    Why correct: the same formula as the production's ``tf.nn.softmax`` of the shifted logits;
    only the order of the row sum's additions differs (float32 rounding within ``n eps``). Every
    ``e <= 1`` with ``e = 1`` at the maximum, so the sum is >= 1 and >= each of its terms
    (sums of non-negative floats never fall below a term): outputs lie in [0, 1] exactly,
    ties get bit-equal values, and rows sum to 1 within rounding.
    """

    def _probabilities(self, x, t_eff):
        e = keras.ops.exp(_shifted(x, t_eff) / t_eff)
        ones = tf.ones((self.num_classes, 1), dtype=e.dtype)
        return e / keras.ops.matmul(e, ones)


# ================================================================================================
# NonNegativeProjection
# ================================================================================================


def _basis_array(basis_vectors):
    """A float64 copy of a rectangular, non-empty, finite, real (k, d) basis; else raise."""
    if basis_vectors is None:
        raise TypeError("basis_vectors is None; give k basis vectors of dimension d, shape (k, d)")
    try:
        array = np.asarray(basis_vectors)
    except (ValueError, TypeError):
        raise ValueError(f"basis_vectors is not a rectangular array: {_short(basis_vectors)}") from None
    if array.dtype.kind not in ("i", "u", "f"):
        raise TypeError(f"basis_vectors must hold real numbers, got dtype {array.dtype}: {_short(basis_vectors)}")
    if array.ndim != 2:
        raise ValueError(f"basis_vectors must have rank 2, shape (k, d), got rank {array.ndim} (shape {array.shape})")
    if 0 in array.shape:
        raise ValueError(f"basis_vectors needs k >= 1 vectors of dimension d >= 1, got shape {array.shape}")
    with np.errstate(over="ignore"):
        array = array.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise ValueError(f"basis_vectors[{i}][{j}] is {array[i, j]!r}; every entry must be finite")
    return array


class _ProjectionContract(keras.layers.Layer):
    """The documented contract of ``NonNegativeProjection``: the basis and its checks, the
    non-trainable ``basis_vectors``, the config, ``coefficients``. Entries give
    ``_make_projection`` / ``projection_weights`` and ``_pre`` (``x @ W``, activated) and
    ``_combine`` (``c @ B``)."""

    def __init__(self, basis_vectors, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self._basis = _basis_array(basis_vectors)
        _floating(self)
        biggest = float(np.max(np.abs(self._basis)))
        for dtype in (self.variable_dtype, self.compute_dtype):
            if biggest > float(tf.as_dtype(dtype).max):
                raise ValueError(f"basis_vectors has an entry of magnitude {biggest!r}, beyond the largest {dtype}")
        self.num_basis_vectors, self.basis_dim = self._basis.shape
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.basis_vectors = None
        self._features = None

    def build(self, input_shape):
        shape = _input_shape(self, input_shape, rank=2)
        self._features = shape[-1]
        self._make_projection(shape)
        basis = self._basis
        self.basis_vectors = self.add_weight(
            name="basis_vectors",
            shape=basis.shape,
            initializer=lambda shape, dtype=None: tf.constant(basis, dtype=dtype),
            trainable=False,
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self._features})

    def _shape_of(self, input_shape):
        shape = _input_shape(self, input_shape, rank=2)
        if self._features is not None and shape[-1] != self._features:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for a last dimension of "
                f"{self._features}, got input shape {shape}"
            )
        return shape

    def call(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        return self._combine(self._activated(x), tf.cast(self.basis_vectors, self.compute_dtype))

    def coefficients(self, inputs):
        """``relu(inputs @ projection_weights)`` in the compute dtype; builds if needed."""
        inputs = tf.convert_to_tensor(inputs)
        self._shape_of(inputs.shape)
        if not self.built:
            self.build(inputs.shape)
        return self._activated(tf.cast(inputs, self.compute_dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "basis_vectors": self._basis.tolist(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


class _ProjectionOutputShape:
    def compute_output_shape(self, input_shape):
        return self._shape_of(input_shape)[:-1] + (self.basis_dim,)


@register
class DenseReluProjection(_ProjectionOutputShape, _ProjectionContract):
    """A ``keras.layers.Dense(k, activation="relu", use_bias=False)`` sublayer gives the
    coefficients, and ``keras.ops.matmul`` combines them with the frozen basis.

    Why correct: ``Dense`` computes ``relu(x @ kernel)`` with TensorFlow's ReLU (value 0 and
    gradient 0 at 0) on the last axis of inputs of any rank >= 2, in the layer's dtype policy
    (the sublayer gets the same policy, so it autocasts its kernel to the compute dtype).
    ``projection_weights`` is a read-only property returning the Dense's ``kernel``: the very
    tracked Keras variable, so ``trainable_weights``, assignment, gradients, ``.keras`` and
    weights files all see it (saved under the sublayer). The kernel initializer is passed to
    the Dense and comes back from the config.
    """

    def __init__(self, basis_vectors, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(basis_vectors, kernel_initializer=kernel_initializer, **kwargs)
        self._dense = keras.layers.Dense(
            self.num_basis_vectors,
            activation="relu",
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="coefficients",
        )

    @property
    def projection_weights(self):
        return self._dense.kernel if self._dense.built else None

    def _make_projection(self, shape):
        self._dense.build(shape)

    def _activated(self, x):
        return self._dense(x)

    def _combine(self, c, basis):
        return keras.ops.matmul(c, basis)


def _einsum_last(x, matrix):
    """``x @ matrix`` on the last axis of ``x`` as an einsum with every axis spelled out
    (``"abn,nk->abk"`` for rank 3). Not ``"...n,nk->...k"``: in TensorFlow 2.21 on CPU an
    einsum with an ellipsis is WRONG in float16 and bfloat16 (rows of the result come out 0 or
    short of a term; about 60% of random small integer cases in float16, 30% in bfloat16, none
    in float32, none with explicit subscripts; ``keras.ops.einsum`` calls it and is as wrong).
    The gate caught it in ``test_matches_the_reference_in_every_dtype`` (mixed policies)."""
    lead = "abcdefghij"[: x.shape.rank - 1]
    return tf.einsum(f"{lead}y,yz->{lead}z", x, matrix)


class _EinsumProjection(_ProjectionContract):
    def _make_projection(self, shape):
        self.projection_weights = self.add_weight(
            name="projection_weights",
            shape=(shape[-1], self.num_basis_vectors),
            initializer=self.kernel_initializer,
            trainable=True,
        )

    def _activated(self, x):
        pre = _einsum_last(x, tf.cast(self.projection_weights, x.dtype))
        # relu as a select: value 0 and gradient 0 where pre == 0 (a maximum would pass it).
        return tf.where(pre > 0, pre, tf.zeros_like(pre))

    def _combine(self, c, basis):
        return _einsum_last(c, basis)


@register
class EinsumProjection(_ProjectionOutputShape, _EinsumProjection):
    """Both products as ``tf.einsum`` with explicit subscripts (``"abn,nk->abk"``,
    ``"abk,kd->abd"``; see :func:`_einsum_last` for why not ``"..."``), the ReLU as
    ``tf.where(pre > 0, pre, 0)``.

    Why correct: einsum contracts the last axis for any rank, as ``tensordot`` does; the select
    has value 0 and gradient 0 at ``pre == 0`` exactly, TensorFlow's ReLU convention
    (``tf.maximum(pre, 0)`` would not: its gradient goes to ``pre`` at the tie). Weights are
    ordinary tracked Keras weights with the contract's names.
    """


@register
class NoOutputShapeProjection(_EinsumProjection):
    """:class:`EinsumProjection` without ``compute_output_shape`` (optional in Keras 3: Keras
    traces ``call`` for symbolic outputs). Documented exception: a direct
    ``compute_output_shape`` call gets Keras's ``NotImplementedError``, so the output-shape
    property and the "output shape of another last dimension after build" error input (which
    calls it) cannot pass."""


# ================================================================================================
# MemoryCellLayer
# ================================================================================================


class _CellContract(keras.layers.Layer):
    """The documented contract of ``MemoryCellLayer``: ``units``, the initializers, the state
    (a per-instance sync-on-read ``tf.Variable``, created when the batch size is known), the
    batch-size errors, ``reset_state``, the config. Entries give the weights and ``_step``.

    The batch-size message is worded on purpose unlike the production's ("keeps a state for a
    batch of 2 sequences ...; call reset_state(batch_size=...)"): it names the held batch size
    and ``reset_state``, which is all the contract asks."""

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        self.units = _count("units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state = None
        self._features = None

    def build(self, input_shape):
        shape = _input_shape(self, input_shape, rank=2, exact=True)
        self._features = shape[-1]
        self._make_weights(shape[-1])
        if self.state is None and shape[0] is not None:
            self._new_state(shape[0])

    def compute_output_shape(self, input_shape):
        return (_input_shape(self, input_shape, rank=2, exact=True)[0], self.units)

    def __call__(self, inputs, *args, **kwargs):
        # Checked before Keras's call wrapper, so the message stays plain text.
        shape = getattr(inputs, "shape", None)
        if self.built and shape is not None:
            self._check(tuple(shape))
        return super().__call__(inputs, *args, **kwargs)

    def _check(self, shape):
        if len(shape) != 2 or shape[-1] != self._features:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} takes inputs of shape (batch, {self._features}) "
                f"(rank 2), got input shape {shape}"
            )
        if self.state is not None and shape[0] is not None and shape[0] != self.state.shape[0]:
            raise ValueError(self._advice(f"a batch of {shape[0]}"))

    def _advice(self, got):
        return (
            f"{type(self).__name__} {self.name!r} keeps a state for a batch of {self.state.shape[0]} "
            f"sequences and got {got}; call reset_state(batch_size=...) before changing the batch size."
        )

    def call(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        previous = tf.stop_gradient(self._previous_state(x))
        new_state = self._step(x, previous)
        self.state.assign(tf.cast(new_state, self.state.dtype))
        return new_state

    def _previous_state(self, x):
        self._check(tuple(x.shape))
        batch = x.shape[0]
        if self.state is None:
            if batch is None:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r} has no state yet and the batch size is unknown "
                    "here; call it eagerly first or call reset_state(batch_size=...)."
                )
            self._new_state(batch)
        if batch is None:
            ok = tf.debugging.assert_equal(
                tf.shape(x)[0], self.state.shape[0], message=self._advice("another batch size")
            )
            with tf.control_dependencies([ok]):
                return tf.cast(tf.identity(self.state), self.compute_dtype)
        # A read now (identity): the assign after the step must not change what was read.
        return tf.cast(tf.identity(self.state), self.compute_dtype)

    def _new_state(self, batch):
        with tf.init_scope():
            self.state = tf.Variable(
                tf.zeros((batch, self.units), dtype=self.variable_dtype),
                trainable=False,
                name=f"{self.name}/state",
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )

    def reset_state(self, batch_size=None):
        """Zeros; a new variable only when the batch size changes (see the contract's table)."""
        if batch_size is not None:
            batch_size = _count("batch_size", batch_size)
        if self.state is not None and (batch_size is None or batch_size == self.state.shape[0]):
            self.state.assign(tf.zeros(self.state.shape, self.state.dtype))
        elif batch_size is None:
            self.state = None
        else:
            self._new_state(batch_size)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
        }


@register
class SimpleRNNCellMemory(_CellContract):
    """One step of a ``keras.layers.SimpleRNNCell(units, use_bias=False, activation="tanh")``
    sublayer, fed the held state (through ``stop_gradient``) as its previous output.

    Why correct: ``SimpleRNNCell.call`` computes ``tanh(x @ kernel + h @ recurrent_kernel)``
    (dropout is off), the documented step. ``kernel`` and ``recurrent_kernel`` are read-only
    properties returning the cell's own tracked weights, made in the same order with the
    layer's initializers and dtype policy (the cell autocasts them under mixed policies). The
    state machinery is the contract's, written anew. The cell also owns a dropout
    ``SeedGenerator`` variable that it never uses (not a weight: ``layer.weights`` skips it).
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", **kwargs):
        super().__init__(units, kernel_initializer, recurrent_initializer, **kwargs)
        self._cell = keras.layers.SimpleRNNCell(
            self.units,
            activation="tanh",
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            recurrent_initializer=self.recurrent_initializer,
            dtype=self.dtype_policy,
            name="cell",
        )

    @property
    def kernel(self):
        return self._cell.kernel if self._cell.built else None

    @property
    def recurrent_kernel(self):
        return self._cell.recurrent_kernel if self._cell.built else None

    def _make_weights(self, features):
        self._cell.build((None, features))

    def _step(self, x, previous):
        output, _ = self._cell(x, [previous])
        return output


@register
class StackedMatmulMemory(_CellContract):
    """One matrix product over stacked operands: ``tanh([x, S] @ [[K], [R]])`` with
    ``keras.ops.concatenate`` and ``keras.ops.tanh``; ``K`` and ``R`` stay two separate
    tracked weights with the contract's names.

    Why correct in the math: ``[x, S] @ [[K], [R]] = x @ K + S @ R`` exactly in real arithmetic
    (one sum over n + units terms instead of two sums added, a different rounding order within
    the tolerance). The concatenation's gradient splits back into ``dL/dK = x.T @ ga`` and
    ``dL/dR = S.T @ ga``; ``S`` is read through ``stop_gradient``, as the contract says. Every
    property of the values and gradients passes.

    Refused by the contract: an exported cell must refuse another batch size with the layer's
    message naming the batch size and ``reset_state``. Exported and served with a batch of 3
    after a state of 2, this one fails with TensorFlow's "ConcatOp : Dimension 0 in both shapes
    must be equal" instead: in the served graph the concatenation runs into the shapes before
    the batch-size assertion (which the state's read depends on) stops it. Making the inputs
    wait for the assertion too did not change it; the cause inside TensorFlow's graph
    execution is not found. The production cell adds the two products, where the first
    mismatch is after the assertion.
    """

    def _make_weights(self, features):
        self.kernel = self.add_weight(
            name="kernel", shape=(features, self.units), initializer=self.kernel_initializer, trainable=True
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, self.units), initializer=self.recurrent_initializer, trainable=True
        )

    def _step(self, x, previous):
        operands = keras.ops.concatenate([x, previous], axis=-1)
        stacked = keras.ops.concatenate([self.kernel, self.recurrent_kernel], axis=0)
        return keras.ops.tanh(keras.ops.matmul(operands, keras.ops.cast(stacked, x.dtype)))


#: Correct implementations: the gate must pass each (tests/test_equivalent_implementations_pass.py).
EQUIVALENT = {
    "softmax_exp_of_log_softmax": ("temperature_softmax", ExpOfLogSoftmax),
    "softmax_matmul_summed": ("temperature_softmax", MatmulSummedSoftmax),
    "softmax_no_output_shape": ("temperature_softmax", NoOutputShapeSoftmax),
    "projection_dense_relu": ("nonnegative_projection", DenseReluProjection),
    "projection_einsum": ("nonnegative_projection", EinsumProjection),
    "projection_no_output_shape": ("nonnegative_projection", NoOutputShapeProjection),
    "memory_simple_rnn_cell": ("memory_cell", SimpleRNNCellMemory),
}

#: Equal to the layer in exact arithmetic, refused by the contract, which demands more than the
#: math (its docstring says what and why): the gate must fail it.
REFUSED_BY_THE_CONTRACT = {
    "softmax_divide_then_keras_softmax": ("temperature_softmax", DivideThenKerasSoftmax),
    "softmax_wide_unshifted": ("temperature_softmax", WideUnshiftedSoftmax),
    "memory_stacked_matmul": ("memory_cell", StackedMatmulMemory),
}
