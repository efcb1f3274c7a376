"""``strategies.initializer_configs`` draws what Keras itself writes into a config.

The round-trip properties give these dicts to the constructors and then require the config
to hold them exactly; that is only fair if Keras's serialization of the initializer they name
is the dict itself.
"""

import json

import keras
import pytest
from hypothesis import Phase, find, given, settings

from layercheck import strategies as lcst


@settings(max_examples=200, deadline=None, database=None)
@given(lcst.initializer_configs())
def test_a_drawn_config_is_keras_serialization_of_the_initializer_it_names(config):
    assert json.loads(json.dumps(config)) == config
    assert keras.initializers.serialize(keras.initializers.get(config)) == config


@pytest.mark.parametrize("class_name", [*lcst.INITIALIZER_CLASSES, "RandomNormal", "RandomUniform"])
def test_every_class_is_reachable(class_name):
    found = find(
        lcst.initializer_configs(),
        lambda config: config["class_name"] == class_name,
        settings=settings(database=None, phases=[Phase.generate], max_examples=2000),
    )
    assert found["class_name"] == class_name
