"""The round-trip properties catch layers that lose or alter something through a round trip.

Each known-bad layer (``tests/zoo/bad_round_trips.py``) goes through the core of the property
that must catch it (``layercheck.serialization``), through a ``KerasAdapter`` whose factory is
the bad class, and must raise PropertyFailure with the claim that names what was lost; the
production layer goes through the same check on the same examples and passes.
"""

import numpy as np
import pytest

from layercheck import cases, serialization
from layercheck.layers import memory_cell_checks
from layercheck.adapters import KerasAdapter
from layercheck.assertions import PropertyFailure
from tests.zoo import bad_round_trips as zoo


def _softmax_example():
    rng = np.random.default_rng(1)
    return cases.Example(
        layer="temperature_softmax",
        args=(5,),
        # A floor and an initial temperature that are not the defaults, and a trained
        # temperature (the weight) that is neither.
        kwargs={"initial_temperature": 0.37, "min_temperature": 0.05},
        inputs=rng.uniform(-3.0, 3.0, (4, 5)).astype(np.float32),
        weights={"temperature": np.float32(2.5)},
        seed=11,
    )


def _projection_example(k=6, d=5, n=4):
    rng = np.random.default_rng(2)
    # Uniform float32 entries need all 9 significant digits and are not float16 values.
    basis = rng.uniform(-4.0, 4.0, (k, d)).astype(np.float32)
    return cases.Example(
        layer="nonnegative_projection",
        args=(basis.tolist(),),
        kwargs={},
        inputs=rng.uniform(-3.0, 3.0, (3, n)).astype(np.float32),
        weights={"projection_weights": rng.uniform(-2.0, 2.0, (n, k)).astype(np.float32)},
        seed=12,
    )


def _memory_cell_example():
    rng = np.random.default_rng(3)
    return cases.Example(
        layer="memory_cell",
        args=(4,),
        kwargs={},
        inputs=rng.uniform(-3.0, 3.0, (3, 2, 5)).astype(np.float32),
        weights={
            "kernel": rng.uniform(-2.0, 2.0, (5, 4)).astype(np.float32),
            "recurrent_kernel": rng.uniform(-0.5, 0.5, (4, 4)).astype(np.float32),
        },
        seed=13,
    )


#: The checks, by name: the cores of the round-trip properties.
CHECKS = {
    "config-unbuilt": lambda adapter, example: serialization.config_round_trip(adapter, example, built=False),
    "config-built": lambda adapter, example: serialization.config_round_trip(adapter, example, built=True),
    "serialization-unbuilt": lambda adapter, example: serialization.serialization_round_trip(adapter, example, built=False),
    "serialization-built": lambda adapter, example: serialization.serialization_round_trip(adapter, example, built=True),
    "keras-file": serialization.keras_file_round_trip,
    "weights": serialization.weights_round_trip,
    "state-after-keras-file": lambda adapter, example: memory_cell_checks.memory_cell_state_starts_from_zeros_after_load(adapter, example, via="keras_file"),
    "state-after-weights": lambda adapter, example: memory_cell_checks.memory_cell_state_starts_from_zeros_after_load(adapter, example, via="weights"),
}

EXAMPLES = {
    "temperature_softmax": _softmax_example,
    "nonnegative_projection": _projection_example,
    "memory_cell": _memory_cell_example,
}

#: (layer name, bad class, check name, words the failure's claim must contain)
CASES = [
    # get_config drops an argument.
    ("temperature_softmax", zoo.DroppedMinTemperatureSoftmax, "config-built", "'min_temperature'"),
    ("temperature_softmax", zoo.DroppedMinTemperatureSoftmax, "serialization-unbuilt", "'min_temperature'"),
    ("temperature_softmax", zoo.DroppedInitialTemperatureSoftmax, "config-unbuilt", "'initial_temperature'"),
    ("temperature_softmax", zoo.NumpyScalarSoftmax, "config-built", "plain JSON"),
    # get_config rounds the basis.
    ("nonnegative_projection", zoo.SixDigitBasisProjection, "config-built", "'basis_vectors' exactly"),
    ("nonnegative_projection", zoo.SixDigitBasisProjection, "serialization-built", "'basis_vectors' exactly"),
    ("nonnegative_projection", zoo.Float16BasisProjection, "config-unbuilt", "'basis_vectors' exactly"),
    # State lost or altered through a save and a load.
    ("memory_cell", zoo.PersistentStateMemoryCell, "keras-file", "fresh state"),
    ("memory_cell", zoo.PersistentStateMemoryCell, "weights", "fresh state"),
    ("memory_cell", zoo.PersistentStateMemoryCell, "state-after-keras-file", "no state or a zero one"),
    ("memory_cell", zoo.PersistentStateMemoryCell, "state-after-weights", "no state or a zero one"),
    ("memory_cell", zoo.ReinitialisingMemoryCell, "keras-file", "fresh state"),
    ("memory_cell", zoo.ReinitialisingMemoryCell, "weights", "fresh state"),
    ("nonnegative_projection", zoo.ForgetfulProjection, "keras-file", "fresh state"),
    ("nonnegative_projection", zoo.ForgetfulProjection, "weights", "fresh state"),
]

#: The production layer on every (layer, check) pair above, once each.
CONTROLS = sorted({(layer_name, check_name) for layer_name, _, check_name, _ in CASES})


@pytest.mark.parametrize(
    ("layer_name", "bad_class", "check_name", "words"),
    CASES,
    ids=[f"{bad_class.__name__}-{check_name}" for _, bad_class, check_name, _ in CASES],
)
def test_the_round_trip_property_catches_the_bad_layer(layer_name, bad_class, check_name, words):
    """The bad layer fails the check, with a claim that says what was lost."""
    adapter = KerasAdapter(layer_name, factory=bad_class, origin=f"tests.zoo.bad_round_trips:{bad_class.__name__}")
    with pytest.raises(PropertyFailure) as failure:
        CHECKS[check_name](adapter, EXAMPLES[layer_name]())
    claim = str(failure.value).splitlines()[1]
    assert words in claim, str(failure.value)


@pytest.mark.parametrize(("layer_name", "check_name"), CONTROLS, ids=[f"{layer}-{check}" for layer, check in CONTROLS])
def test_the_production_layer_passes_the_same_check(layer_name, check_name):
    """The control: the same check on the same example passes for the production layer."""
    CHECKS[check_name](KerasAdapter(layer_name), EXAMPLES[layer_name]())


def test_the_rounding_projections_do_survive_a_keras_file():
    """Why the config checks are needed on their own: a ``.keras`` file stores the basis as a
    weight too, and loading it overwrites the rounded basis the config built, so the file round
    trip alone cannot see a config that rounds."""
    example = _projection_example()
    for bad_class in (zoo.SixDigitBasisProjection, zoo.Float16BasisProjection):
        serialization.keras_file_round_trip(KerasAdapter("nonnegative_projection", factory=bad_class), example)
