"""The gradient properties catch layers with wrong gradients.

Each known-bad layer (``tests/zoo/bad_gradients.py``: the production forward pass, one broken
gradient) goes through the core of a property of ``properties/test_gradients.py`` (a ``check_*``
function of ``layercheck.gradients``), through a ``KerasAdapter`` whose factory is the bad
class, and must raise PropertyFailure with the claim that names what is wrong; the production
layer goes through the same check on the same example and passes, so no test here can pass
by a check that fails everything.
"""

import dataclasses

import numpy as np
import pytest

from layercheck import cases, finite_differences, gradients, registry, tolerances
from layercheck.adapters import KerasAdapter
from layercheck.layers import nonnegative_projection_checks, temperature_softmax_checks
from layercheck.assertions import Case, PropertyFailure
from tests.zoo import bad_gradients as zoo


def softmax_example(temperature=0.7):
    rng = np.random.default_rng(1)
    return cases.Example(
        layer="temperature_softmax",
        args=(5,),
        kwargs={"initial_temperature": temperature},
        inputs=(2.0 * rng.standard_normal((3, 5))).astype(np.float32),
        weights={},
        seed=1,
    )


def projection_example():
    rng = np.random.default_rng(2)
    return cases.Example(
        layer="nonnegative_projection",
        args=(rng.uniform(-4.0, 4.0, (3, 6)).astype(np.float32).tolist(),),
        kwargs={},
        inputs=rng.uniform(-3.0, 3.0, (4, 5)).astype(np.float32),
        weights={"projection_weights": rng.uniform(-2.0, 2.0, (5, 3)).astype(np.float32)},
        seed=2,
    )


def memory_cell_example():
    """Three calls, moderate pre-activations (no saturated tanh), a non-symmetric R."""
    rng = np.random.default_rng(3)
    return cases.Example(
        layer="memory_cell",
        args=(3,),
        kwargs={},
        inputs=rng.uniform(-1.0, 1.0, (3, 2, 4)).astype(np.float32),
        weights={
            "kernel": rng.uniform(-0.5, 0.5, (4, 3)).astype(np.float32),
            "recurrent_kernel": rng.uniform(-0.5, 0.5, (3, 3)).astype(np.float32),
        },
        seed=3,
    )


def kinked_projection_example():
    return nonnegative_projection_checks.kinked_example(projection_example())[0]


#: (property check, layer, bad class, example, keyword arguments, the claim that must fail)
CAUGHT = [
    # 1. the tape against the reference VJP
    (gradients.check_vjp, "temperature_softmax", zoo.ForgottenMeanSoftmax, softmax_example, {"mode": "xla"}, "with respect to 'inputs' equals the reference VJP"),
    (gradients.check_vjp, "temperature_softmax", zoo.StopGradientTemperatureSoftmax, softmax_example, {}, "gives a gradient with respect to 'temperature'"),
    (gradients.check_vjp, "temperature_softmax", zoo.FrozenTemperatureSoftmax, softmax_example, {"mode": "function"}, "gives a gradient with respect to 'temperature'"),
    (gradients.check_vjp, "nonnegative_projection", zoo.StraightThroughReluProjection, projection_example, {}, "equals the reference VJP"),
    (gradients.check_vjp, "nonnegative_projection", zoo.ReluGradOneAtZeroProjection, kinked_projection_example, {"dtype": "float64"}, "equals the reference VJP"),
    (gradients.check_vjp, "memory_cell", zoo.TransposedRecurrentGradientCell, memory_cell_example, {}, "with respect to 'recurrent_kernel' equals the reference VJP"),
    # 2. several calls on one tape
    (gradients.check_several_calls, "memory_cell", zoo.BackpropThroughStateCell, memory_cell_example, {}, "3 calls on one tape"),
    (gradients.check_several_calls, "memory_cell", zoo.TransposedRecurrentGradientCell, memory_cell_example, {"mode": "function"}, "'recurrent_kernel'"),
    # 3. directional finite differences (no reference involved)
    (finite_differences.check_directional_derivative, "temperature_softmax", zoo.ForgottenMeanSoftmax, softmax_example, {}, "central difference"),
    (finite_differences.check_directional_derivative, "temperature_softmax", zoo.StopGradientTemperatureSoftmax, softmax_example, {}, "gradient with respect to 'temperature'"),
    (finite_differences.check_directional_derivative, "nonnegative_projection", zoo.StraightThroughReluProjection, projection_example, {}, "central difference"),
    (finite_differences.check_directional_derivative, "memory_cell", zoo.TransposedRecurrentGradientCell, memory_cell_example, {}, "wrt 'recurrent_kernel'"),
    # 4. the full Jacobian (the thorough profile's property; its core runs here on any profile)
    (finite_differences.check_full_jacobian, "temperature_softmax", zoo.ForgottenMeanSoftmax, softmax_example, {}, "with respect to 'inputs'"),
    (finite_differences.check_full_jacobian, "nonnegative_projection", zoo.StraightThroughReluProjection, projection_example, {}, "compute_gradient"),
    (finite_differences.check_full_jacobian, "memory_cell", zoo.TransposedRecurrentGradientCell, memory_cell_example, {}, "with respect to 'recurrent_kernel'"),
    # 5. relu at exactly 0
    (nonnegative_projection_checks.check_relu_at_exactly_zero, "nonnegative_projection", zoo.ReluGradOneAtZeroProjection, projection_example, {}, r"relu'\(0\) = 0"),
    # 6. an optimizer step moves only the trainable weights
    (gradients.check_training_step, "nonnegative_projection", zoo.TrainableBasisProjection, projection_example, {"mode": "xla"}, "are exactly the trainable weights"),
    (gradients.check_training_step, "temperature_softmax", zoo.FrozenTemperatureSoftmax, softmax_example, {}, "trainable_weights"),
    (gradients.check_training_step, "temperature_softmax", zoo.UntrainedTemperatureSoftmax, softmax_example, {"mode": "function"}, "trainable_weights"),
    # 7, 8, 9. the temperature floor
    (temperature_softmax_checks.check_gradient_reaches_t_at_the_floor, "temperature_softmax", zoo.StrictFloorSoftmax, softmax_example, {}, "the gradient reaches T"),
    (temperature_softmax_checks.check_sgd_step_past_the_floor_stops_at_the_floor, "temperature_softmax", zoo.UnconstrainedSoftmax, lambda: softmax_example(0.004), {}, "T is exactly the floor"),
    (temperature_softmax_checks.check_temperature_below_the_floor_gets_no_gradient, "temperature_softmax", zoo.StraightThroughFloorSoftmax, softmax_example, {"below": 2e-4}, "dL/dT is exactly 0"),
]


def _id(entry):
    check, _, bad, _, kwargs, _ = entry
    mode = kwargs.get("mode", "")
    return f"{check.__name__.removeprefix('check_')}-{bad.__name__}" + (f"-{mode}" if mode else "")


def _run(check, layer, factory, make_example, kwargs):
    kwargs = dict(kwargs)
    below = kwargs.pop("below", None)
    adapter = KerasAdapter(layer, factory=factory) if factory is not None else KerasAdapter(layer)
    args = (below,) if below is not None else ()
    check(adapter, make_example(), *args, **kwargs)


@pytest.mark.parametrize("entry", CAUGHT, ids=[_id(entry) for entry in CAUGHT])
def test_the_property_catches_the_bad_gradient(entry):
    check, layer, bad, make_example, kwargs, claim = entry
    with pytest.raises(PropertyFailure, match=claim) as caught:
        _run(check, layer, bad, make_example, kwargs)
    # The report names the layer and the property (the standard header).
    assert bad.__mro__[1].__name__ in str(caught.value) or "property" in str(caught.value)


@pytest.mark.parametrize("entry", CAUGHT, ids=[_id(entry) for entry in CAUGHT])
def test_the_production_layer_passes_the_same_check(entry):
    check, layer, _, make_example, kwargs, _ = entry
    _run(check, layer, None, make_example, kwargs)


def test_the_directional_check_moves_exact_relu_kinks_and_counts_them():
    """A zero input row and a zero weight column put pre-activations exactly on the kink; the
    directional check moves them off (it does not discard them) and says so in its tally."""
    example, _ = nonnegative_projection_checks.kinked_example(projection_example())
    tally = finite_differences.KinkTally()
    finite_differences.check_directional_derivative(KerasAdapter("nonnegative_projection"), example, seed=5, tally=tally)
    assert tally.checked == 2 and tally.moved >= 1 and tally.entries_moved > 0 and tally.discarded == 0, tally.summary()


def test_a_starved_tally_fails_with_its_counts():
    case = Case("NonNegativeProjection", finite_differences.PROP_DIRECTIONAL, "CPU:0", "float64", {})
    with pytest.raises(PropertyFailure, match="0 argument\\(s\\) compared"):
        finite_differences.KinkTally(discarded=4).check_not_starved(case)
    with pytest.raises(PropertyFailure, match="resolved the derivative"):
        finite_differences.KinkTally(checked=4).check_not_starved(case)
    finite_differences.KinkTally(checked=9, discarded=1, informative=1).check_not_starved(case)


def test_the_finite_difference_tolerances_are_registered_under_the_property_names():
    """tolerances.PROPERTY_OVERRIDES spells the property names out (it cannot import the checks)."""
    for prop in (finite_differences.PROP_DIRECTIONAL, finite_differences.PROP_JACOBIAN, temperature_softmax_checks.ONE_SIDED_AT_THE_FLOOR):
        assert (prop, "float64") in tolerances.PROPERTY_OVERRIDES, prop
        for name in registry.names(gradients=True):
            assert tolerances.gradient("float64", name, prop) is tolerances.PROPERTY_OVERRIDES[(prop, "float64")], (name, prop)


def test_a_temperature_given_as_a_weight_is_the_one_the_gradient_is_taken_at():
    """cases.make_layer assigns a "temperature" weight over the initial temperature; the
    reference must use the same value."""
    example = dataclasses.replace(softmax_example(), weights={"temperature": np.float32(2.5)})
    point = registry.get("temperature_softmax").gradient.point(example, "float32")
    assert float(point.weights["temperature"]) == 2.5
    gradients.check_vjp(KerasAdapter("temperature_softmax"), example)


def test_subnormal_products_do_not_flip_the_reference_relu_decision():
    """Found by the thorough profile: 0.5 * 1.18e-38 is a float32 subnormal, which TensorFlow
    flushes to 0 before summing, so x @ W (1.8e-38 in float64) is exactly 0 in the layer and
    relu' = 0 there. The harness takes the layer's own ReLU decision within n * tiny of 0."""
    adapter = KerasAdapter("nonnegative_projection")
    smallest_normal = np.float32(1.1754944e-38)
    example = cases.Example(
        layer="nonnegative_projection",
        args=([[1.0]],),
        kwargs={},
        inputs=np.full((1, 3), -0.5, np.float32),
        weights={"projection_weights": np.full((3, 1), -smallest_normal, np.float32)},
        seed=0,
    )
    gradients.check_vjp(adapter, example)
    square = dataclasses.replace(
        example,
        args=([[0.0], [0.0], [1.0]],),
        inputs=np.full((3, 3), -0.5, np.float32),
        weights={"projection_weights": np.full((3, 3), -smallest_normal, np.float32)},
    )
    nonnegative_projection_checks.check_relu_at_exactly_zero(adapter, square)


def test_the_teacher_forced_reference_is_memory_cell_sequence_vjp():
    """The memory cell's gradient model replays memory_cell_sequence_vjp one call at a time from the
    states the layer held; from the reference's own states it is the whole-sequence VJP."""
    from reference import memory_cell as reference

    rng = np.random.default_rng(4)
    xs, gs = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 5))
    k, r = rng.standard_normal((3, 5)), 0.5 * rng.standard_normal((5, 5))
    _, states = reference.memory_cell_sequence(xs, k, r)
    before = np.concatenate([np.zeros((1, 2, 5)), states[:-1]])
    point = gradients.Point("memory_cell", xs, {"kernel": k, "recurrent_kernel": r}, {"states": before})
    ours = registry.get("memory_cell").gradient.vjp(point, gs)
    theirs = dict(zip(("inputs", "kernel", "recurrent_kernel"), reference.memory_cell_sequence_vjp(xs, k, r, gs)))
    for name, expected in theirs.items():
        np.testing.assert_allclose(ours[name], expected, rtol=1e-13, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("maximum", [-1.0, 1.0, -9.0, 9.0, 0.0])
@pytest.mark.parametrize("temperature", [1e-9, 1e-3, 1.0])
def test_the_floor_checks_put_an_entry_one_temperature_below_the_maximum(maximum, temperature):
    """The floor checks need dL/dT to be far from 0: an entry at z = -1 in row 0. Where the
    logits' spacing is coarser than T the row is shifted to a maximum of 0 first, for negative
    maxima too (a soak run found -1 - 1e-9 rounded to the next float below -1, z = -120, and a
    dL/dT of 2e-41 that float32 flushes to 0)."""
    example = cases.Example("temperature_softmax", (2,), {}, np.array([[maximum, maximum - 3.0]], np.float32), {}, 0)
    live = temperature_softmax_checks.with_live_temperature_gradient(example, temperature)
    row = live.inputs[0].astype(np.float64)
    z = (row - row.max()) / np.float64(np.float32(temperature))
    assert np.sort(z)[-2] == pytest.approx(-1.0, rel=1e-3), (row, z)


def test_the_training_step_takes_the_layers_relu_decisions_before_the_step():
    """Pre-activations within rounding of 0 take the layer's own ReLU side from the layer
    itself; the training-step check must ask it before the optimizer moves the weights. A dev
    soak run found x = -1, W = -(smallest normal): x @ W is the smallest normal, > 0, so the
    gradient flows and the step moves W to 0.05; asked after the step, the layer said x @ W < 0
    and the check expected no movement (a false alarm on the production layer)."""
    tiny = np.finfo(np.float32).tiny
    example = cases.Example(
        layer="nonnegative_projection",
        args=([[1.0], [-2.0], [3.0]],),
        kwargs={},
        inputs=np.array([[-1.0]], np.float32),
        weights={"projection_weights": np.full((1, 3), -tiny, np.float32)},
        seed=0,
    )
    gradients.check_training_step(KerasAdapter("nonnegative_projection"), example)
