"""Fixtures of the property gate: the adapters under test and a fresh Keras session per test."""

import keras
import pytest


def pytest_runtest_teardown(item):
    """Free what the test's layers and traced functions held, so memory stays flat.

    A hook, not an autouse fixture: Hypothesis rejects function-scoped fixtures on ``@given``
    tests, since they are not reset between examples.
    """
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def temperature_softmax(adapter_for):
    return adapter_for("temperature_softmax")


@pytest.fixture(scope="session")
def nonnegative_projection(adapter_for):
    return adapter_for("nonnegative_projection")


@pytest.fixture(scope="session")
def memory_cell(adapter_for):
    return adapter_for("memory_cell")
