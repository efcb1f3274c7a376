"""The spec of :class:`~layercheck.layers.memory_cell.MemoryCellLayer`: everything the harness
knows about it (see :mod:`layercheck.spec`).

``new_state = tanh(x @ K + state @ R)``; the state becomes ``new_state`` and the call returns
it. ``kernel`` and ``recurrent_kernel`` are trainable, ``state`` is not. An example's inputs are
a sequence ``(steps, batch, n)``, one call per step. Its reference is
``reference/memory_cell.py``, its own properties ``properties/test_memory_cell.py``, its page
``docs/memory_cell.md``.

The gradient model's conventions: one call reads the state as a constant; through several
calls on one tape the weights get the sum of the per-call VJPs (truncated BPTT, window one
call). The state before each step is the previous step's output (teacher forcing).
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs
from layercheck import strategies as lcst
from layercheck.cases import Example, with_initializers
from layercheck.gradients import GradientModel, Point, underflow
from layercheck.spec import INTEGER_INPUTS, OUTPUT_SHAPE, STATEFUL, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec, Region
from reference import memory_cell as reference

NAME = "memory_cell"


# -- examples -----------------------------------------------------------------------------------


#: The constructor's initializer arguments.
INITIALIZERS = ("kernel_initializer", "recurrent_initializer")


@st.composite
def examples(draw, *, max_length=6, sequences=None, features=None):
    """Sequences of 1 to ``max_length`` steps (``sequences`` replaces them), units 1 to 32, drawn
    kernels with a contractive recurrence, each initializer drawn or the default; ``features``: a strategy of the inputs' width (then
    at most 3 steps of batch 1 to 3)."""
    if features is not None:
        sequences = features.flatmap(lambda width: lcst.step_sequences(max_length=3, max_batch=3, input_dim=width))
    sequence = draw(sequences if sequences is not None else lcst.step_sequences(max_length=max_length))
    # A band first (one unit, 2 to 8, 9 to 32), so a run of 25 reaches each.
    units = draw(st.sampled_from(((1, 1), (2, 8), (9, 32))).flatmap(lambda band: lcst.units(min_units=band[0], max_units=band[1])), label="units")
    kernel = draw(lcst.kernels((sequence.shape[-1], units)))
    recurrent_kernel = draw(lcst.kernels((units, units)))
    # A contractive recurrence (spectral norm <= 1; tanh' <= 1) keeps rounding errors from
    # growing along the sequence, so float32 can be compared with the float64 recurrence at a
    # fixed tolerance. Expansive kernels are covered step by step (teacher forcing).
    norm = np.linalg.norm(recurrent_kernel.astype(np.float64), 2)
    if norm > 1.0:
        recurrent_kernel = (recurrent_kernel / np.float32(norm * 1.0001)).astype(recurrent_kernel.dtype)
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel}
    example = Example(NAME, (units,), {}, sequence, weights, draw(lcst.seeds()))
    # The drawn kernels replace the initial values, but a layer builds its variables through
    # the initializers first, under every dtype policy: non-default ones are drawn here too.
    return with_initializers(draw, example, INITIALIZERS)


@st.composite
def round_trip_examples(draw):
    """Both initializers drawn."""
    return with_initializers(draw, draw(examples()), INITIALIZERS)


# -- the reference on what the layer saw --------------------------------------------------------


def _seen(example, dtype):
    return (
        dtypes.as_seen(example.inputs, dtype),
        dtypes.as_seen(example.weights["kernel"], dtype),
        dtypes.as_seen(example.weights["recurrent_kernel"], dtype),
    )


def reference_outputs(example, dtype):
    outputs, _ = reference.memory_cell_sequence(*_seen(example, dtype))
    return outputs


def error_scale(example, dtype):
    """:func:`sequence_scale` of the example's inputs and weights as the layer saw them."""
    inputs, kernel, recurrent_kernel = _seen(example, dtype)
    return sequence_scale(inputs, kernel, recurrent_kernel)


def sequence_scale(inputs, kernel, recurrent_kernel):
    """The error scale of each output of a sequence of calls from a zero state, floored at 1.

    Step t rounds the terms of ``a_t = x_t K + s_{t-1} R``, at most ``T_t = |x_t| @ |K| + 1 @ |R|``
    (``|s| <= 1``), and carries the previous state's error through ``R``: ``s = tanh(a)`` errs by
    at most ``a``'s error (tanh' <= 1) plus its own rounding (1 u). So ``S_0 = T_0`` and
    ``S_t = T_t + (S_{t-1} + 1) @ |R|``: without the carry, a step of small terms after one of
    large cancelling terms (2.5 - 2.5 in one row, found by a soak run) exceeds its own scale.
    ``inputs``: ``(T, batch, n)``, or ``(batch, n)`` for one step from a state the layer and the
    reference share (no carry)."""
    inputs, kernel, recurrent_kernel = (np.abs(np.asarray(value, dtype=np.float64)) for value in (inputs, kernel, recurrent_kernel))
    terms = inputs @ kernel + recurrent_kernel.sum(axis=0)
    if terms.ndim == 2:
        return np.maximum(terms, 1.0)
    scales = np.empty_like(terms)
    for step, step_terms in enumerate(terms):
        scales[step] = step_terms if step == 0 else step_terms + (scales[step - 1] + 1.0) @ recurrent_kernel
    return np.maximum(scales, 1.0)


# -- gradients ---------------------------------------------------------------------------------


class Gradients(GradientModel):
    """``d/dx``, ``d/dK`` and ``d/dR``, each previous state held constant."""

    def point(self, example, dtype):
        inputs, kernel, recurrent_kernel = _seen(example, dtype)
        return Point(NAME, inputs, {"kernel": kernel, "recurrent_kernel": recurrent_kernel}, {})

    def output_shape(self, point):
        return point.inputs.shape[:-1] + (point.weights["kernel"].shape[1],)

    def vjp(self, point, cotangent, decisions=None):
        # memory_cell_sequence_vjp sums the per-call VJPs over its own float64 recurrence; here
        # it runs one call at a time from the state the layer actually held (teacher forcing),
        # so the comparison sees the gradient, not the float32 drift of the forward recurrence.
        g = np.asarray(cotangent, dtype=np.float64)
        k, r = point.weights["kernel"], point.weights["recurrent_kernel"]
        d_inputs, d_kernel, d_recurrent = [], np.zeros_like(k), np.zeros_like(r)
        for x, s, gt in zip(point.inputs, point.constants["states"], g):
            dx, dk, dr = reference.memory_cell_sequence_vjp(x[None], k, r, gt[None], initial_state=s)
            d_inputs.append(dx[0])
            d_kernel += dk
            d_recurrent += dr
        return {"inputs": np.stack(d_inputs), "kernel": d_kernel, "recurrent_kernel": d_recurrent}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        """``|g| * (1 + |x| @ |K| + |S| @ |R|)`` for the pre-activation's cotangent (tanh' = 1 -
        h**2 is computed from an h whose error grows with the pre-activation's terms), pulled
        back through ``|K|``, ``|x|`` and ``|S|``, summed over the steps."""
        g = np.abs(np.asarray(cotangent, dtype=np.float64))
        floor = underflow(dtype)
        k, r = np.abs(point.weights["kernel"]), np.abs(point.weights["recurrent_kernel"])
        d_inputs, d_kernel, d_recurrent = [], np.zeros_like(k), np.zeros_like(r)
        for x, s, gt in zip(point.inputs, point.constants["states"], g):
            x, s = np.abs(x), np.abs(s)
            ga = gt * (1.0 + x @ k + s @ r)
            d_inputs.append(ga @ k.T)
            d_kernel += x.T @ ga
            d_recurrent += s.T @ ga
        return {"inputs": np.stack(d_inputs) + floor, "kernel": d_kernel + floor, "recurrent_kernel": d_recurrent + floor}

    def difference_scale(self, point):
        """``|y| + (1 - y**2) * (1 + |x| @ |K| + |S| @ |R|)`` at every step."""
        k, r = point.weights["kernel"], point.weights["recurrent_kernel"]
        scales = []
        for x, s in zip(point.inputs, point.constants["states"]):
            y = np.tanh(x @ k + s @ r)
            scales.append(np.abs(y) + (1.0 - y**2) * (1.0 + np.abs(x) @ np.abs(k) + np.abs(s) @ np.abs(r)))
        return np.stack(scales)

    def inner_rate(self, point, name, direction, every_output=False):
        """The rate of the pre-activation ``x @ K + S @ R``."""
        u = np.asarray(direction, dtype=np.float64)
        if name == "inputs":
            rate = np.stack([x @ point.weights["kernel"] for x in u])
        elif name == "kernel":
            rate = np.stack([x @ u for x in point.inputs])
        else:
            rate = np.stack([s @ u for s in point.constants["states"]])
        return float(np.max(np.abs(rate))) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)[:max_side, :max_side, :max_side]
        units = min(example.args[0], max_side)
        weights = {
            "kernel": example.weights["kernel"][: x.shape[-1], :units],
            "recurrent_kernel": example.weights["recurrent_kernel"][:units, :units],
        }
        return dataclasses.replace(example, args=(units,), inputs=x, weights=weights)

    def states_from_outputs(self, outputs):
        """Zeros before the first step, then each step's output."""
        return np.concatenate([np.zeros_like(outputs[:1]), outputs[:-1]]).astype(np.float64)


# -- fixed samples -------------------------------------------------------------------------------


def _contractive(rng, units, norm=0.9):
    matrix = rng.standard_normal((units, units))
    return matrix * (norm / np.linalg.norm(matrix, 2))


def _sample(case_id, sequence, kernel, recurrent_kernel, exercises, *, dtype="float32"):
    working = dtypes.working_dtype(dtype)
    kernel = np.asarray(kernel, working)
    weights = {"kernel": kernel, "recurrent_kernel": np.asarray(recurrent_kernel, working)}
    example = Example(NAME, (int(kernel.shape[1]),), {}, np.asarray(sequence, working), weights, 0)
    return EdgeSample(case_id, example, exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20261126)
    normal = rng.standard_normal
    return [
        _sample("one_step", normal((1, 1, 2)), normal((2, 1)), [[0.5]], "one call, batch 1, units 1, from a zero state"),
        _sample(
            "sequence", normal((5, 3, 4)), 0.5 * normal((4, 6)), _contractive(rng, 6), "five calls, batch 3: the state carries from call to call"
        ),
        _sample("zero_inputs", np.zeros((3, 2, 3)), normal((3, 4)), _contractive(rng, 4), "zero inputs from zero: the state stays 0"),
        _sample(
            "saturating", 10 * normal((3, 2, 2)), 3 * normal((2, 3)), _contractive(rng, 3), "pre-activations beyond +-20: tanh saturates, gradients vanish"
        ),
        _sample("float64", normal((4, 2, 3)), normal((3, 5)), _contractive(rng, 5), "dtype float64, four calls", dtype="float64"),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (features,), {}


#: Input shapes the memory cell refuses: it takes (batch, n) only.
NOT_RANK_TWO = st.sampled_from([(5,), (2, 3, 5), (1, 1, 1, 5)])


def _not_rank_two(shape, units):
    return BadCall({"input shape": shape, "units": units}, lambda adapter: adapter.build(adapter.make(units), shape))


def _output_shape_of_another_rank(shape, units):
    return BadCall({"input shape": shape, "units": units}, lambda adapter: adapter.output_shape(adapter.make(units), shape))


@st.composite
def _another_size_after_build(draw):
    features = draw(lcst.feature_sizes(max_size=8), label="n")
    other = draw(lcst.feature_sizes(max_size=8), label="other n")
    units = draw(lcst.units(max_units=8), label="units")
    if other == features:
        other = features + 1
    shape = draw(st.sampled_from([(2, other), (features,), (2, 3, features)]), label="shape")

    def action(adapter):
        layer = adapter.make(units)
        adapter.call(layer, np.zeros((2, features), np.float32))
        adapter.call(layer, np.zeros(shape, np.float32))

    return BadCall({"n": features, "units": units, "input shape": shape}, action)


ERROR_INPUTS = (
    error_inputs.bad_count("units", _arguments),
    ErrorInput(
        id="inputs not of rank 2",
        description="inputs that are not (batch, n)",
        strategy=st.builds(_not_rank_two, NOT_RANK_TWO, lcst.units(max_units=8)),
        names=("rank",),
    ),
    ErrorInput(
        id="output shape of another rank",
        description="compute_output_shape of inputs that are not (batch, n)",
        strategy=st.builds(_output_shape_of_another_rank, NOT_RANK_TWO, lcst.units(max_units=8)),
        names=("rank",),
        keras_only="compute_output_shape is Keras's layer API",
    ),
    ErrorInput(
        id="inputs of another size after build",
        description="inputs of another size or rank than the layer was built for",
        strategy=_another_size_after_build(),
        names=("shape", "rank", "ndim"),
    ),
    error_inputs.unknown_last_dimension(_arguments, leading=((2,), (None,))),
)



#: The parts of each argument's documented domain (docs/memory_cell.md) the examples reach.
REGIONS = (
    Region("units", "one unit", lambda e: e.args[0] == 1),
    Region("units", "2 to 8", lambda e: 2 <= e.args[0] <= 8),
    Region("units", "more than 8", lambda e: e.args[0] > 8),
    Region("kernel_initializer", "the default", lambda e: "kernel_initializer" not in e.kwargs),
    Region("kernel_initializer", "drawn", lambda e: "kernel_initializer" in e.kwargs),
    Region("recurrent_initializer", "the default", lambda e: "recurrent_initializer" not in e.kwargs),
    Region("recurrent_initializer", "drawn", lambda e: "recurrent_initializer" in e.kwargs),
    Region("inputs", "one step", lambda e: e.inputs.shape[0] == 1),
    Region("inputs", "several steps", lambda e: e.inputs.shape[0] > 1),
    Region("inputs", "a batch of one", lambda e: e.inputs.shape[1] == 1),
    Region("inputs", "a batch of several", lambda e: e.inputs.shape[1] > 1),
    Region("inputs", "one feature", lambda e: e.inputs.shape[-1] == 1),
)


SPEC = LayerSpec(
    name=NAME,
    factory="layercheck.layers.memory_cell:MemoryCellLayer",
    constructor="MemoryCellLayer(units, **kwargs)",
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=("kernel", "recurrent_kernel"),
    non_trainable=("state",),
    methods=("reset_state",),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={STATEFUL, WIDTH, OUTPUT_SHAPE, INTEGER_INPUTS},
    state="state",
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    defaults={"kernel_initializer": "glorot_uniform", "recurrent_initializer": "orthogonal"},
    keras_only_defaults=("kernel_initializer", "recurrent_initializer"),
    docs="docs/memory_cell.md",
    regions=REGIONS,
)
