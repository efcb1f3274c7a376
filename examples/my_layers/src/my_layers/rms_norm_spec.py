"""The layercheck spec of :class:`~my_layers.rms_norm.RMSNorm`.

``y = x / sqrt(mean(x**2 over axes) + epsilon) * scale (+ bias)``; ``scale`` and ``bias``
trainable, of the inputs' shape along the axes.

The generic examples draw every axis form (the last one, another single axis, positive or
negative, several axes), ranks 2 to 4, epsilons from 1e-12 to 10 (the default too), and input
families from tiny rows (epsilon dominates) to rows up to 1e4 (``x**2`` overflows float16 from
256: the mixed_float16 property sees a layer that does not upcast). They keep ``center=True``:
a spec's contract has a fixed set of trainable weights, and ``bias`` exists only with
``center`` (see the report in ``examples/my_layers/tests/test_rms_norm.py``, which runs
``center=False`` through the same comparisons). The round trips draw ``center`` and both
initializers too.
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs
from layercheck import strategies as lcst
from layercheck.cases import Example
from layercheck.gradients import GradientModel, Point, underflow
from layercheck.spec import OUTPUT_SHAPE, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec
from my_layers import _strategies
from my_layers.reference import rms_norm as reference

NAME = "rms_norm"
DEFAULT_EPSILON = 1e-6
#: Input families: the largest magnitude of each.
INPUT_FAMILIES = {"unit": 1.0, "moderate": 30.0, "tiny (epsilon dominates)": 1e-2, "large (x**2 beyond float16)": 1e4}


# -- examples -----------------------------------------------------------------------------------


@st.composite
def axes_for(draw, rank):
    """An ``axis`` argument for inputs of ``rank``: -1, another single axis (positive or
    negative), or a list of 1 to rank-1 non-batch axes (each positive or negative)."""
    form = draw(st.sampled_from(["last", "single", "several"]), label="axis form")
    if form == "last":
        return -1
    if form == "single":
        axis = draw(st.integers(1, rank - 1), label="axis")
        return axis - rank if draw(st.booleans(), label="negative axis") else axis
    chosen = draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True), label="axes")
    signs = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)), label="negative axes")
    return [a - rank if negative else a for a, negative in zip(chosen, signs)]


def epsilons():
    return st.one_of(st.just(DEFAULT_EPSILON), _strategies.log_uniform(-12.0, 1.0))


@st.composite
def examples(draw, *, max_rank=4, features=None, center=True):
    """Ranks 2 to ``max_rank`` (up to 64 features, 4096 elements), every axis form, epsilons
    1e-12 to 10, the input families, drawn ``scale`` and ``bias``; ``features``: a strategy of
    the last axis' width (then inputs (batch, width), batch 1 to 3, axis -1 or 1)."""
    if features is not None:
        shape = (draw(st.integers(1, 3), label="batch"), draw(features, label="features"))
        axis = draw(st.sampled_from([-1, 1, [1], [-1]]), label="axis")
    else:
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
        axis = draw(axes_for(len(shape)))
    axes = reference.normalize_axes(axis, len(shape))
    inputs = draw(_strategies.valued_inputs(shape, INPUT_FAMILIES))
    params = reference.param_shape(shape, axes)
    weights = {"scale": draw(lcst.kernels(params), label="scale")}
    if center:
        weights["bias"] = draw(lcst.kernels(params), label="bias")
    kwargs = {"axis": axis, "epsilon": draw(epsilons(), label="epsilon")}
    if not center:
        kwargs["center"] = False
    return Example(NAME, (), kwargs, inputs, weights, draw(lcst.seeds()))


@st.composite
def round_trip_examples(draw):
    """``center=True`` given explicitly, both initializers drawn (or left out).

    Not ``center=False``: the config round trip of a built layer assigns every trainable weight
    of the contract, ``bias`` included, to the restored layer (``serialization._compare_rebuilt``)
    and a layer without ``bias`` fails there with "missing API". ``test_rms_norm.py`` runs the
    round trips of ``center=False`` itself."""
    example = draw(examples())
    example = dataclasses.replace(example, kwargs={**example.kwargs, "center": True})
    drawn = {}
    for name in ("scale_initializer", "bias_initializer"):
        if draw(st.booleans(), label=f"{name} given"):
            drawn[name] = draw(_strategies.initializers_of_vectors(), label=name)
    return dataclasses.replace(example, kwargs={**example.kwargs, **drawn})


# -- the reference on what the layer saw --------------------------------------------------------


def _epsilon_seen(example, dtype):
    epsilon = example.kwargs.get("epsilon", DEFAULT_EPSILON)
    return float(epsilon) if dtype == "float64" else float(np.float32(epsilon))


def _seen(example, dtype):
    """Inputs as the compute dtype rounds them; scale and bias are not autocast (held in the
    variable dtype, the computation in float32 or float64)."""
    x = dtypes.as_seen(example.inputs, dtype)
    axes = reference.normalize_axes(example.kwargs.get("axis", -1), x.ndim)
    scale = dtypes.as_seen(example.weights["scale"], dtypes.held(dtype))
    bias = example.weights.get("bias")
    bias = None if bias is None else dtypes.as_seen(bias, dtypes.held(dtype))
    return x, axes, _epsilon_seen(example, dtype), scale, bias


def reference_outputs(example, dtype):
    x, axes, epsilon, scale, bias = _seen(example, dtype)
    return reference.rms_norm(x, axes, epsilon, scale, bias)


def _magnitudes(x, axes, epsilon, scale, bias):
    shape = reference.broadcast_shape(x.shape, axes)
    terms = np.abs(x) / reference.rms(x, axes, epsilon) * np.abs(np.reshape(scale, shape))
    return terms if bias is None else terms + np.abs(np.reshape(bias, shape))


def error_scale(example, dtype):
    """``|x| / r * |scale| + |bias|``, floored at 1."""
    return np.maximum(_magnitudes(*_seen(example, dtype)), 1.0)


# -- gradients ---------------------------------------------------------------------------------


class Gradients(GradientModel):
    """``d/dx``, ``d/dscale`` and ``d/dbias``: smooth (epsilon > 0), no kink."""

    def point(self, example, dtype):
        x, axes, epsilon, scale, bias = _seen(example, dtype)
        weights = {"scale": scale} if bias is None else {"scale": scale, "bias": bias}
        return Point(NAME, x, weights, {"axis": example.kwargs.get("axis", -1), "epsilon": epsilon})

    def _axes(self, point):
        return reference.normalize_axes(point.constants["axis"], point.inputs.ndim)

    def output_shape(self, point):
        return point.inputs.shape

    def vjp(self, point, cotangent, decisions=None):
        return reference.rms_norm_vjp(
            point.inputs, self._axes(point), point.constants["epsilon"], point.weights["scale"], cotangent, point.weights.get("bias")
        )

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        x, v = np.abs(point.inputs), np.abs(np.asarray(cotangent, dtype=np.float64))
        axes = self._axes(point)
        shape = reference.broadcast_shape(x.shape, axes)
        s = np.abs(np.reshape(point.weights["scale"], shape))
        r = reference.rms(point.inputs, axes, point.constants["epsilon"])
        count = int(np.prod([x.shape[a] for a in axes]))
        others = tuple(a for a in range(x.ndim) if a not in axes)
        params = reference.param_shape(x.shape, axes)
        floor = underflow(dtype)
        # TensorFlow flushes subnormal intermediates (v * scale, v * x) to 0 before dividing by
        # r, which may be far below 1: the floor enters before the division.
        g = v * s + floor
        scales = {
            "inputs": g / r + x * np.sum(g * x, axis=axes, keepdims=True) / (count * r**3) + floor,
            "scale": np.sum((v * x + floor) / r, axis=others).reshape(params) + floor,
        }
        if "bias" in point.weights:
            scales["bias"] = np.sum(v, axis=others).reshape(params) + floor
        return scales

    def difference_scale(self, point):
        axes = self._axes(point)
        return _magnitudes(point.inputs, axes, point.constants["epsilon"], point.weights["scale"], point.weights.get("bias"))

    def inner_rate(self, point, name, direction, every_output=False):
        """The rate of ``x / r`` along the inputs; of the outputs along ``scale`` and ``bias``."""
        u = np.abs(np.asarray(direction, dtype=np.float64))
        x = point.inputs
        axes = self._axes(point)
        r = reference.rms(x, axes, point.constants["epsilon"])
        shape = reference.broadcast_shape(x.shape, axes)
        if name == "inputs":
            count = int(np.prod([x.shape[a] for a in axes]))
            rate = u / r + np.abs(x) / r * np.sum(np.abs(x) * u, axis=axes, keepdims=True) / (count * r**2)
        elif name == "scale":
            rate = np.abs(x) / r * np.reshape(u, shape)
        else:
            rate = np.broadcast_to(np.reshape(u, shape), x.shape)
        return float(np.max(rate)) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)
        x = x[tuple(slice(0, max_side) for _ in x.shape)]
        weights = {name: np.asarray(value)[tuple(slice(0, max_side) for _ in np.shape(value))] for name, value in example.weights.items()}
        return dataclasses.replace(example, inputs=x, weights=weights)


# -- fixed samples -------------------------------------------------------------------------------


def _sample(case_id, inputs, scale, bias, exercises, *, dtype="float32", **kwargs):
    working = dtypes.working_dtype(dtype)
    weights = {"scale": np.asarray(scale, working)}
    if bias is not None:
        weights["bias"] = np.asarray(bias, working)
    else:
        kwargs["center"] = False
    example = Example(NAME, (), kwargs, np.asarray(inputs, working), weights, 0)
    return EdgeSample(case_id, example, exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20260302)
    normal = rng.standard_normal
    return [
        _sample("last_axis", normal((3, 5)), normal(5), normal(5), "axis -1, default epsilon"),
        _sample("middle_axis", normal((2, 4, 3)), normal(4), normal(4), "axis 1 of rank 3", axis=1),
        _sample("two_axes", normal((2, 3, 4)), normal((3, 4)), normal((3, 4)), "axes [1, 2]: scale of shape (3, 4)", axis=[1, -1]),
        _sample("zero_row", np.zeros((2, 3)), normal(3), normal(3), "an all-zero row: y = bias", epsilon=1e-3),
        _sample("epsilon_dominates", 1e-4 * normal((2, 6)), np.ones(6), None, "tiny inputs, epsilon 1: y ~ x", epsilon=1.0),
        _sample("large", 1e4 * normal((2, 8)), normal(8), normal(8), "|x| ~ 1e4: x**2 beyond float16"),
        _sample("float64", normal((3, 4)), normal(4), normal(4), "dtype float64", dtype="float64", epsilon=1e-12),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (), {}


def _bad_constructor(argument, value):
    return BadCall({argument: value}, lambda adapter: adapter.make(**{argument: value}))


def _bad_axis_at_build(case):
    axis, shape = case
    return BadCall({"axis": axis, "input shape": shape}, lambda adapter: adapter.build(adapter.make(axis=axis), shape))


def _constructor_error(argument, values, description):
    return ErrorInput(
        id=f"bad {argument}",
        description=description,
        strategy=st.sampled_from(values).map(lambda value: _bad_constructor(argument, value)),
        names=(argument,),
    )


ERROR_INPUTS = (
    _constructor_error("epsilon", [0.0, -1e-6, np.nan, np.inf, "1e-6", None, True], "an epsilon that is not a finite positive real"),
    _constructor_error("axis", ["-1", 1.5, None, True, [], [1, "2"], [1, 1]], "an axis that is not an int or a list of distinct ints"),
    _constructor_error("center", ["yes", 1, None], "a center that is not a bool"),
    _constructor_error("scale_initializer", ["no_such_initializer", None, 3.5], "a scale_initializer Keras cannot interpret"),
    _constructor_error("bias_initializer", ["no_such_initializer", None, [0.0]], "a bias_initializer Keras cannot interpret"),
    ErrorInput(
        id="axis not a non-batch axis of the inputs",
        description="an axis out of range, the batch axis, or one axis named twice through a negative index",
        strategy=st.sampled_from(
            [(2, (4, 3)), (-3, (4, 3)), (0, (4, 3)), (-2, (4, 3)), ([1, 3], (2, 3, 4)), ([1, -2], (2, 3, 4)), ([0, 1], (2, 3))]
        ).map(_bad_axis_at_build),
        names=("axis",),
    ),
    error_inputs.rank_one_at_build(_arguments),
    error_inputs.rank_one_after_build(_arguments),
    error_inputs.unknown_last_dimension(_arguments),
)


SPEC = LayerSpec(
    name=NAME,
    factory="my_layers.rms_norm:RMSNorm",
    constructor='RMSNorm(axis=-1, epsilon=1e-6, center=True, scale_initializer="ones", bias_initializer="zeros", **kwargs)',
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=("scale", "bias"),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={WIDTH, OUTPUT_SHAPE},
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    defaults={"axis": -1, "epsilon": DEFAULT_EPSILON, "center": True, "scale_initializer": "ones", "bias_initializer": "zeros"},
    keras_only_defaults=("scale_initializer", "bias_initializer"),
    docs="examples/my_layers/src/my_layers/rms_norm.py",
)
