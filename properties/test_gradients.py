"""Gradient properties of every registered layer with a gradient model: the tape against the
reference VJPs and against finite differences, for the inputs and every trainable weight.

Invariants, one test each. The core of each is a ``check_*`` function of
:mod:`layercheck.gradients` or :mod:`layercheck.finite_differences` (which document the
conventions: a stateful layer's state held constant through one call and through several, the
finite differences and the kink handling); tests/test_gradient_properties_catch_bad_gradients.py
runs the same functions on layers with deliberately wrong gradients. What is particular to
one layer (a floor, a kink's value at exactly the kink) is in that layer's own file.

1. the tape gradient equals the reference VJP for a random cotangent: float32 within
   ``tolerances.gradient``, float64 tight; eager, ``tf.function`` or XLA (drawn per example);
   every device; for a stateful layer, one call with the state it held before as a constant;
2. a tape over several calls gives the sum of the per-call VJPs (for a stateful layer each
   previous state is held constant: truncated BPTT with a window of one call);
3. the directional derivative ``v . J u`` equals 4-point central differences in float64, for
   each argument: a constant number of calls per example whatever the input size. Points
   within reach of a kink are MOVED off it (never silently dropped); the test asserts at the
   end that the filter did not starve it and that some comparison could see a 0.1% gradient
   error (run with ``--hypothesis-show-statistics`` for the per-example events). The tally is
   a fixture spanning the test's examples; it asserts at teardown;
4. the full Jacobian equals ``tf.test.compute_gradient``'s numerical one on small examples:
   ``thorough`` profile only (it costs 2 evaluations per argument element and a tape per
   output element; skipped with the reason otherwise);
5. an optimizer step moves only the trainable weights: the tape watches exactly them, the
   non-trainable ones stay bit-identical, the weights move by -lr times the reference
   gradient (then through the weight's documented constraint).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layercheck import adapters, cases, finite_differences, gradients, profiles, registry
from layercheck import strategies as lcst
from layercheck.assertions import Case
from layercheck.pytest_plugin import call_passed

LAYERS = registry.names(gradients=True)
#: Gradients are compared in the layer dtypes with a gradient tolerance that says something
#: about the backward pass; the 16-bit policies are left to the forward dtype property.
DTYPES = ("float32", "float64")
modes = st.sampled_from(adapters.MODES)

#: Property 2 repeats property 1 over several calls (up to 6 for a stateful layer), per layer
#: and device; half the profile's examples keep the file within the CI budget (``thorough``
#: still runs 150 per layer and device).
half_the_examples = profiles.scaled(0.5, "several calls per example, per layer and device; property 1 covers one call")
#: Property 5 checks one training step per example; properties 1 and 3 cover the range.
a_third = profiles.scaled(0.3, "one constructed case per example; properties 1 and 3 cover the range")


def _spanning_all_examples(scaled):
    """``scaled`` settings that also allow the function-scoped ``kink_tally`` fixture: it is
    meant to span all of the test's examples (Hypothesis warns because fixtures are not reset
    between examples; here that is the point)."""
    return settings(
        scaled, suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.function_scoped_fixture]
    )


@pytest.fixture
def kink_tally(request, adapter_for):
    """A :class:`~layercheck.gradients.KinkTally` over all of one test's examples. At teardown,
    after the last example, it fails the test if the kink filter starved the property (more
    than a tenth discarded) or no comparison could see a 0.1% gradient error."""
    tally = finite_differences.KinkTally()
    yield tally
    if not call_passed(request.node):
        return  # its own failure is the report; a starved tally of failing examples would mislead
    params = request.node.callspec.params
    adapter = adapter_for(params["layer_name"])
    prop = finite_differences.PROP_JACOBIAN if "jacobian" in request.node.name else finite_differences.PROP_DIRECTIONAL
    tally.check_not_starved(Case(adapter.contract.class_name, prop, params["device"].name, "float64", {}))


# -- 1 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_tape_gradient_equals_the_reference_vjp(layer_name, device, adapter_for, data):
    """d/dx and d/dweights of sum(v * layer(x)) equal the reference VJP on the values the layer
    saw (float32: tolerances.gradient, scaled by the VJP of absolute values; float64: tight).
    A wrong backward pass (custom gradient, stop_gradient, frozen weight) shows here first."""
    example = data.draw(cases.examples(layer_name), label="example")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_vjp(adapter_for(layer_name), example, dtype=dtype, mode=mode, seed=seed, device=device)


# -- 2 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@half_the_examples
@given(data=st.data())
def test_a_tape_over_several_calls_gives_the_sum_of_the_per_call_vjps(layer_name, device, adapter_for, data):
    """One tape over several calls: the weights get the sum of the per-call VJPs and each call's
    inputs their own. For a stateful layer this is the documented truncated BPTT (each previous
    state a constant); a cell that let the gradient flow through the state into earlier calls
    fails here."""
    example = data.draw(cases.examples(layer_name), label="example")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_several_calls(adapter_for(layer_name), example, dtype=dtype, mode=mode, seed=seed, device=device)


# -- 3 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@_spanning_all_examples(settings.default)
@given(data=st.data())
def test_directional_derivative_equals_central_differences(layer_name, device, adapter_for, kink_tally, data):
    """For each argument, <tape gradient, u> equals the central difference of L along u in
    float64: independent of the reference, 4 evaluations per argument whatever the size.

    ``kink_tally`` counts, over all the examples, the moves off kinks (labelled with
    hypothesis.event as well) and fails the test at teardown if discarding ever starved it."""
    example = data.draw(cases.examples(layer_name), label="example")
    seed = data.draw(lcst.seeds(), label="direction seed")
    finite_differences.check_directional_derivative(adapter_for(layer_name), example, seed=seed, device=device, tally=kink_tally)


# -- 4 -------------------------------------------------------------------------------------------


#: The profile is loaded (pytest_configure) before this module is imported.
_PROFILE = settings._current_profile


@pytest.mark.skipif(
    _PROFILE != "thorough",
    reason=f"full Jacobians cost O(size) evaluations per example: thorough profile only "
    f"(current profile: {_PROFILE}; run with --hypothesis-profile=thorough)",
)
@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@_spanning_all_examples(profiles.scaled(0.2, "a full Jacobian costs a tape per output element and 2 calls per argument element"))
@given(data=st.data())
def test_full_jacobian_equals_compute_gradient(layer_name, device, adapter_for, kink_tally, data):
    """On examples cropped to at most 3 along every axis, the tape's Jacobian for each argument
    equals tf.test.compute_gradient's numerical Jacobian (float64).

    Selected by profile, not by a marker: the cost is the profile's business (a marker would
    need every CI job to remember a -m option), and the skip reason says how to run it."""
    example = finite_differences.shrink_example(data.draw(cases.examples(layer_name), label="example"))
    seed = data.draw(lcst.seeds(), label="seed")
    finite_differences.check_full_jacobian(adapter_for(layer_name), example, seed=seed, device=device, tally=kink_tally)


# -- 5 -------------------------------------------------------------------------------------------


@pytest.mark.keras_only("Keras optimizers and trainable_weights")
@pytest.mark.parametrize("layer_name", LAYERS)
@a_third
@given(data=st.data())
def test_an_optimizer_step_moves_only_the_trainable_weights(layer_name, adapter_for, data):
    """An SGD step on a loss taped over the example's calls (eager, tf.function or XLA):
    layer.trainable_weights and the variables the tape watched are exactly the trainable
    weights, the non-trainable ones (a fixed basis, a state) are bit-identical after the step, and each
    trainable weight moved by -lr times the reference gradient (then through the weight's
    documented constraint). Bookkeeping: runs once, on the default device."""
    example = data.draw(cases.examples(layer_name), label="example")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_training_step(adapter_for(layer_name), example, mode=mode, seed=seed)
