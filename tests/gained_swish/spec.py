"""The spec of GainedSwish: what the generic properties need, and nothing else."""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs
from layercheck import strategies as lcst
from layercheck.cases import Example
from layercheck.gradients import GradientModel, Point, underflow
from layercheck.spec import OUTPUT_SHAPE, WIDTH, BadCall, ErrorInput, LayerSpec
from tests.gained_swish import reference

NAME = "gained_swish"


@st.composite
def examples(draw, *, max_rank=3, features=None):
    if features is not None:
        shape = (draw(st.integers(1, 3)), draw(features))
    else:
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
    inputs = draw(lcst.logits(shape, max_magnitude=6.0))
    gain = draw(lcst.kernels((shape[-1],)))
    return Example(NAME, (), {"initial_gain": draw(st.floats(-2.0, 2.0))}, inputs, {"gain": gain}, draw(lcst.seeds()))


def _seen(example, dtype):
    return dtypes.as_seen(example.inputs, dtype), dtypes.as_seen(example.weights["gain"], dtype)


def reference_outputs(example, dtype):
    return reference.gained_swish(*_seen(example, dtype))


def error_scale(example, dtype):
    x, g = _seen(example, dtype)
    return np.maximum(np.abs(x) * np.abs(g), 1.0)


class Gradients(GradientModel):
    def point(self, example, dtype):
        x, g = _seen(example, dtype)
        return Point(NAME, x, {"gain": g}, {})

    def output_shape(self, point):
        return point.inputs.shape

    def vjp(self, point, cotangent, decisions=None):
        d_inputs, d_gain = reference.gained_swish_vjp(point.inputs, point.weights["gain"], cotangent)
        return {"inputs": d_inputs, "gain": d_gain}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        v, x, g = np.abs(cotangent), np.abs(point.inputs), np.abs(point.weights["gain"])
        s = reference.sigmoid(point.inputs)
        floor = underflow(dtype)
        return {"inputs": v * g * (s + x) + floor, "gain": (v * x).reshape(-1, x.shape[-1]).sum(axis=0) + floor}

    def difference_scale(self, point):
        return np.abs(point.weights["gain"]) * (np.abs(point.inputs) + 1.0)

    def inner_rate(self, point, name, direction, every_output=False):
        u = np.abs(np.asarray(direction, dtype=np.float64))
        rate = u if name == "inputs" else np.abs(point.inputs) * u
        return float(np.max(rate)) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)[..., :max_side][tuple(slice(0, max_side) for _ in example.inputs.shape[:-1])]
        return dataclasses.replace(example, inputs=x, weights={"gain": example.weights["gain"][: x.shape[-1]]})


def _arguments(features):
    return (), {}


def _bad_gain(value):
    return BadCall({"initial_gain": value}, lambda adapter: adapter.make(initial_gain=value))


SPEC = LayerSpec(
    name=NAME,
    factory="tests.gained_swish.layer:GainedSwish",
    constructor="GainedSwish(initial_gain=1.0, **kwargs)",
    examples=examples,
    reference=reference_outputs,
    trainable=("gain",),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={WIDTH, OUTPUT_SHAPE},
    defaults={"initial_gain": 1.0},
    error_inputs=(
        ErrorInput(
            id="bad initial_gain",
            description="an initial_gain that is not a finite real number",
            strategy=st.sampled_from([np.nan, np.inf, "1", None, True]).map(_bad_gain),
            names=("initial_gain",),
        ),
        error_inputs.rank_one_at_build(_arguments),
        error_inputs.rank_one_after_build(_arguments),
        error_inputs.unknown_last_dimension(_arguments),
    ),
)
