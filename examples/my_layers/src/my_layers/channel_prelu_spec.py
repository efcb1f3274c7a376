"""The layercheck spec of :class:`~my_layers.channel_prelu.ChannelPReLU`.

``y = where(x > 0, x, alpha * x)`` per channel (the last axis); ``alpha`` (n,) trainable.

The kink (capability ``KINKS``): at ``x = 0`` the derivative in ``x`` jumps from ``alpha`` to
1. Which side an entry is on depends on the sign of the input alone, which no rounding changes
(the harness hands the layer values representable in its dtype, with no subnormals), so the
reference always decides (``decisions`` is None) and exact zeros, drawn on purpose, check the
documented convention ``dy/dx(0) = alpha``, ``dy/dalpha(0) = 0`` in every gradient comparison.
Finite differences move the input entries whose stencil would reach 0 (a nudge of 5% of the
largest entry, doubled at each retry); ``alpha`` enters linearly and has no kink.
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs
from layercheck import strategies as lcst
from layercheck.cases import Example
from layercheck.gradients import GradientModel, Point, event, underflow
from layercheck.spec import KINKS, OUTPUT_SHAPE, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec
from my_layers import _strategies
from my_layers.reference import channel_prelu as reference

NAME = "channel_prelu"
#: An input entry counts as clear of the kink when it keeps its sign over the whole stencil
#: with this much to spare (in units of the largest entry).
KINK_CLEARANCE = 1e-9


# -- examples -----------------------------------------------------------------------------------


@st.composite
def _with_zeros(draw, inputs):
    """Half the time, a drawn fraction of the entries set to exactly 0 (the kink itself)."""
    if not draw(st.booleans(), label="exact zeros"):
        return inputs
    fraction = draw(st.sampled_from([0.1, 0.5, 1.0]), label="fraction of zeros")
    rng = np.random.default_rng(draw(lcst.seeds(), label="zeros seed"))
    out = np.array(inputs, copy=True)
    out[rng.uniform(size=out.shape) < fraction] = 0
    event("channel_prelu: exact zeros in the inputs")
    return out


def _alpha_initializers():
    """Every documented form: a finite real (negative, above 1 too), or a serialized initializer."""
    return st.one_of(st.floats(-3.0, 3.0, allow_nan=False, width=32), _strategies.initializers_of_vectors())


@st.composite
def examples(draw, *, max_rank=4, features=None):
    """Ranks 2 to ``max_rank`` (up to 64 channels), inputs up to 30 in magnitude with exact zeros
    half the time, slopes in [-2, 2] (negative ones and ones steeper than 1 included);
    ``features``: a strategy of the width (then inputs (batch, width), batch 1 to 3)."""
    if features is not None:
        shape = (draw(st.integers(1, 3), label="batch"), draw(features, label="features"))
    else:
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
    magnitude = draw(st.sampled_from([1.0, 30.0]), label="input magnitude")
    inputs = draw(_with_zeros(draw(lcst.logits(shape, max_magnitude=magnitude))))
    alpha = draw(lcst.kernels((shape[-1],)), label="alpha")
    kwargs = {"alpha_initializer": draw(st.floats(-2.0, 2.0, allow_nan=False, width=32), label="alpha_initializer")}
    return Example(NAME, (), kwargs, inputs, {"alpha": alpha}, draw(lcst.seeds()))


@st.composite
def round_trip_examples(draw):
    """The initializer drawn in every documented form, the slopes drawn."""
    example = draw(examples())
    return dataclasses.replace(example, kwargs={"alpha_initializer": draw(_alpha_initializers(), label="alpha_initializer")})


# -- the reference on what the layer saw --------------------------------------------------------


def _seen(example, dtype):
    return dtypes.as_seen(example.inputs, dtype), dtypes.as_seen(example.weights["alpha"], dtype)


def reference_outputs(example, dtype):
    return reference.channel_prelu(*_seen(example, dtype))


def error_scale(example, dtype):
    """One product per output: ``|x| * max(1, |alpha|)``, floored at 1."""
    x, a = _seen(example, dtype)
    return np.maximum(np.abs(x) * np.maximum(1.0, np.abs(a)), 1.0)


# -- gradients ---------------------------------------------------------------------------------


class Gradients(GradientModel):
    """``d/dx`` and ``d/dalpha``; the kink at ``x = 0`` (the negative branch at 0)."""

    def point(self, example, dtype):
        x, a = _seen(example, dtype)
        return Point(NAME, x, {"alpha": a}, {})

    def output_shape(self, point):
        return point.inputs.shape

    def vjp(self, point, cotangent, decisions=None):
        d_inputs, d_alpha = reference.channel_prelu_vjp(point.inputs, point.weights["alpha"], cotangent, decisions)
        return {"inputs": d_inputs, "alpha": d_alpha}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        v, x, a = np.abs(cotangent), np.abs(point.inputs), np.abs(point.weights["alpha"])
        floor = underflow(dtype)
        negative = point.inputs <= 0 if decisions is None else ~np.asarray(decisions, bool)
        return {
            "inputs": v * np.maximum(1.0, a) + floor,
            "alpha": np.where(negative, v * x, 0.0).reshape(-1, x.shape[-1]).sum(axis=0) + floor,
        }

    def difference_scale(self, point):
        return np.abs(point.inputs) * np.maximum(1.0, np.abs(point.weights["alpha"]))

    def inner_rate(self, point, name, direction, every_output=False):
        """The inputs themselves are the inner variable; along ``alpha`` the outputs ``alpha * x``."""
        u = np.abs(np.asarray(direction, dtype=np.float64))
        rate = u if name == "inputs" else np.abs(np.minimum(point.inputs, 0.0)) * u
        return float(np.max(rate)) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)
        x = x[tuple(slice(0, max_side) for _ in x.shape)]
        return dataclasses.replace(example, inputs=x, weights={"alpha": example.weights["alpha"][: x.shape[-1]]})

    def near_kinks(self, point, name, stencil):
        """Input entries that some evaluation puts on 0 or across it (none for ``alpha``)."""
        x = point.inputs
        if name != "inputs":
            return np.zeros(x.shape, dtype=bool)
        clearance = KINK_CLEARANCE * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
        near = np.abs(x) <= clearance
        if stencil.direction is not None:
            for moved in stencil.points(point):
                near |= (np.sign(moved.inputs) != np.sign(x)) | (np.abs(moved.inputs) <= clearance)
        else:
            near |= np.abs(x) <= 2.0 * stencil.delta
        return near

    def move_off_kinks(self, point, near, rng, attempt):
        x = np.array(point.inputs, copy=True)
        size = 0.05 * 2.0**attempt * max(1.0, float(np.max(np.abs(x))))
        x[near] += rng.choice([-1.0, 1.0], int(near.sum())) * rng.uniform(0.5, 1.0, int(near.sum())) * size
        return point.replace(inputs=x)

    def check_unambiguous(self, point, dtype, what):
        """A golden value may sit at exactly 0 (the convention is documented), never near it."""
        x = np.asarray(point.inputs)
        margin = 1e3 * float(np.finfo(dtypes.working_dtype(dtype)).tiny)
        if ((x != 0) & (np.abs(x) <= margin)).any():
            raise AssertionError(f"{what}: an input is within rounding of 0; change the case")

    def describe(self, point):
        x = point.inputs
        if (x == 0).any():
            event("channel_prelu: the gradient is taken at exact zeros (the kink)")
        if (x < 0).any() and (x > 0).any():
            event("channel_prelu: both branches")


# -- fixed samples -------------------------------------------------------------------------------


def _sample(case_id, inputs, alpha, exercises, *, dtype="float32"):
    working = dtypes.working_dtype(dtype)
    example = Example(NAME, (), {}, np.asarray(inputs, working), {"alpha": np.asarray(alpha, working)}, 0)
    return EdgeSample(case_id, example, exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20260301)
    normal = rng.standard_normal
    return [
        _sample("both_branches", normal((4, 3)), [0.25, -0.5, 1.5], "negative and positive inputs, slopes of both signs and > 1"),
        _sample("exact_zeros", [[0.0, -1.0, 2.0], [0.0, 0.0, -3.0]], [0.3, 0.7, -1.2], "x == 0: y = 0, dy/dx = alpha, dy/dalpha = 0"),
        _sample("rank_four", normal((2, 2, 3, 5)), normal(5), "rank-4 inputs: one slope per last-axis channel"),
        _sample("one_channel", [[-2.0], [3.0]], [0.1], "one channel"),
        _sample("float64", normal((3, 4)), normal(4), "dtype float64", dtype="float64"),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (), {}


def _bad_initializer(value):
    return BadCall({"alpha_initializer": value}, lambda adapter: adapter.make(alpha_initializer=value))


ERROR_INPUTS = (
    ErrorInput(
        id="bad alpha_initializer",
        description="an alpha_initializer that is neither a finite real nor a Keras initializer",
        strategy=st.sampled_from([np.nan, np.inf, -np.inf, "no_such_initializer", None, True, [0.25, 0.5]]).map(_bad_initializer),
        names=("alpha_initializer",),
    ),
    error_inputs.rank_one_at_build(_arguments),
    error_inputs.rank_one_after_build(_arguments),
    error_inputs.unknown_last_dimension(_arguments),
)


SPEC = LayerSpec(
    name=NAME,
    factory="my_layers.channel_prelu:ChannelPReLU",
    constructor="ChannelPReLU(alpha_initializer=0.25, **kwargs)",
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=("alpha",),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={KINKS, WIDTH, OUTPUT_SHAPE},
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    defaults={"alpha_initializer": 0.25},
    docs="examples/my_layers/src/my_layers/channel_prelu.py",
)
