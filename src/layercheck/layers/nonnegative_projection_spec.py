"""The spec of :class:`~layercheck.layers.nonnegative_projection.NonNegativeProjection`: everything
the harness knows about it (see :mod:`layercheck.spec`).

``coefficients(x) = relu(x @ W)``, output ``coefficients(x) @ B``; ``W`` (n, k) is the trainable
``projection_weights``, the basis ``B`` (k, d) the non-trainable ``basis_vectors``. Its reference
is ``reference/nonnegative_projection.py``, its own properties
``properties/test_nonnegative_projection.py``, its page ``docs/nonnegative_projection.md``.

The gradient model's conventions: ``relu'(0) = 0`` (TensorFlow's ``ReluGrad``); the basis is a
constant. Where the float64 pre-activation is within the forward tolerance of 0, or within n
times the smallest normal (each subnormal product of the dot product is flushed before the
sum), the layer may land on the other side of the kink: there the reference takes the layer's
own decision, read from its ``coefficients`` method. Finite differences move input rows and
weight columns holding a pre-activation within reach of the kink (a random nudge of 5% of the
largest entry, doubled at each retry); exact zeros are always moved. The value and gradient
AT exactly 0 are checked on constructed inputs
(:mod:`layercheck.layers.nonnegative_projection_checks`).
"""

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import check, short_repr
from layercheck.cases import Example, with_initializers
from layercheck.gradients import PROP_VJP, GradientModel, Point, event, underflow
from layercheck.spec import INTEGER_INPUTS, KINKS, OUTPUT_SHAPE, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec, Region
from reference import nonnegative_projection as reference

NAME = "nonnegative_projection"
#: A pre-activation counts as clear of the ReLU kink when every evaluation keeps its sign and
#: stays above this fraction of its absolute terms (float64 rounding is ~n * 1.1e-16 of them).
KINK_CLEARANCE = 1e-9


# -- examples -----------------------------------------------------------------------------------


@st.composite
def examples(draw, *, max_rank=3, basis=None, features=None):
    """Bases of every small family up to 64 x 64 (``basis`` replaces them), inputs of ranks 2 to
    ``max_rank`` up to 3 in magnitude, drawn weights, the kernel initializer drawn or the
    default; ``features``: a strategy of the inputs'
    width (then a basis up to 8 x 8 and inputs (batch, width), batch 1 to 3)."""
    if features is not None:
        basis_vectors = draw(basis if basis is not None else lcst.bases(max_k=8, max_d=8), label="basis")
        shape = (draw(st.integers(1, 3), label="batch"), draw(features, label="features"))
    else:
        # A third from the large family (a side of 64): among the seven families of bases() it
        # would be one draw in seven, and a run of 25 could miss it.
        large = basis is None and draw(st.sampled_from((False, False, True)), label="large basis")
        basis_vectors = draw(lcst.large_bases(max_k=64, max_d=64) if large else basis if basis is not None else lcst.bases(max_k=64, max_d=64))
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
    inputs = draw(lcst.logits(shape, max_magnitude=3.0))
    weights = draw(lcst.projection_weights(shape[-1], basis_vectors.shape[0]))
    example = Example(NAME, (basis_vectors.tolist(),), {}, inputs, {"projection_weights": weights}, draw(lcst.seeds()))
    # The drawn weights replace the initial values, but a layer builds its kernel through the
    # initializer first, under every dtype policy: a non-default one is drawn here too.
    return with_initializers(draw, example, ("kernel_initializer",))


@st.composite
def round_trip_examples(draw):
    """Every basis family up to 256 x 256, and the kernel initializer drawn."""
    large = draw(st.sampled_from((False, False, True)), label="large basis")  # as in examples()
    return with_initializers(draw, draw(examples(basis=lcst.large_bases() if large else lcst.bases())), ("kernel_initializer",))


# -- the reference on what the layer saw --------------------------------------------------------


def _seen(example, dtype):
    return (
        dtypes.as_seen(example.inputs, dtype),
        dtypes.as_seen(example.weights["projection_weights"], dtype),
        dtypes.as_seen(np.asarray(example.args[0]), dtype),
    )


def reference_outputs(example, dtype):
    return reference.nonnegative_projection(*_seen(example, dtype))


def error_scale(example, dtype):
    """``(|x| @ |W|) @ |B|``, floored at 1."""
    inputs, weights, basis = (np.abs(value) for value in _seen(example, dtype))
    return np.maximum((inputs @ weights) @ basis, 1.0)


# -- gradients -----------------------------------------------------------------------------------


class Gradients(GradientModel):
    """``d/dx`` and ``d/dW``; the ReLU's kink at 0."""

    def point(self, example, dtype):
        inputs, weights, basis = _seen(example, dtype)
        return Point(NAME, inputs, {"projection_weights": weights}, {"basis_vectors": basis})

    def output_shape(self, point):
        return point.inputs.shape[:-1] + (point.constants["basis_vectors"].shape[1],)

    def vjp(self, point, cotangent, decisions=None):
        g = np.asarray(cotangent, dtype=np.float64)
        w, b = point.weights["projection_weights"], point.constants["basis_vectors"]
        if decisions is None:
            d_inputs, d_weights = reference.nonnegative_projection_vjp(point.inputs, w, b, g)
        else:
            # The reference's formula, with the layer's own ReLU decisions.
            d_coefficients = (g @ b.T) * decisions
            d_inputs = d_coefficients @ w.T
            d_weights = dtypes.rows(point.inputs).T @ dtypes.rows(d_coefficients)
        return {"inputs": d_inputs, "projection_weights": d_weights}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        """``(|g| @ |B|.T) * mask`` pulled back through ``|W|`` and ``|x|``."""
        g = np.abs(np.asarray(cotangent, dtype=np.float64))
        floor = underflow(dtype)
        x, w = point.inputs, point.weights["projection_weights"]
        b = np.abs(point.constants["basis_vectors"])
        mask = (x @ w > 0) if decisions is None else decisions
        d_coefficients = (g @ b.T) * mask
        return {
            "inputs": d_coefficients @ np.abs(w).T + floor,
            "projection_weights": np.abs(dtypes.rows(x)).T @ dtypes.rows(d_coefficients) + floor,
        }

    def difference_scale(self, point):
        """``(|x| @ |W|) @ |B|``."""
        x, w = np.abs(point.inputs), np.abs(point.weights["projection_weights"])
        return (x @ w) @ np.abs(point.constants["basis_vectors"])

    def inner_rate(self, point, name, direction, every_output=False):
        """The rate of the pre-activations ``x @ W``."""
        u = np.asarray(direction, dtype=np.float64)
        rate = u @ point.weights["projection_weights"] if name == "inputs" else point.inputs @ u
        return float(np.max(np.abs(rate))) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        import dataclasses

        basis = np.asarray(example.args[0], dtype=np.float32)[:max_side, :max_side]
        x = np.asarray(example.inputs)
        x = x[tuple(slice(0, max_side) for _ in x.shape)]
        w = example.weights["projection_weights"][: x.shape[-1], : basis.shape[0]]
        return dataclasses.replace(example, args=(basis.tolist(),), inputs=x, weights={"projection_weights": w})

    def decisions(self, adapter, layer, point, dtype):
        """The layer's own ReLU decisions (``coefficients(x) > 0``, from the contract's
        ``coefficients`` method) where the float64 pre-activation is within the forward
        tolerance of ``dtype`` of 0 or within n times its smallest normal; None elsewhere."""
        pre = reference.pre_activations(point.inputs, point.weights["projection_weights"])
        tolerance = tolerances.forward(dtype, adapter.spec, PROP_VJP)
        terms = np.abs(point.inputs) @ np.abs(point.weights["projection_weights"])
        # TensorFlow flushes subnormals to zero, each product of the dot product included: each of
        # its n terms may lose up to the smallest normal (then relu' = 0 where float64 says > 0).
        flushed = float(np.finfo(dtypes.working_dtype(dtype)).tiny) * point.inputs.shape[-1]
        ambiguous = np.abs(pre) <= tolerance.atol * terms + tolerance.rtol * np.abs(pre) + flushed
        if not ambiguous.any():
            return None
        import tensorflow as tf

        coefficients = np.asarray(adapter.method(layer, "coefficients")(tf.constant(dtypes.as_input(point.inputs, dtype))))
        event(f"ReLU: pre-activations within {dtype} rounding of 0 (the layer's own side used)")
        return np.where(ambiguous, coefficients > 0, pre > 0)

    def near_kinks(self, point, name, stencil):
        """(rows, k) mask of the pre-activations some evaluation could push across or onto 0."""
        x, w = point.inputs, point.weights["projection_weights"]
        pre = x @ w
        terms = np.abs(x) @ np.abs(w)
        near = np.abs(pre) <= KINK_CLEARANCE * terms
        if stencil.direction is not None:
            reached = [moved.inputs @ moved.weights["projection_weights"] for moved in stencil.points(point)]
        else:
            # One element moved by delta changes a pre-activation by at most delta times the
            # largest entry it multiplies; clear of twice that, it keeps its sign.
            if name == "inputs":
                bound = stencil.delta * np.abs(w).max(axis=0)[None, :]
            else:
                bound = stencil.delta * np.abs(x).max(axis=-1, keepdims=True)
            reached = [np.where(np.abs(pre) > 2.0 * bound, pre, 0.0)]
        for evaluated in reached:
            near |= (np.sign(evaluated) != np.sign(pre)) | (np.abs(evaluated) <= KINK_CLEARANCE * terms)
        return dtypes.rows(near)

    def move_off_kinks(self, point, near, rng, attempt):
        """Nudge the input rows and weight columns that hold an offending pre-activation."""
        x = dtypes.rows(point.inputs).copy()
        w = point.weights["projection_weights"].copy()
        rows, columns = near.any(axis=1), near.any(axis=0)
        size = 0.05 * 2.0**attempt
        x[rows] += rng.uniform(-1, 1, (int(rows.sum()), x.shape[1])) * size * max(1.0, float(np.abs(x).max()))
        w[:, columns] += rng.uniform(-1, 1, (w.shape[0], int(columns.sum()))) * size * max(1.0, float(np.abs(w).max()))
        return point.replace(inputs=x.reshape(point.inputs.shape), weights={"projection_weights": w})

    def check_unambiguous(self, point, dtype, what):
        """Every pre-activation is exactly 0 or clearly signed in ``dtype``."""
        pre = np.asarray(point.inputs @ point.weights["projection_weights"])
        terms = np.abs(point.inputs) @ np.abs(point.weights["projection_weights"])
        margin = 1e3 * float(np.finfo(dtypes.working_dtype(dtype)).eps) * terms
        if ((pre != 0) & (np.abs(pre) <= margin)).any():
            raise AssertionError(f"{what}: a pre-activation is within rounding of 0; change the case")


# -- fixed samples -------------------------------------------------------------------------------


def _sample(case_id, inputs, weights, basis, exercises, *, dtype="float32"):
    working = dtypes.working_dtype(dtype)
    example = Example(
        NAME,
        (np.asarray(basis, working).astype(np.float64).tolist(),),
        {},
        np.asarray(inputs, working),
        {"projection_weights": np.asarray(weights, working)},
        0,
    )
    return EdgeSample(case_id, example, exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20261125)
    normal = rng.standard_normal
    return [
        _sample("square_basis", normal((3, 4)), normal((4, 4)), normal((4, 4)), "k = d = 4"),
        _sample("wide_basis", normal((2, 3)), normal((3, 2)), normal((2, 6)), "k = 2 < d = 6 (rows are the basis vectors)"),
        _sample("tall_basis", normal((4, 2)), normal((2, 6)), normal((6, 3)), "k = 6 > d = 3"),
        _sample("rank_three", normal((2, 3, 4)), normal((4, 3)), normal((3, 5)), "rank-3 inputs: products on the last axis"),
        _sample(
            "exact_zero_coefficients",
            np.vstack([np.zeros((1, 3)), normal((2, 3))]),
            normal((3, 4)),
            normal((4, 4)),
            "a zero input row: every coefficient exactly 0, relu(0) = 0 and relu'(0) = 0",
        ),
        _sample(
            "duplicate_basis_rows",
            normal((3, 3)),
            normal((3, 3)),
            np.array([[1.0, 2.0, 0.5], [1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]),
            "a basis with two equal rows",
        ),
        _sample("one_by_one", [[2.0], [-1.0]], [[0.75]], [[-1.5]], "k = d = n = 1: one positive, one clipped coefficient"),
        _sample("float64", normal((3, 5)), normal((5, 4)), normal((4, 3)), "dtype float64", dtype="float64"),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (np.eye(3, features).tolist(),), {}


#: Every family of bad basis, each its own error input (in one ``one_of`` a family could go
#: undrawn in a run's 25 examples).
BAD_BASES = {
    "rank 1": st.builds(lambda d: np.ones(d, np.float32), st.integers(1, 4)),
    "rank 3": st.builds(lambda k, d: np.ones((k, d, 2), np.float32), st.integers(1, 3), st.integers(1, 3)),
    "no basis vector": st.builds(lambda d: np.ones((0, d), np.float32), st.integers(1, 4)),
    "vectors of dimension 0": st.builds(lambda k: np.ones((k, 0), np.float32), st.integers(1, 4)),
    "a non-finite entry": st.builds(
        lambda k, d, value, index: np.where(np.arange(k * d).reshape(k, d) == index % (k * d), value, 1.0).astype(np.float32),
        st.integers(1, 4),
        st.integers(1, 4),
        st.sampled_from([np.nan, np.inf, -np.inf]),
        st.integers(0, 15),
    ),
    "not an array of numbers": st.sampled_from([None, "basis", [["a", "b"]]]),
    # Long reprs: the message shortens them (and must still be a clear error).
    "ragged, long": st.builds(lambda d: [[0.5] * d, [0.5] * (d - 1)], st.integers(20, 600)),
    "strings, long": st.builds(lambda d: [["x"] * d], st.integers(20, 600)),
}


def _bad_basis(basis):
    def action(adapter):
        adapter.build(adapter.make(basis), (2, 3))

    return BadCall({"basis_vectors": short_repr(basis, 80)}, action)


def _output_shape_after_build(basis, built, other):
    other = other if other != built else built + 1

    def action(adapter):
        layer = adapter.make(basis.tolist())
        adapter.build(layer, (2, built))
        adapter.output_shape(layer, (2, other))

    return BadCall({"basis_vectors": short_repr(basis, 80), "built for n": built, "input shape": (2, other)}, action)


ERROR_INPUTS = (
    *(
        ErrorInput(
            id=f"basis: {family}",
            description=f"a basis that is not a non-empty finite rank-2 array ({family})",
            strategy=strategy.map(_bad_basis),
            names=("basis",),
        )
        for family, strategy in BAD_BASES.items()
    ),
    error_inputs.rank_one_at_build(_arguments),
    error_inputs.rank_one_after_build(_arguments),
    error_inputs.unknown_last_dimension(_arguments),
    ErrorInput(
        id="output shape of another last dimension after build",
        description="compute_output_shape, after build, of inputs whose last dimension is not the built one",
        strategy=st.builds(
            lambda basis, built, other: _output_shape_after_build(basis, built, other),
            lcst.bases(max_k=4, max_d=4),
            lcst.feature_sizes(max_size=8),
            lcst.feature_sizes(max_size=8),
        ),
        # "axis -1": Keras's own InputSpec message, what an implementation without
        # compute_output_shape gives through a symbolic call (it names the last axis).
        names=("last dimension", "axis -1"),
        keras_only="compute_output_shape is Keras's layer API",
    ),
)


def after_training(adapter, layer, example, case):
    """Training never changes the basis."""
    basis = np.asarray(example.args[0], dtype=np.float32)
    check(np.array_equal(adapter.weight(layer, "basis_vectors"), basis), case, "the basis is unchanged by training")



def _basis(example):
    return np.asarray(example.args[0], dtype=np.float64)


def _rank_deficient(example):
    basis = _basis(example)
    return bool(np.linalg.matrix_rank(basis) < min(basis.shape))


def _duplicate_rows(example):
    basis = _basis(example)
    return len({row.tobytes() for row in basis}) < basis.shape[0]


#: The parts of each argument's documented domain (docs/nonnegative_projection.md) the examples reach.
REGIONS = (
    Region("basis", "more vectors than dimensions", lambda e: _basis(e).shape[0] > _basis(e).shape[1]),
    Region("basis", "fewer vectors than dimensions", lambda e: _basis(e).shape[0] < _basis(e).shape[1]),
    Region("basis", "square", lambda e: _basis(e).shape[0] == _basis(e).shape[1]),
    Region("basis", "rank-deficient", _rank_deficient),
    Region("basis", "an all-zero row", lambda e: bool(np.any(np.all(_basis(e) == 0, axis=1)))),
    Region("basis", "duplicate rows", _duplicate_rows),
    Region("basis", "a side of 32 or more", lambda e: max(_basis(e).shape) >= 32),
    Region("kernel_initializer", "the default", lambda e: "kernel_initializer" not in e.kwargs),
    Region("kernel_initializer", "drawn", lambda e: "kernel_initializer" in e.kwargs),
    Region("inputs", "rank 2", lambda e: e.inputs.ndim == 2),
    Region("inputs", "rank 3", lambda e: e.inputs.ndim == 3),
    Region("inputs", "one feature", lambda e: e.inputs.shape[-1] == 1),
)


SPEC = LayerSpec(
    name=NAME,
    factory="layercheck.layers.nonnegative_projection:NonNegativeProjection",
    constructor="NonNegativeProjection(basis_vectors, **kwargs)",
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=("projection_weights",),
    non_trainable=("basis_vectors",),
    methods=("coefficients",),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={KINKS, WIDTH, OUTPUT_SHAPE, INTEGER_INPUTS},
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    after_training=after_training,
    defaults={"kernel_initializer": "glorot_uniform"},
    keras_only_defaults=("kernel_initializer",),
    docs="docs/nonnegative_projection.md",
    regions=REGIONS,
)
