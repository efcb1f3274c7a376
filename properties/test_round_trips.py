"""Round-trip properties: config, Keras serialization, ``.keras`` files, weights, export.

For every registered layer, with Hypothesis drawing the constructor arguments (its spec's
``round_trip_examples``: every argument over a wide range, non-default initializers), the
weights and the inputs:

* ``get_config()`` is plain JSON, names every constructor argument with the value given, and
  ``from_config`` of its JSON gives an equal config, the same weights and bit-identical
  outputs, for an unbuilt layer (built afterwards from the same seed) and a built one;
* the same through ``keras.saving.serialize_keras_object`` / ``deserialize_keras_object``;
* a functional model holding the layer, saved to ``.keras`` on the first device and loaded
  with ``load_model(safe_mode=True)`` (no ``custom_objects``) on each device, gives
  bit-identical outputs and weights;
* ``save_weights`` / ``load_weights`` into a model made anew (another seed), likewise;
* ``model.export()`` serves bit-identical outputs;
* a stateful layer's state does not travel through ``.keras`` files or weights: a loaded model
  starts from zeros (its first outputs are the original's first outputs, not their
  continuation) and then continues identically. What one layer's export carries is checked in
  that layer's own file.

The cores live in :mod:`layercheck.serialization` (the same functions the tests in
``tests/`` feed known-bad layers). Expected outputs are the original layer's on the same
device, so every comparison is bit for bit: no tolerance is involved.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layercheck import profiles, registry, serialization
from layercheck.pytest_plugin import devices_for_config

pytestmark = pytest.mark.keras_only("Keras serialization: get_config/from_config, serialize_keras_object, .keras files, save_weights, model.export")

LAYERS = registry.names()

def _first_device(request):
    return devices_for_config(request.config)[0]


# -- get_config / serialization ---------------------------------------------------------------


@pytest.mark.parametrize("built", [False, True], ids=["unbuilt", "built"])
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_get_config_is_plain_json_and_from_config_round_trips(layer_name, built, adapter_for, data):
    """The config is what a ``.keras`` file stores and what a port reads: it must be JSON as
    is, keep every argument exactly (a float64 argument, every float32 entry of an array
    argument), and rebuild the same layer."""
    example = data.draw(registry.get(layer_name).round_trips(), label="example")
    serialization.config_round_trip(adapter_for(layer_name), example, built=built)


@pytest.mark.parametrize("built", [False, True], ids=["unbuilt", "built"])
@pytest.mark.parametrize("layer_name", LAYERS)
@given(data=st.data())
def test_serialize_keras_object_round_trips(layer_name, built, adapter_for, data):
    """Keras's own serialization adds the registered name and the build config to the
    config: the class must be found through its registration and come back built as it was."""
    example = data.draw(registry.get(layer_name).round_trips(), label="example")
    serialization.serialization_round_trip(adapter_for(layer_name), example, built=built)


# -- files, across devices ---------------------------------------------------------------------


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@profiles.scaled(0.6, "each example writes and reads a zipped .keras file and builds a model twice")
@given(data=st.data())
def test_keras_file_save_and_load_gives_identical_outputs(layer_name, device, adapter_for, request, data):
    """Saved on the first device, loaded in safe mode without ``custom_objects`` and run on
    ``device``: the loaded model is the original model (for a stateful layer: from a zero
    state, as documented)."""
    example = data.draw(registry.get(layer_name).round_trips(), label="example")
    serialization.keras_file_round_trip(
        adapter_for(layer_name), example, save_device=_first_device(request), load_device=device
    )


@pytest.mark.device_sensitive
@pytest.mark.parametrize("layer_name", LAYERS)
@profiles.scaled(0.6, "each example writes and reads an HDF5 weights file and builds two models")
@given(data=st.data())
def test_save_weights_and_load_weights_give_identical_outputs(layer_name, device, adapter_for, request, data):
    """Weights saved on the first device and loaded on ``device`` into a model made with the
    same arguments and another seed: every weight loaded, none left at its initial value."""
    example = data.draw(registry.get(layer_name).round_trips(), label="example")
    serialization.weights_round_trip(
        adapter_for(layer_name), example, save_device=_first_device(request), load_device=device
    )


# -- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("layer_name", LAYERS)
@profiles.scaled(0.2, "each example traces and writes a SavedModel and loads it (about half a second)")
@given(data=st.data())
def test_export_serves_identical_outputs(layer_name, adapter_for, data):
    """The SavedModel from ``model.export()`` serves the traced original model's outputs, bit for bit (a stateful
    layer exported after ``reset_state``: the export carries the state it holds)."""
    example = data.draw(registry.get(layer_name).round_trips(), label="example")
    serialization.export_round_trip(adapter_for(layer_name), example)
