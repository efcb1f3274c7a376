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


@given(lcst.initializer_configs(min_rank=1))
def test_initializers_of_vectors_initialize_vectors(config):
    values = keras.initializers.get(config)((4,))
    assert tuple(values.shape) == (4,)


def test_a_min_rank_below_one_is_refused():
    with pytest.raises(ValueError, match="min_rank must be an integer >= 1, got 0"):
        lcst.initializer_configs(min_rank=0)
