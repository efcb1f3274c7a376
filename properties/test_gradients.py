"""Gradient properties of every layer: the tape against the reference VJPs and against finite
differences, for the inputs and every trainable weight (``temperature``; ``projection_weights``;
``kernel`` and ``recurrent_kernel``).

Invariants, one test each. The core of each is a ``check_*`` function of
:mod:`layercheck.gradients` (which documents the conventions: the memory cell's state held
constant through one call and through several, the temperature floor's tie, relu'(0) = 0, the
finite differences and the kink handling); tests/test_gradient_properties_catch_bad_gradients.py
runs the same functions on layers with deliberately wrong gradients.

1. the tape gradient equals the reference VJP for a random cotangent: float32 within
   ``tolerances.gradient``, float64 tight; eager, ``tf.function`` or XLA (drawn per example);
   every device; for the memory cell, one call with the state it held before as a constant;
2. a tape over several calls gives the sum of the per-call VJPs (for the memory cell each
   previous state is held constant: truncated BPTT with a window of one call);
3. the directional derivative ``v . J u`` equals 4-point central differences in float64, for
   each argument: a constant number of calls per example whatever the input size. Pre-
   activations within reach of the ReLU kink, and temperatures within reach of the floor,
   are MOVED off it (never silently dropped); the test asserts at the end that the filter did
   not starve it and that some comparison could see a 0.1% gradient error (run with
   ``--hypothesis-show-statistics`` for the per-example events: moved, signal, temperature
   range). The tally is a fixture spanning the test's examples; it asserts at teardown;
4. the full Jacobian equals ``tf.test.compute_gradient``'s numerical one on small examples:
   ``thorough`` profile only (it costs 2 evaluations per argument element and a tape per
   output element; skipped with the reason otherwise);
5. relu at exactly 0 has value 0 and gradient 0 (constructed exact zeros, checked exactly);
6. an optimizer step moves only the trainable weights: the tape watches exactly them, the
   basis and the state stay bit-identical, the weights move by -lr times the reference
   gradient. The per-layer files check that the basis and the state are not trainable and are
   unchanged by eager / tf.function training; this adds what the tape watches, XLA, and the
   size of the step;
7. at ``T == floor`` the gradient reaches ``T`` (the right derivative; flat on the left);
8. an SGD step past the floor, with the layer's own gradient, leaves ``T`` exactly at the floor;
9. a temperature assigned below the floor gets a zero gradient;
10. at extreme logits (up to float32's largest finite value) and temperatures down to the
    floor, the gradient is finite and equals the reference VJP (property 1 there).

The gradient with respect to ``T`` over its whole range, down to the floor, is property 1 and
3 on ``cases.examples`` (log-uniform temperatures in [1e-3, 1e3], one in ten at the floor,
labelled with ``hypothesis.event``).
"""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layercheck import adapters, cases, gradients, profiles
from layercheck import strategies as lcst
from layercheck.assertions import Case

LAYERS = adapters.LAYER_NAMES
#: Gradients are compared in the layer dtypes with a gradient tolerance that says something
#: about the backward pass; the 16-bit policies are left to the forward dtype property.
DTYPES = ("float32", "float64")
modes = st.sampled_from(adapters.MODES)
#: TemperatureSoftmax's default ``min_temperature``.
FLOOR = 1e-3

#: Property 2 repeats property 1 over several calls (up to 6 for the memory cell), per layer
#: and device; half the profile's examples keep the file within the CI budget (``thorough``
#: still runs 150 per layer and device).
half_the_examples = profiles.scaled(0.5, "several calls per example, per layer and device; property 1 covers one call")
#: Properties 5 to 9 check one constructed case each (exact ReLU zeros, a training step, one
#: branch of the temperature floor); properties 1 and 3 cover the examples' whole range.
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
    tally = gradients.KinkTally()
    yield tally
    params = request.node.callspec.params
    adapter = adapter_for(params["layer_name"])
    prop = gradients.PROP_JACOBIAN if "jacobian" in request.node.name else gradients.PROP_DIRECTIONAL
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
    inputs their own. For the memory cell this is the documented truncated BPTT (each previous
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
    gradients.check_directional_derivative(adapter_for(layer_name), example, seed=seed, device=device, tally=kink_tally)


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
    example = gradients.shrink_example(data.draw(cases.examples(layer_name), label="example"))
    seed = data.draw(lcst.seeds(), label="seed")
    gradients.check_full_jacobian(adapter_for(layer_name), example, seed=seed, device=device, tally=kink_tally)


# -- 5 -------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@a_third
@pytest.mark.parametrize("layer_name", ["nonnegative_projection"])
@given(data=st.data())
def test_relu_at_exactly_zero_has_value_zero_and_gradient_zero(layer_name, device, adapter_for, data):
    """Pre-activations that are exactly 0 in any dtype and summation order (a zero input row,
    a zero weight column, 1 - 1): coefficients exactly 0, and exactly 0 gradient for the row
    and the column, with the whole gradient equal to the reference's (relu'(0) = 0)."""
    example = data.draw(cases.examples(layer_name), label="example")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_relu_at_exactly_zero(
        adapter_for(layer_name), example, dtype=dtype, mode=mode, seed=seed, device=device
    )


# -- 6 -------------------------------------------------------------------------------------------


@pytest.mark.keras_only("Keras optimizers and trainable_weights")
@pytest.mark.parametrize("layer_name", LAYERS)
@a_third
@given(data=st.data())
def test_an_optimizer_step_moves_only_the_trainable_weights(layer_name, adapter_for, data):
    """An SGD step on a loss taped over the example's calls (eager, tf.function or XLA):
    layer.trainable_weights and the variables the tape watched are exactly the trainable
    weights, the non-trainable ones (basis, state) are bit-identical after the step, and each
    trainable weight moved by -lr times the reference gradient (the temperature then clipped
    to its floor). Bookkeeping: runs once, on the default device."""
    example = data.draw(cases.examples(layer_name), label="example")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_training_step(adapter_for(layer_name), example, mode=mode, seed=seed)


# -- 7, 8, 9: the temperature floor ----------------------------------------------------------------


@pytest.mark.device_sensitive
@a_third
@pytest.mark.parametrize("layer_name", ["temperature_softmax"])
@given(data=st.data())
def test_at_the_floor_the_gradient_reaches_the_temperature(layer_name, device, adapter_for, data):
    """At T == min_temperature exactly, dL/dT is the reference's (tf.maximum passes the gradient
    to T at the tie), not 0; in float64 it is the right derivative by one-sided differences and
    L is exactly flat to the left of the floor."""
    example = data.draw(cases.examples(layer_name), label="example")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_gradient_reaches_t_at_the_floor(
        adapter_for(layer_name), example, mode=mode, seed=seed, device=device
    )


@pytest.mark.keras_only("a Keras optimizer applying the weight's constraint")
@pytest.mark.device_sensitive
@a_third
@pytest.mark.parametrize("layer_name", ["temperature_softmax"])
@given(data=st.data())
def test_an_sgd_step_past_the_floor_leaves_the_temperature_exactly_at_the_floor(layer_name, device, adapter_for, data):
    """From T in [floor, 10 floor], an SGD step with the layer's own dL/dT > 0 and a learning
    rate that would send T to -T leaves T exactly at the floor (the MinValue constraint)."""
    example = data.draw(cases.examples(layer_name), label="example")
    temperature = data.draw(lcst.temperatures(1e-3, 1e-2), label="initial temperature")
    example = dataclasses.replace(example, kwargs={**example.kwargs, "initial_temperature": temperature})
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_sgd_step_past_the_floor_stops_at_the_floor(
        adapter_for(layer_name), example, mode=mode, seed=seed, device=device
    )


@pytest.mark.keras_only("the SGD step of the check uses a Keras optimizer and the weight's constraint")
@pytest.mark.device_sensitive
@a_third
@pytest.mark.parametrize("layer_name", ["temperature_softmax"])
@given(data=st.data())
def test_a_temperature_assigned_below_the_floor_gets_no_gradient(layer_name, device, adapter_for, data):
    """T assigned in [1e-6, 5e-4] (below the floor 1e-3; assign applies no constraint): dL/dT is
    exactly 0, the inputs' gradient is the reference's at T_eff = floor, and an SGD step with
    that zero gradient leaves T at the floor (lifted by the constraint)."""
    example = data.draw(cases.examples(layer_name), label="example")
    below = data.draw(lcst.temperatures(1e-6, 5e-4), label="assigned temperature")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_temperature_below_the_floor_gets_no_gradient(
        adapter_for(layer_name), example, below, mode=mode, seed=seed, device=device
    )


# -- 10 ------------------------------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", ["temperature_softmax"])
@given(data=st.data())
def test_at_extreme_logits_the_gradient_is_finite_and_equals_the_reference_vjp(layer_name, device, adapter_for, data):
    """Property 1 at logits up to float32's largest finite value (``lcst.extreme_logits``) and
    temperatures at the floor or below 1: every gradient is finite and equals the reference.

    Here ``x - max(x)`` reaches -6.8e38 (``-inf`` in float32) and ``z / T`` overflows; the
    forward pass hides it (such entries underflow to 0 either way) but the backward pass of
    ``z / T`` computes ``0 * (-z / T**2) = 0 * inf`` for dL/dT unless ``z`` is clamped first.
    The logits stay within float32's range in float64 too: at float64's own extremes the
    reference's ``x - max(x)`` overflows (the float64 forward pass there is property 8 of
    test_temperature_softmax.py).
    """
    example = data.draw(
        cases.examples(layer_name, logits=lambda shape: lcst.extreme_logits(shape, "float32")), label="example"
    )
    example.kwargs["initial_temperature"] = data.draw(
        st.one_of(st.just(FLOOR), lcst.temperatures(FLOOR, 1.0)), label="initial_temperature"
    )
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    mode = cases.mode_for(adapter_for(layer_name), data.draw(modes, label="mode"))
    seed = data.draw(lcst.seeds(), label="cotangent seed")
    gradients.check_vjp(adapter_for(layer_name), example, dtype=dtype, mode=mode, seed=seed, device=device)
