"""Bad arguments and bad inputs give a clear error that names the argument and the value.

For every registered layer, every error input of its spec (``LayerSpec.error_inputs``): a bad
constructor argument, a bad input shape at build or after it, a bad basis... drawn, run through
the adapter, and required to raise a ``ValueError`` or ``TypeError`` whose message names the
argument and stays under ``assertions.MAX_MESSAGE`` characters, however large the bad value.
Never a silent NaN, never a shape error from deep inside TensorFlow.

Each error input is its own test (a ``one_of`` of them could leave one undrawn in a run's 25
examples). Checks that only make sense for one layer (limits of its dtype policies) are in
that layer's own file.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import registry
from layercheck.assertions import Case, expect_clear_error

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
