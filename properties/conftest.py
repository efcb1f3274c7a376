"""Fixtures of the property gate: a fresh Keras session per test.

The adapters under test come from the plugin's ``adapter_for`` fixture; a layer's own property
file defines a fixture named after its layer, and marks itself with
``pytest.mark.layercheck_layer(NAME)``.
"""

import pytest


def pytest_runtest_teardown(item):
    """Free what the test's layers and traced functions held, so memory stays flat.

    A hook, not an autouse fixture: Hypothesis rejects function-scoped fixtures on ``@given``
    tests, since they are not reset between examples.
    """
    import keras

    keras.backend.clear_session()


@pytest.fixture(scope="session")
def mirrored_strategy(layercheck_devices):
    """``tf.distribute.MirroredStrategy`` over the run's GPUs when there are two or more, else
    over its logical CPUs (the plugin splits the CPU, so this runs on any machine)."""
    import tensorflow as tf

    gpus = [device for device in layercheck_devices if device.device_type == "GPU"]
    chosen = gpus if len(gpus) >= 2 else [device for device in layercheck_devices if device.device_type == "CPU"]
    return tf.distribute.MirroredStrategy([device.tf_name for device in chosen])
