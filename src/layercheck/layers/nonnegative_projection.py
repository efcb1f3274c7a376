"""NonNegativeProjection: reconstruct inputs as a non-negative combination of fixed basis rows.

With a fixed basis ``B`` of shape (k, d) whose *rows* ``b_1 .. b_k`` are the basis vectors,
and a trainable matrix ``W`` of shape (n, k), inputs ``x`` of shape (..., n) give::

    c = relu(x @ W)          # coefficients, shape (..., k), every entry >= 0
    y = c @ B = sum_i c_i b_i  # output, shape (..., d)

``k``, ``d`` and ``n`` are independent: ``n`` is fixed by the inputs at build, ``k`` and ``d``
by the basis. ``c`` is available on its own through :meth:`NonNegativeProjection.coefficients`.
For inputs of rank > 2 the products contract the last axis (``tf.tensordot(x, W, 1)``).

What the output is: a point of the convex cone ``{sum_i c_i b_i : c_i >= 0}`` spanned by the
basis rows; the layer can only move its output inside that cone, never out of it.

ReLU convention: TensorFlow's, ``relu(0) = 0`` with gradient 0 at 0, so a coefficient that is
exactly zero passes no gradient to ``W``. The layer is alive after build: ``W`` is drawn from
``kernel_initializer`` (Glorot uniform by default), so ``x @ W`` is non-zero for generic
``x`` and, for ``x`` and ``-x``, at least one of them gets a positive coefficient.

The basis is a non-trainable weight ``basis_vectors`` in the layer's variable dtype (float32
under the mixed policies, float64 under ``dtype="float64"``); the layer never changes it and
it is not in ``trainable_weights``, so no optimizer moves it. ``get_config`` returns the basis
as nested lists of Python floats that reproduce it exactly: the validated basis is kept as a
float64 copy, Python floats are float64, and ``repr`` of a float round-trips through JSON, so
``from_config(json.loads(json.dumps(get_config())))`` builds bit-identical weights.

Differences from the how-to this layer comes from: the how-to multiplied by the transposed
basis (``c @ B.T``), which fails for a (k, d) basis with k != d and, for a square basis,
combines the basis's columns instead of its rows; its basis was a float32 constant outside
Keras's weights and was not checked at all.
"""

import keras
import numpy as np
import tensorflow as tf

from layercheck.layers import _validation


def _validated_basis(basis_vectors):
    """The basis as a float64 numpy copy of shape (k, d), k, d >= 1, all finite; else raise."""
    if basis_vectors is None:
        raise TypeError("basis_vectors must be a 2-D array of real numbers, got None")
    try:
        array = np.array(basis_vectors)
    except (ValueError, TypeError) as error:
        # NumPy refuses ragged nesting ("inhomogeneous shape"); say which argument it was.
        raise ValueError(
            f"basis_vectors must be a rectangular 2-D array of real numbers, got {_validation.short_repr(basis_vectors)}: {error}"
        ) from error
    if array.dtype.kind not in "iuf":
        what = {"b": "bool", "c": "complex"}.get(array.dtype.kind, "non-numeric")
        raise TypeError(
            f"basis_vectors must be a 2-D array of real numbers, got a {what} array "
            f"(dtype {array.dtype}): {_validation.short_repr(basis_vectors)}"
        )
    if array.ndim != 2:
        raise ValueError(
            f"basis_vectors must have rank 2 (k basis vectors of dimension d, shape (k, d)), "
            f"got shape {array.shape}"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(
            f"basis_vectors must hold at least one basis vector of dimension >= 1, got shape {array.shape}"
        )
    with np.errstate(over="ignore"):
        array = array.astype(np.float64)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"basis_vectors must be finite, got basis_vectors[{i}][{j}] = {float(array[i, j])!r} "  # pragma: no mutate (message wording only)
            f"({len(bad)} non-finite entries in all)"
        )
    return array


@keras.saving.register_keras_serializable(package="layercheck")
class NonNegativeProjection(keras.layers.Layer):
    """``relu(x @ W) @ B``: a non-negative combination of the rows of a fixed basis ``B``.

    Args:
        basis_vectors: array-like of real numbers of shape (k, d), the k basis vectors as
            rows (list, tuple, numpy array of any real float or int dtype). Checked here.
        kernel_initializer: initializer of ``projection_weights`` (n, k).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).
    """

    def __init__(self, basis_vectors, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self._basis = _validated_basis(basis_vectors)
        if not keras.backend.is_float_dtype(self.variable_dtype) or not keras.backend.is_float_dtype(
            self.compute_dtype
        ):
            raise ValueError(
                f"NonNegativeProjection {self.name!r} needs a floating-point dtype policy, got "
                f"variable dtype {self.variable_dtype} and compute dtype {self.compute_dtype}"
            )
        largest = float(np.abs(self._basis).max())
        # The basis is held in the variable dtype and cast to the compute dtype in the call
        # (float16 under mixed_float16, where 7e4 is already inf).
        for role, dtype in (("variable", self.variable_dtype), ("compute", self.compute_dtype)):
            if largest > float(tf.as_dtype(dtype).max):
                raise ValueError(
                    f"basis_vectors has an entry of magnitude {largest!r}, which overflows the "
                    f"layer's {role} dtype {dtype}"
                )
        self.num_basis_vectors, self.basis_dim = (int(v) for v in self._basis.shape)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.projection_weights = None
        self.basis_vectors = None

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
            trainable=False,
        )
        # Later calls with another last dimension fail in Keras's input check, before any op.
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: shape[-1]})

    def call(self, inputs):
        coefficients = self._coefficients(inputs)
        return self._contract(coefficients, tf.cast(self.basis_vectors, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        shape = self._checked_shape(input_shape)
        return shape[:-1] + (self.basis_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "basis_vectors": self._basis.tolist(),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config

    def coefficients(self, inputs):
        """``relu(inputs @ projection_weights)``, shape (..., k); builds the layer if needed.

        Outside a layer call Keras does not cast, so the inputs and the weights are cast to the
        compute dtype here: the result equals what :meth:`call` combines with the basis.
        """
        inputs = tf.convert_to_tensor(inputs)
        self._checked_shape(inputs.shape)
        if not self.built:
            self.build(inputs.shape)
        return self._coefficients(inputs)

    def _coefficients(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        return tf.nn.relu(self._contract(x, tf.cast(self.projection_weights, self.compute_dtype)))

    @staticmethod
    def _contract(x, matrix):
        """``x @ matrix`` on the last axis of ``x``, for any rank >= 2."""
        if x.shape.rank == 2:
            return tf.matmul(x, matrix)
        return tf.tensordot(x, matrix, axes=1)

    def _checked_shape(self, input_shape):
        shape = _validation.input_shape_with_known_last_dim(self, input_shape, min_rank=2)
        if self.built and shape[-1] != self.projection_weights.shape[0]:
            raise ValueError(
                f"NonNegativeProjection {self.name!r} was built for inputs with last dimension "
                f"{self.projection_weights.shape[0]}, got input shape {shape}"  # pragma: no mutate (message wording only)
            )
        return shape
