"""Properties every layer shares: execution modes, devices, dtypes and shapes.

* eager, ``tf.function`` and XLA give the same outputs;
* a traced call is not traced again for every call;
* every device gives the same outputs;
* float32, float64, mixed_float16 and mixed_bfloat16 each match the reference within that
  dtype's tolerance, with float weights in float32 (float64 for float64) and outputs in the
  compute dtype;
* the output shape is what ``compute_output_shape`` says;
* integer inputs give what the same values as floats give (layers that claim it).
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, dtypes, profiles, registry, tolerances
from layercheck.assertions import Case, assert_close, check
from layercheck.spec import INTEGER_INPUTS, OUTPUT_SHAPE, WIDTH

LAYERS = registry.names()
DTYPES = dtypes.GATE_POLICIES
dtype_name = dtypes.name_of


@pytest.mark.keras_only("tf.function and XLA (jit_compile) are TensorFlow's execution modes")
@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_eager_function_and_xla_agree(layer_name, device, adapter_for, data):
    """One example, three fresh layers with the same weights: eager, tf.function, XLA."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    case = Case(adapter.contract.class_name, "eager, tf.function and XLA agree", device.name, "float32", example.params())
    with tf.device(device.tf_name):
        eager, _ = cases.run(adapter, example, "eager")
        for mode in ("function", "xla"):
            traced, _ = cases.run(adapter, example, mode)
            assert_close(
                traced,
                eager,
                case,
                tolerances.forward("float32", layer_name, "modes agree", device),
                claim=f"the {mode} output equals the eager output",
                scale=cases.error_scale(example),
            )


@pytest.mark.keras_only("tf.function tracing")
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_traced_call_is_not_retraced_for_every_call(layer_name, adapter_for, data):
    """Calls with one input shape trace once; new batch sizes generalise the trace once."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    case = Case(adapter.contract.class_name, "a traced call is not retraced for every call", params=example.params())
    layer = cases.make_layer(adapter, example)
    cases.run(adapter, example, "function", layer=layer)
    if not adapter.spec.stateful:  # (a stateful layer's sequence already repeats the shape)
        cases.run(adapter, example, "function", layer=layer)
    traces = adapter.tracing_count(layer, "function")
    check(traces == 1, case, "calls with one input shape trace the call once", f"traced {traces} times")
    if adapter.spec.stateful:
        return  # the state fixes the batch size: another batch size is an error, not a retrace
    inputs = example.call_inputs[0]
    for batch in (1, 3, 5):
        adapter.call(layer, np.repeat(inputs[:1], batch, axis=0), "function")
    traces = adapter.tracing_count(layer, "function")
    check(
        traces <= 2,
        case,
        "three more batch sizes add at most one trace (a shape-relaxed one)",
        f"traced {traces} times for 4 batch sizes",
    )


@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_devices_agree(layer_name, adapter_for, layercheck_devices, data):
    """The same example on every logical device gives the same outputs."""
    run_devices = layercheck_devices
    if len(run_devices) < 2:
        pytest.skip(f"only one device selected ({run_devices[0]}): nothing to compare")
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    outputs = {}
    for device in run_devices:
        with tf.device(device.tf_name):
            outputs[device.name], _ = cases.run(adapter, example, "eager")
    first, *others = run_devices
    for device in others:
        case = Case(adapter.contract.class_name, "devices agree", f"{device} vs {first}", "float32", example.params())
        assert_close(
            outputs[device.name],
            outputs[first.name],
            case,
            tolerances.forward("float32", layer_name, "devices agree", device),
            claim=f"the output on {device} equals the output on {first}",
            scale=cases.error_scale(example),
        )


@pytest.mark.device_sensitive
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_matches_the_reference_in_every_dtype(layer_name, dtype, device, adapter_for, data):
    """Each dtype policy: weights in the variable dtype, outputs in the compute dtype, values
    within that dtype's tolerance of the reference on what the layer saw."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    case = Case(adapter.contract.class_name, "matches the reference in its dtype", device.name, dtype, example.params())
    policy = dtypes.policy(dtype)
    with tf.device(device.tf_name):
        layer = cases.make_layer(adapter, example, dtype)
        for name in adapter.contract.trainable:
            found = dtype_name(adapter.variable(layer, name).dtype)
            check(
                found == policy.variable,
                case,
                f"the weight {name!r} is stored in {policy.variable}",
                f"it is {found}",
            )
        outputs = []
        for step_inputs in example.call_inputs:
            tensor = adapter.call_tensor(layer, dtypes.as_input(step_inputs, dtype))
            check(
                dtype_name(tensor.dtype) == policy.compute,
                case,
                f"the output is in the compute dtype {policy.compute}",
                f"it is {dtype_name(tensor.dtype)}",
            )
            outputs.append(np.asarray(tensor, dtype=np.float64))
    actual = np.stack(outputs) if adapter.spec.stateful else outputs[0]
    assert_close(
        actual,
        cases.reference_outputs(example, dtype),
        case,
        tolerances.forward(dtype, layer_name, "matches the reference in its dtype", device),
        claim=f"the {dtype} output equals the float64 reference on the values the layer saw",
        scale=cases.error_scale(example, dtype),
    )


@pytest.mark.keras_only("compute_output_shape is Keras's layer API")
@pytest.mark.parametrize("layer_name", registry.names(OUTPUT_SHAPE))
@given(data=st.data())
def test_output_shape_is_what_compute_output_shape_says(layer_name, adapter_for, data):
    """``compute_output_shape`` agrees with the real output, with a known or unknown batch."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    case = Case(adapter.contract.class_name, "the output shape is what compute_output_shape says", params=example.params())
    layer = cases.make_layer(adapter, example)
    step_inputs = example.call_inputs[0]
    actual = adapter.call(layer, step_inputs).shape
    declared = adapter.output_shape(layer, step_inputs.shape)
    check(declared == actual, case, "compute_output_shape(input shape) is the output's shape", f"declared {declared}, got {actual}")
    unknown_batch = (None, *step_inputs.shape[1:])
    declared = adapter.output_shape(layer, unknown_batch)
    check(
        declared == (None, *actual[1:]),
        case,
        "with an unknown batch size, compute_output_shape keeps it unknown and the rest exact",
        f"declared {declared} for {unknown_batch}, output {actual}",
    )


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", registry.names(WIDTH))
@profiles.scaled(0.4, "rows of hundreds of features; the examples elsewhere cover the values")
@given(data=st.data())
def test_rows_wider_than_256_features_equal_the_reference(layer_name, device, adapter_for, data):
    """The drawn examples have at most 64 features; here 257 to 1024, beyond Python's
    small-int cache (a shape check written with ``is`` instead of ``==`` breaks there): the
    layer builds, is called (a stateless layer twice, with the same outputs), and equals the
    reference."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name, features=st.integers(257, 1024)), label="example")
    width = example.call_inputs[0].shape[-1]
    case = Case(adapter.contract.class_name, "rows wider than 256 features equal the reference", device.name, "float32", example.params())
    with tf.device(device.tf_name):
        first, layer = cases.run(adapter, example)
        if not adapter.spec.stateful:
            second, _ = cases.run(adapter, example, layer=layer)
            check(np.array_equal(first, second), case, "a second call gives the same outputs")
    assert_close(
        first,
        cases.reference_outputs(example),
        case,
        tolerances.forward("float32", layer_name, "rows wider than 256 features equal the reference", device),
        claim=f"rows of {width} features equal the float64 reference",
        scale=cases.error_scale(example),
    )


@pytest.mark.parametrize("layer_name", registry.names(INTEGER_INPUTS))
@given(data=st.data())
def test_integer_inputs_give_what_the_same_values_as_floats_give(layer_name, adapter_for, data):
    """Keras casts floating inputs to the compute dtype and leaves integer ones alone; a layer
    that claims ``INTEGER_INPUTS`` casts them itself. The example's inputs rounded to integers,
    as int32 and as float32, give identical outputs (the same values reach the same
    arithmetic), and match the reference on them."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    rounded = np.rint(np.clip(example.inputs, -8, 8))
    as_floats = dataclasses.replace(example, inputs=rounded.astype(np.float32))
    as_ints = dataclasses.replace(example, inputs=rounded.astype(np.int32))
    case = Case(adapter.contract.class_name, "integer inputs give what the same values as floats give", None, "int32", as_ints.params())
    from_floats, _ = cases.run(adapter, as_floats)
    # cases.run would cast the inputs to the policy's float dtype: call with the int32 arrays.
    layer = cases.make_layer(adapter, as_ints)
    from_ints = [adapter.call(layer, x) for x in as_ints.call_inputs]
    from_ints = np.stack(from_ints) if as_ints.spec.stateful else from_ints[0]
    check(from_ints.shape == from_floats.shape, case, "int32 inputs give outputs of the float32 shape", f"{from_ints.shape} != {from_floats.shape}")
    differ = ~np.isclose(from_ints, from_floats, rtol=0, atol=0, equal_nan=True)
    check(
        not differ.any(),
        case,
        "int32 inputs give exactly the outputs of the same values as float32",
        f"{int(differ.sum())} element(s) differ, first at {tuple(int(i) for i in np.argwhere(differ)[0]) if differ.any() else ()}",
    )
    assert_close(
        from_ints,
        cases.reference_outputs(as_floats),
        case,
        tolerances.forward("float32", layer_name, "equals the reference"),
        claim="int32 inputs equal the float64 reference on their values",
        scale=cases.error_scale(as_floats),
    )

