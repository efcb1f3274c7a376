"""layercheck vectors: export writes what the manifest says, the production layers pass the
check, known-bad implementations fail it, and the command's exit codes say so."""

import json
import os

import numpy as np
import pytest

from layercheck import adapters, cli, registry, vectors
from tests.zoo import howto, mutants_memory_cell, mutants_nonnegative_projection, mutants_temperature_softmax


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("golden"))
    vectors.export(directory)
    return directory


def production(name):
    return adapters.KerasAdapter(name)


def test_the_manifest_describes_every_array_of_the_npz(golden):
    with open(os.path.join(golden, vectors.MANIFEST)) as handle:
        manifest = json.load(handle)
    assert manifest["format"] == vectors.FORMAT and manifest["format_version"] == vectors.FORMAT_VERSION
    assert manifest["layercheck_version"] and manifest["numpy_version"] == np.__version__
    layers = {entry["layer"] for entry in manifest["cases"]}
    assert layers == set(registry.names())
    with np.load(os.path.join(golden, vectors.ARRAYS)) as data:
        listed = set()
        for entry in manifest["cases"]:
            assert entry["exercises"] and entry["dtype"] in ("float32", "float64")
            assert {"forward", "gradient"} <= set(entry["tolerance"])
            for name, spec in entry["arrays"].items():
                array = data[spec["key"]]
                assert list(array.shape) == spec["shape"] and str(array.dtype) == spec["dtype"], (entry["id"], name)
                assert np.isfinite(array).all(), (entry["id"], name)
                listed.add(spec["key"])
            needed = {"inputs", "outputs", "outputs_scale", "cotangent", "vjp.inputs"}
            needed |= {f"vjp.{weight}" for weight in registry.get(entry["layer"]).trainable}
            assert needed <= set(entry["arrays"]), entry["id"]
        assert listed == set(data.files), "every array in the npz is described by the manifest"


def test_two_exports_are_identical(golden, tmp_path):
    vectors.export(str(tmp_path))
    with np.load(os.path.join(golden, vectors.ARRAYS)) as first, np.load(os.path.join(tmp_path, vectors.ARRAYS)) as second:
        assert first.files == second.files
        for key in first.files:
            assert first[key].tobytes() == second[key].tobytes(), key


def test_the_expected_outputs_are_the_references_own(golden):
    """The golden outputs are the float64 references on the stored inputs and weights, not a
    copy of some implementation's outputs."""
    from reference import temperature_softmax

    manifest, arrays = vectors.load(golden)
    entry = next(e for e in manifest["cases"] if e["id"] == "temperature_softmax/random_rows")
    inputs = arrays[entry["arrays"]["inputs"]["key"]].astype(np.float64)
    temperature = np.float64(np.float32(entry["constructor"]["kwargs"]["initial_temperature"]))
    expected = temperature_softmax.temperature_softmax(inputs, temperature)
    assert np.array_equal(arrays[entry["arrays"]["outputs"]["key"]], expected)


def test_the_production_layers_pass(golden):
    results = vectors.check(golden, production)
    assert len(results) == len(vectors.golden_cases())
    assert all(result.passed for result in results), [(r.id, r.detail) for r in results if not r.passed]


@pytest.mark.parametrize(
    ("layer_name", "implementation"),
    [
        ("temperature_softmax", howto.HowToTemperatureSoftmax),
        ("temperature_softmax", mutants_temperature_softmax.NoUnderflowClampSoftmax),
        ("temperature_softmax", mutants_temperature_softmax.MultipliedTemperatureSoftmax),
        ("nonnegative_projection", howto.HowToNonNegativeProjection),
        ("nonnegative_projection", mutants_nonnegative_projection.AbsCoefficientsProjection),
        ("memory_cell", mutants_memory_cell.HalfAngleCell),
        ("memory_cell", mutants_memory_cell.ReturnsPreviousStateCell),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_wrong_implementation_fails_and_the_report_says_where(golden, layer_name, implementation):
    def adapter_for(name):
        return adapters.KerasAdapter(name, implementation, origin="zoo") if name == layer_name else production(name)

    results = vectors.check(golden, adapter_for)
    failed = [result for result in results if not result.passed]
    assert failed, f"{implementation.__name__} passed every golden case"
    assert all(result.id.startswith(layer_name) for result in failed)
    report = failed[0].detail
    assert failed[0].id in report and "rerun: layercheck vectors check" in report


def test_the_command_exit_codes(golden, tmp_path, capsys):
    assert cli.main(["vectors", "check", golden, "-k", "memory_cell/one_step"]) == 0
    assert "1 of 1 cases pass" in capsys.readouterr().out
    wrong = "memory_cell=tests.zoo.mutants_memory_cell:HalfAngleCell"
    assert cli.main(["vectors", "check", golden, "--layer-impl", wrong, "-k", "memory_cell/"]) == 1
    assert "FAIL  memory_cell/" in capsys.readouterr().out
    assert cli.main(["vectors", "check", str(tmp_path)]) == 2
    assert "run 'layercheck vectors export" in capsys.readouterr().err
    assert cli.main(["vectors", "check", golden, "--layer-impl", "cell=x:y"]) == 2
