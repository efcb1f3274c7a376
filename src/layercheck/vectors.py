"""Golden vectors: the references' outputs and gradients on fixed cases, in files any
framework can read.

``layercheck vectors export DIR`` writes

* ``DIR/vectors.npz``: every array, NumPy's portable format (``np.load`` reads it; so do
  readers in other languages);
* ``DIR/manifest.json``: the format and versions, then one entry per case: its id, layer,
  what it exercises, the constructor arguments, the dtype, the names, shapes and dtypes of
  its arrays in the npz, and the forward and gradient tolerances with their reasons.

A case holds the inputs (one array per call for a stateful layer: ``(steps, batch, n)``), the
trainable weights to assign after build, the expected outputs (the float64 reference on the
values a layer of that dtype holds), and for gradients a cotangent ``v`` with the expected VJP
of ``sum(v * layer(inputs))`` for the inputs and every trainable weight (for a stateful layer:
of the last call, the state before it held constant). ``scale`` arrays are the magnitudes of
the terms each value is summed from; a value passes where

    |actual - expected| <= atol * scale + rtol * |expected|

``layercheck vectors check DIR`` runs an implementation (the production layers unless
``--layer-impl`` names another, as for the gate) on every case and prints a row per case.
Cases are built from fixed seeds and hand-made edge cases, not drawn: the files are the same
on every export from the same version.
"""

import dataclasses
import json
import os
import platform

import numpy as np

from layercheck import cases, dtypes, gradients, registry, serialization, tolerances

FORMAT = "layercheck-golden-vectors"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "vectors.npz"


@dataclasses.dataclass
class GoldenCase:
    """One case: an :class:`~layercheck.cases.Example`, its dtype and what it exercises."""

    id: str
    example: cases.Example
    dtype: str
    exercises: str


# -- the cases --------------------------------------------------------------------------------


def golden_cases():
    """Every registered layer's edge samples, in registry order (ids ``<layer>/<sample>``,
    unique and stable)."""
    found = [
        GoldenCase(f"{spec.name}/{sample.id}", sample.example, sample.dtype, sample.exercises)
        for spec in registry.specs()
        for sample in spec.samples()
    ]
    ids = [case.id for case in found]
    if len(set(ids)) != len(ids):
        raise AssertionError(f"duplicate golden case ids: {ids}")
    return found


# -- expected values ---------------------------------------------------------------------------


def expected_values(case):
    """``{array name: array}``: inputs, weights, outputs, cotangent, VJPs and their scales."""
    example, dtype = case.example, case.dtype
    spec = example.spec
    arrays = {"inputs": example.inputs}
    arrays.update({f"weight.{name}": value for name, value in example.weights.items()})
    arrays["outputs"] = cases.reference_outputs(example, dtype)
    arrays["outputs_scale"] = np.broadcast_to(cases.error_scale(example, dtype), arrays["outputs"].shape).copy()
    if spec.gradient is None:
        return arrays
    model = spec.gradient
    point = model.point(example, dtype)
    rng = np.random.default_rng(_stable_seed(case.id))
    if spec.stateful:
        # The last call, with the state before it (the reference's) held constant.
        outputs = arrays["outputs"]
        state = outputs[-2] if outputs.shape[0] > 1 else np.zeros_like(outputs[0])
        point = gradients.last_call(model, point, dtypes.as_seen(state, dtype))
    cotangent = gradients.random_cotangent(rng, model.output_shape(point), dtype)
    model.check_unambiguous(point, dtype, f"golden case {case.id}")
    expected = model.vjp(point, cotangent)
    scales = model.vjp_scales(point, cotangent, dtype=dtype)
    if spec.stateful:
        cotangent = cotangent[0]
        expected["inputs"], scales["inputs"] = expected["inputs"][0], scales["inputs"][0]
    arrays["cotangent"] = cotangent
    for name, value in expected.items():
        arrays[f"vjp.{name}"] = np.asarray(value, np.float64)
        arrays[f"vjp_scale.{name}"] = np.broadcast_to(np.asarray(scales[name], np.float64), np.shape(value)).copy()
    return arrays


def _stable_seed(text):
    """A seed from the case id that does not depend on Python's hash randomisation."""
    return int.from_bytes(text.encode(), "little") % 2**32


def tolerances_of(case):
    spec = case.example.spec
    forward = tolerances.forward(case.dtype, spec)
    gradient = tolerances.gradient(case.dtype, spec, gradients.PROP_VJP)
    return {
        "forward": {"rtol": forward.rtol, "atol": forward.atol, "reason": forward.reason},
        "gradient": {"rtol": gradient.rtol, "atol": gradient.atol, "reason": gradient.reason},
    }


# -- export ------------------------------------------------------------------------------------


def export(directory):
    """Write ``manifest.json`` and ``vectors.npz`` into ``directory``; returns the manifest."""
    os.makedirs(directory, exist_ok=True)
    arrays = {}
    entries = []
    for case in golden_cases():
        values = expected_values(case)
        keys = {}
        for name, value in values.items():
            key = f"{case.id}/{name}".replace("/", "__")
            arrays[key] = np.asarray(value)
            keys[name] = {"key": key, "shape": list(np.shape(value)), "dtype": str(np.asarray(value).dtype)}
        example = case.example
        entries.append(
            {
                "id": case.id,
                "layer": example.layer,
                "class": example.spec.class_name,
                "stateful": example.spec.stateful,
                "exercises": case.exercises,
                "constructor": {"args": serialization.plain(example.args), "kwargs": serialization.plain(example.kwargs)},
                "dtype": case.dtype,
                "calls": len(example.call_inputs),
                "weights": sorted(example.weights),
                "arrays": keys,
                "tolerance": tolerances_of(case),
            }
        )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "layercheck_version": _version("layercheck"),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "comparison": "|actual - expected| <= atol * scale + rtol * |expected|, elementwise",
        "conventions": {
            "rows": "a layer acts on the last axis; any leading axes are batch",
            "stateful.inputs": "for a stateful case, (steps, batch, n): one call per step, in order, on one layer from a zero state",
            "stateful.vjp": "for a stateful case, of the last call only, the state before it held constant (truncated BPTT, window 1)",
            "weights": "assign after build, over the initial values (a weight the constructor sets comes from its argument)",
            "expected": "the float64 reference on the values a layer of the case's dtype holds",
        },
        "cases": entries,
    }
    np.savez(os.path.join(directory, ARRAYS), **arrays)
    with open(os.path.join(directory, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    return manifest


def _version(distribution):
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


# -- check -------------------------------------------------------------------------------------


@dataclasses.dataclass
class CaseResult:
    id: str
    passed: bool
    detail: str


def load(directory):
    """The manifest and the arrays (a dict) of an export; a clear error if it is not one."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{directory!r} holds no {MANIFEST}: run 'layercheck vectors export {directory}' first")
    with open(path) as handle:
        manifest = json.load(handle)
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is not {FORMAT} version {FORMAT_VERSION} "
            f"(format {manifest.get('format')!r}, version {manifest.get('format_version')!r})"
        )
    with np.load(os.path.join(directory, ARRAYS)) as data:
        arrays = {key: data[key] for key in data.files}
    return manifest, arrays


def check(directory, adapter_for, *, keyword=None, out=None):
    """Check the implementations ``adapter_for(layer name)`` against every case; returns the
    :class:`CaseResult` list (printing a row per case to ``out`` when given)."""
    manifest, arrays = load(directory)
    results = []
    for entry in manifest["cases"]:
        if keyword and keyword not in entry["id"]:
            continue
        adapter = adapter_for(entry["layer"])
        try:
            detail = _check_case(adapter, entry, arrays)
            result = CaseResult(entry["id"], True, detail)
        except AssertionError as error:
            result = CaseResult(entry["id"], False, _with_rerun(str(error), directory, entry["id"]))
        except Exception as error:  # noqa: BLE001 - an implementation that raises fails the case, with the error
            result = CaseResult(entry["id"], False, f"raised {type(error).__name__}: {error}")
        results.append(result)
        if out is not None:
            status = "pass" if result.passed else "FAIL"
            print(f"{status}  {entry['id']:48} {entry['dtype']:8} {adapter.origin}", file=out)
            if not result.passed:
                print("      " + result.detail.replace("\n", "\n      "), file=out)
    return results


def _check_case(adapter, entry, arrays):
    from layercheck.assertions import Case, assert_close, check, short_repr

    def array(name):
        return arrays[entry["arrays"][name]["key"]]

    dtype = entry["dtype"]
    args = entry["constructor"]["args"]
    kwargs = entry["constructor"]["kwargs"]
    params = {"case": entry["id"], "constructor": f"{entry['class']}(*{short_repr(args, 60)}, **{kwargs})"}
    case = Case(adapter.contract.class_name, f"golden vector {entry['id']}", "", dtype, params)
    inputs = array("inputs")
    stateful = entry.get("stateful", adapter.spec.stateful)
    calls = list(inputs) if stateful else [inputs]

    def fresh_layer():
        adapter.seed(0)
        layer = adapter.make(*args, dtype=dtype, **kwargs)
        adapter.build(layer, calls[0].shape)
        for name in entry["weights"]:
            adapter.assign(layer, name, array(f"weight.{name}"))
        return layer

    forward = _tolerance(entry["tolerance"]["forward"])
    layer = fresh_layer()
    outputs = [adapter.call(layer, x) for x in calls]
    actual = np.stack(outputs) if stateful else outputs[0]
    assert_close(actual, array("outputs"), case, forward, claim="the outputs equal the golden outputs", scale=array("outputs_scale"))

    gradient = _tolerance(entry["tolerance"]["gradient"])
    layer = fresh_layer()
    for x in calls[:-1]:
        adapter.call(layer, x)
    found = adapter.gradients(layer, calls[-1], array("cotangent"))
    if "cotangent" not in entry["arrays"]:
        return "outputs match (no gradient model)"
    for name in ("inputs", *adapter.contract.trainable):
        value = found.get(name)
        check(value is not None, case, f"the gradient with respect to {name!r} exists", "the implementation gave None")
        assert_close(
            value,
            array(f"vjp.{name}"),
            case,
            gradient,
            claim=f"the VJP with respect to {name!r} equals the golden VJP",
            scale=array(f"vjp_scale.{name}"),
        )
    return "outputs and VJPs match"


def _with_rerun(report, directory, case_id):
    """The failure report, its rerun line pointing at this case of this export."""
    lines = [line for line in report.splitlines() if not line.startswith("  rerun:")]
    lines.append(f"  rerun: layercheck vectors check {directory} -k {case_id} (with the same --layer-impl)")
    return "\n".join(lines)


def _tolerance(entry):
    return tolerances.Tolerance(rtol=entry["rtol"], atol=entry["atol"], reason=entry.get("reason", ""))
