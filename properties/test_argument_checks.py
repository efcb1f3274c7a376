"""The constructor's contract: bad arguments and bad inputs give a clear error that names the
argument and the value, and the documented defaults are the defaults.

For every registered layer, every error input of its spec (``LayerSpec.error_inputs``): a bad
constructor argument, a bad input shape at build or after it, a bad basis... drawn, run through
the adapter, and required to raise a ``ValueError`` or ``TypeError`` whose message names the
argument and stays under ``assertions.MAX_MESSAGE`` characters, however large the bad value.
Never a silent NaN, never a shape error from deep inside TensorFlow.

Each error input is its own test (a ``one_of`` of them could leave one undrawn in a run's 25
examples). Checks that only make sense for one layer (limits of its dtype policies) are in
that layer's own file.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import cases, registry
from layercheck.assertions import Case, check, expect_clear_error

ERROR_INPUTS = [
    pytest.param(
        spec.name,
        error.id,
        id=f"{spec.name}-{error.id}",
        marks=[pytest.mark.keras_only(error.keras_only)] if error.keras_only else [],
    )
    for spec in registry.specs()
    for error in spec.error_inputs
]


@pytest.mark.parametrize(("layer_name", "error_input"), ERROR_INPUTS)
@given(data=st.data())
def test_a_bad_argument_or_input_raises_a_clear_error(layer_name, error_input, adapter_for, data):
    adapter = adapter_for(layer_name)
    error = next(entry for entry in adapter.spec.error_inputs if entry.id == error_input)
    bad = data.draw(error.strategy, label=error.id)
    case = Case(adapter.spec.class_name, f"{error.description} raises a clear error", params=bad.params)
    expect_clear_error(case, f"{error.description} raises a clear error", lambda: bad.action(adapter), *error.names, errors=error.errors)


DEFAULTS = [
    pytest.param(
        spec.name,
        argument,
        id=f"{spec.name}-{argument}",
        marks=[pytest.mark.keras_only(f"{argument} is a Keras constructor argument")]
        if argument in spec.keras_only_defaults
        else [],
    )
    for spec in registry.specs()
    for argument in spec.defaults
]


@pytest.mark.parametrize(("layer_name", "argument"), DEFAULTS)
@given(data=st.data())
def test_documented_defaults_are_the_defaults(layer_name, argument, adapter_for, data):
    """A layer made without an optional argument is the layer made with its documented default
    spelled out (``LayerSpec.defaults``, the value its docs page gives): from the same seed the
    same weights (initializers included), the same outputs and, where the layer has one, the
    same config but for its name."""
    adapter = adapter_for(layer_name)
    example = data.draw(cases.examples(layer_name), label="example")
    default = adapter.spec.defaults[argument]
    spelled = f"{argument}={default!r}"
    case = Case(adapter.contract.class_name, "the documented defaults are the defaults", params={**example.params(), "documented default": spelled})
    made = []
    for kwargs in ({}, {argument: default}):
        adapter.seed(example.seed)
        layer = adapter.make(*example.args, **kwargs)
        adapter.build(layer, example.call_inputs[0].shape)
        made.append((layer, cases.run(adapter, example, layer=layer)[0]))
    (implicit, implicit_outputs), (explicit, explicit_outputs) = made
    for name in adapter.spec.weights:
        left_out, spelled_out = adapter.weight(implicit, name), adapter.weight(explicit, name)
        same_shape = left_out.shape == spelled_out.shape
        check(
            same_shape and np.array_equal(left_out, spelled_out, equal_nan=True),
            case,
            f"weight {name!r} with {argument} left out equals it with {spelled}",
            f"largest difference {np.max(np.abs(left_out - spelled_out))}" if same_shape else f"shapes {left_out.shape}, {spelled_out.shape}",
        )
    check(
        np.array_equal(implicit_outputs, explicit_outputs, equal_nan=True),
        case,
        f"the outputs with {argument} left out equal those with {spelled}",
        f"largest difference {np.nanmax(np.abs(implicit_outputs - explicit_outputs))}",
    )
    if callable(getattr(implicit, "get_config", None)):
        configs = [{key: value for key, value in layer.get_config().items() if key != "name"} for layer, _ in made]
        differ = sorted(key for key in configs[0].keys() | configs[1].keys() if configs[0].get(key) != configs[1].get(key))
        check(not differ, case, f"the config with {argument} left out equals it with {spelled}", f"entries that differ: {differ}")
