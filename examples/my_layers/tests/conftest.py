"""The layer-specific properties of ``my_layers``, which run beside layercheck's installed
property suite (plain ``pytest`` in this project: see its README)."""


def pytest_runtest_teardown(item):
    """A fresh Keras session per test, as the generic properties get (a hook: Hypothesis
    rejects function-scoped fixtures on ``@given`` tests)."""
    import keras

    keras.backend.clear_session()
