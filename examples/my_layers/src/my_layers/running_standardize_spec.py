"""The layercheck spec of :class:`~my_layers.running_standardize.RunningStandardize`.

What the generic properties see: every call they make is ``layer(x)`` (``training=None``),
the inference path ``y = (x - moving_mean) / sqrt(moving_variance + epsilon)``, with drawn
moving statistics assigned as the example's weights. The layer has no trainable weight; the
gradient properties check ``d/dx`` (the statistics are constants in inference) and that an
optimizer step leaves both statistics bit-identical. The distributed training step
(``model.fit``, which calls with ``training=True``) checks, through ``after_training``, that
the moving statistics moved by the documented update from the batch's statistics.

Not the generic ``STATEFUL`` capability: that one means a state sized by the batch, inputs as
sequences ``(steps, batch, ...)`` with one call per step, a state that ``.keras`` files and
``save_weights`` do NOT carry, an export after ``reset_state``, and gradients through the
state by teacher forcing; none of it is this layer, whose state is per channel, saved with
the weights, and changed only by training calls, which the adapter cannot make (it has no
``training`` argument). The training and inference invariants are in
``examples/my_layers/tests/test_running_standardize.py``.

The round trips draw both initializers and do NOT assign the statistics: the config round
trip of a built layer copies only the trainable weights and expects every non-trainable one
to come out of the config (a fixed basis), so assigned statistics would be reported as lost.
A random initializer (drawn half the time) makes statistics that ``save_weights`` forgot show
in the weights round trip (the fresh model is seeded differently).
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layercheck import dtypes, error_inputs, tolerances
from layercheck import strategies as lcst
from layercheck.assertions import assert_close
from layercheck.cases import Example
from layercheck.gradients import GradientModel, Point, underflow
from layercheck.spec import OUTPUT_SHAPE, WIDTH, BadCall, EdgeSample, ErrorInput, LayerSpec
from my_layers import _strategies
from my_layers.reference import running_standardize as reference

NAME = "running_standardize"
DEFAULT_MOMENTUM = 0.99
DEFAULT_EPSILON = 1e-3
INPUT_FAMILIES = {"unit": 1.0, "moderate": 30.0, "large": 1e3}


# -- examples -----------------------------------------------------------------------------------


def momenta():
    """The default, 0 (the moving statistics become the batch's), and [0, 0.999]."""
    return st.one_of(st.just(DEFAULT_MOMENTUM), st.just(0.0), st.floats(0.0, 0.999).map(lambda m: float(np.float32(m))))


def epsilons():
    return st.one_of(st.just(DEFAULT_EPSILON), _strategies.log_uniform(-8.0, 0.0))


@st.composite
def statistics(draw, n):
    """``(moving_mean, moving_variance)``: means up to 100 in magnitude, variances 0 (then
    epsilon alone) or 1e-3 to 1e4, as float32."""
    mean = draw(lcst.logits((n,), max_magnitude=100.0), label="moving_mean")
    variance = draw(
        hnp.arrays(np.float32, (n,), elements=st.one_of(st.just(0.0), st.floats(1e-3, 1e4).map(lambda v: float(np.float32(v))))), label="moving_variance"
    )
    return mean, variance


#: The largest output an example may have: the gate compares every example in every policy,
#: and a mixed_float16 output beyond float16's 65504 is inf (the layer returns the compute
#: dtype), which no float64 reference matches.
MAX_OUTPUT = 3.0e4


def _within_float16(inputs, mean, variance, epsilon):
    """``variance`` raised where ``(|x| + |mean|) / sqrt(variance + epsilon)`` would exceed
    :data:`MAX_OUTPUT` (a variance of 0 with a tiny epsilon and a large mean reaches 1e6)."""
    reach = np.abs(np.asarray(inputs, np.float64)).reshape(-1, np.shape(inputs)[-1]).max(axis=0) + np.abs(mean)
    floor = (reach / MAX_OUTPUT) ** 2 - float(epsilon)
    raised = np.where(variance < floor, np.float32(1.01) * floor.astype(np.float32), variance).astype(np.float32)
    if (raised != variance).any():
        from layercheck.gradients import event

        event("running_standardize: variance raised to keep the outputs within float16")
    return raised


@st.composite
def examples(draw, *, max_rank=4, features=None, with_statistics=True):
    """Ranks 2 to ``max_rank`` (up to 64 channels), the input families (up to 1e3), momenta
    in [0, 0.999], epsilons 1e-8 to 1, drawn moving statistics; ``features``: a strategy of the
    width (then inputs (batch, width), batch 1 to 3)."""
    if features is not None:
        shape = (draw(st.integers(1, 3), label="batch"), draw(features, label="features"))
    else:
        shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
    inputs = draw(_strategies.valued_inputs(shape, INPUT_FAMILIES))
    kwargs = {"momentum": draw(momenta(), label="momentum"), "epsilon": draw(epsilons(), label="epsilon")}
    weights = {}
    if with_statistics:
        mean, variance = draw(statistics(shape[-1]))
        variance = _within_float16(inputs, mean, variance, kwargs["epsilon"])
        weights = {"moving_mean": mean, "moving_variance": variance}
    return Example(NAME, (), kwargs, inputs, weights, draw(lcst.seeds()))


@st.composite
def round_trip_examples(draw):
    """Both initializers drawn (or left out); the statistics come from them (see the module
    docstring)."""
    example = draw(examples(with_statistics=False))
    drawn = {}
    for name in ("moving_mean_initializer", "moving_variance_initializer"):
        if draw(st.booleans(), label=f"{name} given"):
            drawn[name] = draw(_strategies.initializers_of_vectors(), label=name)
    return dataclasses.replace(example, kwargs={**example.kwargs, **drawn})


# -- the reference on what the layer saw --------------------------------------------------------


def epsilon_seen(example, dtype):
    epsilon = example.kwargs.get("epsilon", DEFAULT_EPSILON)
    return float(epsilon) if dtype == "float64" else float(np.float32(epsilon))


def momentum_seen(example, dtype):
    momentum = example.kwargs.get("momentum", DEFAULT_MOMENTUM)
    return float(momentum) if dtype == "float64" else float(np.float32(momentum))


def statistics_seen(example, dtype):
    """The statistics as the layer holds them (not autocast: float32, float64 for float64);
    the initializers' zeros and ones when the example assigns none."""
    n = np.shape(example.inputs)[-1]
    mean = example.weights.get("moving_mean", np.zeros(n))
    variance = example.weights.get("moving_variance", np.ones(n))
    return dtypes.as_seen(mean, dtypes.held(dtype)), dtypes.as_seen(variance, dtypes.held(dtype))


def reference_outputs(example, dtype):
    mean, variance = statistics_seen(example, dtype)
    return reference.inference(dtypes.as_seen(example.inputs, dtype), mean, variance, epsilon_seen(example, dtype))


def error_scale(example, dtype):
    """``(|x| + |moving_mean|) / sqrt(moving_variance + epsilon)``, floored at 1."""
    mean, variance = statistics_seen(example, dtype)
    x = dtypes.as_seen(example.inputs, dtype)
    return np.maximum((np.abs(x) + np.abs(mean)) / np.sqrt(variance + epsilon_seen(example, dtype)), 1.0)


# -- gradients (inference: the statistics are constants) ------------------------------------------


class Gradients(GradientModel):
    """``d/dx = v / sqrt(moving_variance + epsilon)``; no trainable weight."""

    def point(self, example, dtype):
        mean, variance = statistics_seen(example, dtype)
        constants = {"moving_mean": mean, "moving_variance": variance, "epsilon": epsilon_seen(example, dtype)}
        return Point(NAME, dtypes.as_seen(example.inputs, dtype), {}, constants)

    def _root(self, point):
        return np.sqrt(point.constants["moving_variance"] + point.constants["epsilon"])

    def output_shape(self, point):
        return point.inputs.shape

    def vjp(self, point, cotangent, decisions=None):
        c = point.constants
        return {"inputs": reference.inference_vjp(point.inputs, c["moving_mean"], c["moving_variance"], c["epsilon"], cotangent)}

    def vjp_scales(self, point, cotangent, decisions=None, dtype="float64"):
        return {"inputs": np.abs(np.asarray(cotangent, dtype=np.float64)) / self._root(point) + underflow(dtype)}

    def difference_scale(self, point):
        return (np.abs(point.inputs) + np.abs(point.constants["moving_mean"])) / self._root(point)

    def inner_rate(self, point, name, direction, every_output=False):
        rate = np.abs(np.asarray(direction, dtype=np.float64)) / self._root(point)
        return float(np.max(rate)) if rate.size else 0.0

    def shrink(self, example, max_side=3):
        x = np.asarray(example.inputs)
        x = x[tuple(slice(0, max_side) for _ in x.shape)]
        weights = {name: np.asarray(value)[: x.shape[-1]] for name, value in example.weights.items()}
        return dataclasses.replace(example, inputs=x, weights=weights)


# -- a training step keeps... --------------------------------------------------------------------


def after_training(adapter, layer, example, case):
    """One ``model.fit`` step (``training=True``; every replica gets the example's inputs):
    the moving statistics moved from the drawn ones by the documented update towards the
    batch's mean and biased variance (which the repeated global batch shares)."""
    x = dtypes.as_seen(example.inputs, "float32")
    mean, variance = statistics_seen(example, "float32")
    _, expected_mean, expected_variance = reference.training(x, mean, variance, momentum_seen(example, "float32"), 0.0)
    tolerance = tolerances.forward("float32", adapter.spec, "the moving statistics after a training step")
    for name, expected in (("moving_mean", expected_mean), ("moving_variance", expected_variance)):
        batch_terms = np.abs(reference.rows(x)).max(axis=0) ** (2 if name == "moving_variance" else 1)
        assert_close(
            adapter.weight(layer, name),
            expected,
            case,
            tolerance,
            claim=f"after one training step {name} = momentum * old + (1 - momentum) * the batch's "
            + ("mean" if name == "moving_mean" else "biased variance"),
            scale=np.maximum(np.abs(expected) + batch_terms, 1.0),
        )


# -- fixed samples -------------------------------------------------------------------------------


def _sample(case_id, inputs, mean, variance, exercises, *, dtype="float32", **kwargs):
    working = dtypes.working_dtype(dtype)
    weights = {"moving_mean": np.asarray(mean, working), "moving_variance": np.asarray(variance, working)}
    example = Example(NAME, (), kwargs, np.asarray(inputs, working), weights, 0)
    return EdgeSample(case_id, example, exercises, dtype)


def edge_samples():
    rng = np.random.default_rng(20260303)
    normal = rng.standard_normal
    return [
        _sample("fresh", normal((4, 3)), np.zeros(3), np.ones(3), "the initial statistics: y = x / sqrt(1 + epsilon)"),
        _sample("shifted", 5 + normal((2, 3, 4)), 5 * np.ones(4), [0.5, 1.0, 2.0, 4.0], "rank 3, mean 5, several variances"),
        _sample("zero_variance", normal((3, 2)), [0.0, 1.0], [0.0, 0.0], "variance 0: epsilon alone", epsilon=0.25),
        _sample("float64", normal((3, 4)), normal(4), np.abs(normal(4)), "dtype float64", dtype="float64", epsilon=1e-8),
    ]


# -- error inputs --------------------------------------------------------------------------------


def _arguments(features):
    return (), {}


def _constructor_error(argument, values, description):
    def bad(value):
        return BadCall({argument: value}, lambda adapter: adapter.make(**{argument: value}))

    return ErrorInput(id=f"bad {argument}", description=description, strategy=st.sampled_from(values).map(bad), names=(argument,))


ERROR_INPUTS = (
    _constructor_error("momentum", [-0.1, 1.0, 1.5, np.nan, np.inf, "0.9", None, True], "a momentum outside [0, 1)"),
    _constructor_error("epsilon", [0.0, -1e-3, np.nan, np.inf, "1e-3", None, False], "an epsilon that is not a finite positive real"),
    _constructor_error("moving_mean_initializer", ["no_such_initializer", None, 0.5], "a moving_mean_initializer Keras cannot interpret"),
    _constructor_error("moving_variance_initializer", ["no_such_initializer", None, [1.0]], "a moving_variance_initializer Keras cannot interpret"),
    error_inputs.rank_one_at_build(_arguments),
    error_inputs.rank_one_after_build(_arguments),
    error_inputs.unknown_last_dimension(_arguments),
)


SPEC = LayerSpec(
    name=NAME,
    factory="my_layers.running_standardize:RunningStandardize",
    constructor='RunningStandardize(momentum=0.99, epsilon=1e-3, moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs)',
    examples=examples,
    round_trip_examples=round_trip_examples,
    reference=reference_outputs,
    trainable=(),
    non_trainable=("moving_mean", "moving_variance"),
    error_scale=error_scale,
    gradient=Gradients(),
    capabilities={WIDTH, OUTPUT_SHAPE},
    edge_samples=edge_samples,
    error_inputs=ERROR_INPUTS,
    after_training=after_training,
    defaults={"momentum": DEFAULT_MOMENTUM, "epsilon": DEFAULT_EPSILON, "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"},
    keras_only_defaults=("moving_mean_initializer", "moving_variance_initializer"),
    docs="examples/my_layers/src/my_layers/running_standardize.py",
)
