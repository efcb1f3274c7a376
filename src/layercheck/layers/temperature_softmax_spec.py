"""The spec of :class:`~layercheck.layers.temperature_softmax.TemperatureSoftmax`: everything the
harness knows about it (see :mod:`layercheck.spec`).

``y = softmax((x - max x) / max(T, min_temperature))`` over the last axis; ``T`` is the
trainable scalar ``temperature``. Its reference is ``reference/temperature_softmax.py``, its
own properties ``properties/test_temperature_softmax.py``, its page ``docs/temperature_softmax.md``.

The gradient model's conventions: at ``T == floor`` exactly the gradient reaches ``T``
(``tf.maximum`` sends it to its first argument at a tie); below the floor ``T`` gets none; the
floor is a one-sided kink, so finite differences lift a ``T`` whose stencil would reach it
(by about ``4 h`` of its own scale, within 0.1% of the floor) and the tie is checked with
one-sided differences (:mod:`layercheck.layers.temperature_softmax_checks`).
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes, error_inputs
from layercheck import strategies as lcst
from layercheck.assertions import check
from layercheck.cases import Example
from layercheck.gradients import GradientModel, Point, event, underflow
from layercheck.spec import INTEGER_INPUTS, OUTPUT_SHAPE, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec, Region
from reference import temperature_softmax as reference

NAME = "temperature_softmax"
#: The floor when the constructor does not set one.
DEFAULT_MIN_TEMPERATURE = reference.MIN_TEMPERATURE
#: Entries of z = (x - max x) / T below -LIVE_Z carry probability < e**-60 relative to the
#: row's maximum; they do not set the temperature's scale in a weighted sum.
LIVE_Z = 60.0
#: A Jacobian compares each output on its own scale, so every probability that float64 holds
#: as a normal number (e**-700 ~ 1e-304) must be resolved: its z sets the temperature's step.
JACOBIAN_LIVE_Z = 700.0


# -- examples -----------------------------------------------------------------------------------


#: The smallest floor the layer accepts in every gate policy (float32 math): below it ``dL/dT``
#: is NaN under XLA, and the layer rejects it (``reference.smallest_floor``).
SMALLEST_FLOOR = reference.smallest_floor("float32")
LARGEST_TEMPERATURE = 1e3


#: The initial temperature's bands, drawn equally: at the floor ((0, 0)), from the floor to 1,
#: 1 to 10, 10 to the largest.
TEMPERATURE_BANDS = ((0.0, 0.0), (0.0, 1.0), (1.0, 10.0), (10.0, LARGEST_TEMPERATURE))


@st.composite
def examples(draw, *, max_rank=3, logits=None, features=None, floors=True):
    """Ranks 2 to ``max_rank``, logits up to 30 (``logits(shape)`` replaces them); a third of the
    examples at the default floor, a third below it and a third above, log-uniform over every
    floor the gate's policies accept (7.8e-19 to 1e3: a bug that shows only at another floor is
    still a bug); temperatures in four bands drawn equally (:data:`TEMPERATURE_BANDS`: at the
    floor, up to 1, 1 to 10, above 10), log-uniform within each. ``floors=False`` keeps the default floor (for properties that pin their own);
    ``features``: a strategy of the last axis' width (then the inputs are (batch, width),
    batch 1 to 3)."""
    if features is not None:
        shape = (draw(st.integers(1, 3), label="batch"), draw(features, label="features"))
    else:
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank))
    values = draw(logits(shape) if logits is not None else lcst.logits(shape))
    kwargs = {}
    floor = DEFAULT_MIN_TEMPERATURE
    # A third each: the default floor, one below it, one above it (sampled_from, not booleans:
    # Hypothesis's first examples are its simplest, and a 25-example run must reach all three).
    where = draw(st.sampled_from(("default", "below", "above")), label="floor")
    if floors and where != "default":
        low, high = (SMALLEST_FLOOR, DEFAULT_MIN_TEMPERATURE) if where == "below" else (DEFAULT_MIN_TEMPERATURE, LARGEST_TEMPERATURE)
        floor = kwargs["min_temperature"] = draw(lcst.temperatures(low, high), label="min_temperature")
    # A band, then a temperature log-uniform in it: log-uniform over the whole range from a
    # tiny floor would rarely reach above 10 in a run of 25.
    band = draw(st.sampled_from(TEMPERATURE_BANDS), label="temperature band")
    low, high = max(band[0], floor), band[1]
    if band == (0.0, 0.0):
        temperature = floor
    elif low < high:
        temperature = draw(lcst.temperatures(low, high), label="initial_temperature")
    else:  # the floor lies above the band
        temperature = draw(lcst.temperatures(floor, LARGEST_TEMPERATURE), label="initial_temperature")
    kwargs = {"initial_temperature": temperature, **kwargs}
    return Example(NAME, (shape[-1],), kwargs, values, {}, draw(lcst.seeds()))


@st.composite
def round_trip_examples(draw):
    """The examples' floors and initial temperatures, and a trained temperature that differs from
    the initial one (so a weight that is not loaded, or an initial value that is not in the
    config, shows)."""
    example = draw(examples())
    floor = example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)
    trained = draw(lcst.temperatures(floor, LARGEST_TEMPERATURE).filter(lambda t: t != example.kwargs["initial_temperature"]), label="trained temperature")
    return dataclasses.replace(example, weights={"temperature": trained})


# -- the reference on what the layer saw --------------------------------------------------------


def held_temperature(example, dtype):
    """``(T, floor)`` as the layer holds them: in the variable dtype, not autocast."""
    held = dtypes.held(dtype)
    given = example.weights.get("temperature", example.kwargs.get("initial_temperature", 1.0))
    floor = example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)
    return dtypes.as_seen(np.float64(given), held), float(dtypes.as_seen(np.float64(floor), held))


def reference_outputs(example, dtype):
    temperature, floor = held_temperature(example, dtype)
    return reference.temperature_softmax(dtypes.as_seen(example.inputs, dtype), temperature, floor)


# -- gradients ---------------------------------------------------------------------------------


def live_z(point, limit=LIVE_Z):
    """``|z|`` of the entries that carry probability (``z > -limit``)."""
    x = point.inputs
    z = (x - x.max(axis=-1, keepdims=True)) / float(point.weights["temperature"])
    return np.abs(z[z > -limit])


class Gradients(GradientModel):
    """``d/dx`` and ``d/dT``; the floor is a one-sided kink in ``T``."""

    def point(self, example, dtype):
        temperature, floor = held_temperature(example, dtype)
        return Point(NAME, dtypes.as_seen(example.inputs, dtype), {"temperature": temperature}, {"min_temperature": floor})

    def output_shape(self, point):
        return point.inputs.shape

    def vjp(self, point, cotangent, decisions=None):
        d_inputs, d_temperature = reference.temperature_softmax_vjp(
            point.inputs, point.weights["temperature"], np.asarray(cotangent, np.float64), min_temperature=point.constants["min_temperature"]
        )
        return {"inputs": d_inputs, "temperature": d_temperature}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        """``p * (|g| + sum |g| p) / T`` for the inputs; for ``T`` the sum of that times ``|z|``
        (``dL/dT = -sum(dL/dx * z)``). Every probability carries the underflow: one flushed to
        zero errs by up to ``tiny * |g| / T`` in the gradient.

        Not ``|x| / T``: ``-sum(dL/dx * x) / T`` is the same number in exact arithmetic, but a
        layer that sums it did not shift before dividing, which the contract forbids (decision 3
        of docs/temperature_softmax.md) and five other properties refuse; scaled by ``|x| / T``
        the tolerance would pass errors of hundreds on rows of large equal logits whose exact
        ``dL/dT`` a shifting layer gives to the last bit (tests/zoo/equivalents.py)."""
        g = np.abs(np.asarray(cotangent, dtype=np.float64))
        floor = underflow(dtype)
        x, min_temperature = point.inputs, point.constants["min_temperature"]
        t_eff = float(reference.effective_temperature(point.weights["temperature"], min_temperature))
        p = reference.temperature_softmax(x, point.weights["temperature"], min_temperature) + floor
        z = np.abs(x - x.max(axis=-1, keepdims=True)) / t_eff
        d_inputs = p * (g + np.sum(g * p, axis=-1, keepdims=True)) / t_eff + floor
        return {"inputs": d_inputs, "temperature": np.float64(np.sum(d_inputs * z) + floor)}

    def difference_scale(self, point):
        """``p * (1 + (|x| + |max x|) / T)`` plus its row sum times ``p``: exp turns an error in
        z into a relative error of p, and the row sum adds its own. ``|x|``, not ``|x - max x|``:
        an evaluation point is itself rounded by ``eps * |x|``, which is ``eps * |x| / T`` in z."""
        x, min_temperature = point.inputs, point.constants["min_temperature"]
        t_eff = float(reference.effective_temperature(point.weights["temperature"], min_temperature))
        p = reference.temperature_softmax(x, point.weights["temperature"], min_temperature)
        grown = p * (1.0 + (np.abs(x) + np.abs(x.max(axis=-1, keepdims=True))) / t_eff)
        return grown + p * np.sum(grown, axis=-1, keepdims=True)

    def inner_rate(self, point, name, direction, every_output=False):
        """The rate of ``z = (x - max x) / T``; for ``T`` only the entries that carry probability
        count (every normal one for a Jacobian)."""
        u = np.asarray(direction, dtype=np.float64)
        t = float(point.weights["temperature"])
        if name == "inputs":
            x = point.inputs
            at_max = np.take_along_axis(u, np.argmax(x, axis=-1)[..., None], axis=-1)
            return float(np.max(np.abs(u - at_max))) / t
        live = live_z(point, JACOBIAN_LIVE_Z if every_output else LIVE_Z)
        return max(1.0, float(live.max()) if live.size else 1.0) * abs(float(u)) / t

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)
        x = x[tuple(slice(0, max_side) for _ in x.shape)]
        return dataclasses.replace(example, args=(x.shape[-1],), inputs=x)

    def lift(self, point, name, reach):
        """``T`` moved up so that ``T - reach`` stays above the floor, or None."""
        if name != "temperature":
            return None
        t, floor = float(point.weights["temperature"]), point.constants["min_temperature"]
        if t - reach > floor:
            return None
        return point.with_argument("temperature", np.float64(floor + 2.0 * reach))

    def constrain(self, point, name, value):
        """The ``MinValue`` constraint: an optimizer step leaves ``T`` at or above the floor."""
        return np.maximum(value, point.constants["min_temperature"]) if name == "temperature" else value

    def describe(self, point):
        t, floor = float(point.weights["temperature"]), point.constants["min_temperature"]
        if t == floor:
            label = "at the floor"
        elif t < 10 * floor:
            label = "within 10x of the floor"
        elif t < 1.0:
            label = "below 1"
        else:
            label = "1 or more"
        event(f"temperature: {label}")


# -- fixed samples -------------------------------------------------------------------------------


def _sample(case_id, logits, temperature, exercises, *, dtype="float32", min_temperature=None):
    kwargs = {"initial_temperature": float(temperature)}
    if min_temperature is not None:
        kwargs["min_temperature"] = float(min_temperature)
    array = np.asarray(logits, dtype=dtypes.working_dtype(dtype))
    return EdgeSample(case_id, Example(NAME, (int(array.shape[-1]),), kwargs, array, {}, 0), exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20261124)
    normal = rng.standard_normal
    f32_max = float(np.finfo(np.float32).max)
    return [
        _sample("random_rows", 3 * normal((4, 5)), 1.0, "random logits at T = 1"),
        _sample("at_the_floor", 1e-3 * normal((3, 6)), 1e-3, "T at the default floor 1e-3, logits a few T apart"),
        _sample("high_temperature", 30 * normal((3, 4)), 1e3, "T = 1e3: nearly uniform rows"),
        _sample("rank_three", 2 * normal((2, 3, 4)), 0.7, "rank-3 inputs: the softmax is over the last axis"),
        _sample("batch_of_one", normal((1, 7)), 2.0, "a batch of one row"),
        _sample("one_class", normal((3, 1)), 1.0, "num_classes = 1: every output is 1, every gradient 0"),
        _sample("equal_logits", np.full((2, 5), 4.25), 0.3, "equal logits: uniform rows"),
        _sample("ties_and_order", [[1.0, 1.0, 3.0, -2.0, 3.0]], 0.5, "ties get equal probabilities"),
        _sample(
            "extreme_logits_at_the_floor",
            [[f32_max, -f32_max, 0.0, 1.0], [-f32_max, -f32_max, -f32_max, -f32_max], [1e30, -1e30, 5.0, 5.0]],
            1e-3,
            "logits up to float32's largest value at the floor: x - max(x) overflows float32; outputs "
            "and dL/dT must stay finite (clamp z at -L * T before dividing)",
        ),
        _sample("large_logits", 1e4 * normal((2, 5)), 1.0, "logits of 1e4 at T = 1: needs the max shift"),
        _sample("custom_floor", normal((3, 4)), 0.5, "min_temperature = 0.5, T at it", min_temperature=0.5),
        _sample("float64", 3 * normal((3, 5)), 0.25, "dtype float64", dtype="float64"),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (features,), {}


BAD_TEMPERATURES = st.one_of(
    st.just(0.0),
    st.floats(max_value=0.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    st.sampled_from([np.inf, -np.inf, np.nan]),
    st.floats(min_value=1e-9, max_value=9.9e-4),  # below the default floor of 1e-3
    st.sampled_from([True, "1.0", None, [1.0]]),  # not a real number (a bool is not one either)
)


def _bad_temperature(num_classes, temperature):
    def action(adapter):
        adapter.build(adapter.make(num_classes, initial_temperature=temperature), (2, num_classes))

    return BadCall({"num_classes": num_classes, "initial_temperature": temperature}, action)


@st.composite
def _mismatched_classes(draw):
    num_classes = draw(lcst.feature_sizes(max_size=16), label="num_classes")
    offset = draw(st.integers(1, 8), label="offset")
    last = draw(st.sampled_from([num_classes + offset, max(1, num_classes - offset)]).filter(lambda n: n != num_classes), label="last dimension")

    def action(adapter):
        adapter.call(adapter.make(num_classes), np.zeros((2, last), np.float32))

    return BadCall({"num_classes": num_classes, "last dimension": last}, action)


ERROR_INPUTS = (
    ErrorInput(
        id="bad initial_temperature",
        description="an initial_temperature that is not a finite real number at or above the floor",
        strategy=st.builds(_bad_temperature, lcst.feature_sizes(max_size=16), BAD_TEMPERATURES),
        names=("initial_temperature",),
    ),
    ErrorInput(
        id="num_classes does not match the inputs",
        description="inputs whose last dimension is not num_classes",
        strategy=_mismatched_classes(),
        names=("num_classes",),
    ),
    error_inputs.bad_count("num_classes", _arguments),
    error_inputs.rank_one_at_build(_arguments),
    error_inputs.rank_one_after_build(_arguments),
    error_inputs.unknown_last_dimension(_arguments),
)


def after_training(adapter, layer, example, case):
    """A training step keeps ``T`` at or above its floor (the MinValue constraint)."""
    floor = example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)
    check(adapter.weight(layer, "temperature") >= floor, case, "the temperature stays at or above its floor")



def _floor(example):
    return example.kwargs.get("min_temperature", DEFAULT_MIN_TEMPERATURE)


def _tied_maximum(example):
    rows = dtypes.rows(example.inputs)
    return bool(np.any(np.sum(rows == rows.max(axis=-1, keepdims=True), axis=-1) > 1))


#: The parts of each argument's documented domain (docs/temperature_softmax.md) the examples reach.
REGIONS = (
    Region("min_temperature", "the default 1e-3", lambda e: "min_temperature" not in e.kwargs),
    Region("min_temperature", "below the default", lambda e: _floor(e) < DEFAULT_MIN_TEMPERATURE),
    Region("min_temperature", "below 1e-9", lambda e: _floor(e) < 1e-9),
    Region("min_temperature", "above the default", lambda e: _floor(e) > DEFAULT_MIN_TEMPERATURE),
    Region("initial_temperature", "at the floor", lambda e: e.kwargs["initial_temperature"] == _floor(e)),
    Region("initial_temperature", "below 1", lambda e: e.kwargs["initial_temperature"] < 1.0),
    Region("initial_temperature", "above 10", lambda e: e.kwargs["initial_temperature"] > 10.0),
    Region("inputs", "rank 2", lambda e: e.inputs.ndim == 2),
    Region("inputs", "rank 3", lambda e: e.inputs.ndim == 3),
    Region("inputs", "one class", lambda e: e.inputs.shape[-1] == 1),
    Region("inputs", "more than 16 classes", lambda e: e.inputs.shape[-1] > 16),
    Region("inputs", "a row with a tied maximum", _tied_maximum),
    Region("inputs", "logits beyond 10 in magnitude", lambda e: float(np.max(np.abs(e.inputs), initial=0.0)) > 10.0),
)


SPEC = LayerSpec(
    name=NAME,
    factory="layercheck.layers.temperature_softmax:TemperatureSoftmax",
    constructor="TemperatureSoftmax(num_classes, initial_temperature=1.0, min_temperature=1e-3, **kwargs)",
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=("temperature",),
    gradient=Gradients(),
    capabilities={WIDTH, OUTPUT_SHAPE, INTEGER_INPUTS},
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    after_training=after_training,
    defaults={"initial_temperature": 1.0, "min_temperature": 1e-3},
    docs="docs/temperature_softmax.md",
    regions=REGIONS,
)
