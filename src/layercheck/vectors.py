"""Golden vectors: the references' outputs and gradients on fixed cases, in files any
framework can read.

``layercheck vectors export DIR`` writes

* ``DIR/vectors.npz``: every array, NumPy's portable format (``np.load`` reads it; so do
  readers in other languages);
* ``DIR/manifest.json``: the format and versions, then one entry per case: its id, layer,
  what it exercises, the constructor arguments, the dtype, the names, shapes and dtypes of
  its arrays in the npz, and the forward and gradient tolerances with their reasons.

A case holds the inputs (one array per call for the memory cell: ``(T, batch, n)``), the
trainable weights to assign after build, the expected outputs (the float64 reference on the
values a layer of that dtype holds), and for gradients a cotangent ``v`` with the expected VJP
of ``sum(v * layer(inputs))`` for the inputs and every trainable weight (for the memory cell:
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

from layercheck import adapters, cases, gradients, tolerances

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


def _softmax(case_id, logits, temperature, exercises, *, dtype="float32", min_temperature=None, seed=0):
    kwargs = {"initial_temperature": float(temperature)}
    if min_temperature is not None:
        kwargs["min_temperature"] = float(min_temperature)
    array = np.asarray(logits, dtype=np.float64 if dtype == "float64" else np.float32)
    example = cases.Example("temperature_softmax", (int(array.shape[-1]),), kwargs, array, {}, seed)
    return GoldenCase(f"temperature_softmax/{case_id}", example, dtype, exercises)


def _projection(case_id, inputs, weights, basis, exercises, *, dtype="float32", seed=0):
    numpy_dtype = np.float64 if dtype == "float64" else np.float32
    example = cases.Example(
        "nonnegative_projection",
        (np.asarray(basis, numpy_dtype).astype(np.float64).tolist(),),
        {},
        np.asarray(inputs, numpy_dtype),
        {"projection_weights": np.asarray(weights, numpy_dtype)},
        seed,
    )
    return GoldenCase(f"nonnegative_projection/{case_id}", example, dtype, exercises)


def _memory_cell(case_id, sequence, kernel, recurrent_kernel, exercises, *, dtype="float32", seed=0):
    numpy_dtype = np.float64 if dtype == "float64" else np.float32
    kernel = np.asarray(kernel, numpy_dtype)
    example = cases.Example(
        "memory_cell",
        (int(kernel.shape[1]),),
        {},
        np.asarray(sequence, numpy_dtype),
        {"kernel": kernel, "recurrent_kernel": np.asarray(recurrent_kernel, numpy_dtype)},
        seed,
    )
    return GoldenCase(f"memory_cell/{case_id}", example, dtype, exercises)


def _contractive(rng, units, norm=0.9):
    matrix = rng.standard_normal((units, units))
    return matrix * (norm / np.linalg.norm(matrix, 2))


def golden_cases():
    """The cases, in a fixed order (ids are unique and stable)."""
    rng = np.random.default_rng(20261124)
    normal = rng.standard_normal
    f32_max = float(np.finfo(np.float32).max)
    found = [
        _softmax("random_rows", 3 * normal((4, 5)), 1.0, "random logits at T = 1"),
        _softmax("at_the_floor", 1e-3 * normal((3, 6)), 1e-3, "T at the default floor 1e-3, logits a few T apart"),
        _softmax("high_temperature", 30 * normal((3, 4)), 1e3, "T = 1e3: nearly uniform rows"),
        _softmax("rank_three", 2 * normal((2, 3, 4)), 0.7, "rank-3 inputs: the softmax is over the last axis"),
        _softmax("batch_of_one", normal((1, 7)), 2.0, "a batch of one row"),
        _softmax("one_class", normal((3, 1)), 1.0, "num_classes = 1: every output is 1, every gradient 0"),
        _softmax("equal_logits", np.full((2, 5), 4.25), 0.3, "equal logits: uniform rows"),
        _softmax("ties_and_order", [[1.0, 1.0, 3.0, -2.0, 3.0]], 0.5, "ties get equal probabilities"),
        _softmax(
            "extreme_logits_at_the_floor",
            [[f32_max, -f32_max, 0.0, 1.0], [-f32_max, -f32_max, -f32_max, -f32_max], [1e30, -1e30, 5.0, 5.0]],
            1e-3,
            "logits up to float32's largest value at the floor: x - max(x) overflows float32; outputs "
            "and dL/dT must stay finite (clamp z at -L * T before dividing)",
        ),
        _softmax("large_logits", 1e4 * normal((2, 5)), 1.0, "logits of 1e4 at T = 1: needs the max shift"),
        _softmax("custom_floor", normal((3, 4)), 0.5, "min_temperature = 0.5, T at it", min_temperature=0.5),
        _softmax("float64", 3 * normal((3, 5)), 0.25, "dtype float64", dtype="float64"),
        _projection("square_basis", normal((3, 4)), normal((4, 4)), normal((4, 4)), "k = d = 4"),
        _projection("wide_basis", normal((2, 3)), normal((3, 2)), normal((2, 6)), "k = 2 < d = 6 (rows are the basis vectors)"),
        _projection("tall_basis", normal((4, 2)), normal((2, 6)), normal((6, 3)), "k = 6 > d = 3"),
        _projection("rank_three", normal((2, 3, 4)), normal((4, 3)), normal((3, 5)), "rank-3 inputs: products on the last axis"),
        _projection(
            "exact_zero_coefficients",
            np.vstack([np.zeros((1, 3)), normal((2, 3))]),
            normal((3, 4)),
            normal((4, 4)),
            "a zero input row: every coefficient exactly 0, relu(0) = 0 and relu'(0) = 0",
        ),
        _projection(
            "duplicate_basis_rows",
            normal((3, 3)),
            normal((3, 3)),
            np.array([[1.0, 2.0, 0.5], [1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]),
            "a basis with two equal rows",
        ),
        _projection("one_by_one", [[2.0], [-1.0]], [[0.75]], [[-1.5]], "k = d = n = 1: one positive, one clipped coefficient"),
        _projection("float64", normal((3, 5)), normal((5, 4)), normal((4, 3)), "dtype float64", dtype="float64"),
        _memory_cell("one_step", normal((1, 1, 2)), normal((2, 1)), [[0.5]], "one call, batch 1, units 1, from a zero state"),
        _memory_cell(
            "sequence",
            normal((5, 3, 4)),
            0.5 * normal((4, 6)),
            _contractive(rng, 6),
            "five calls, batch 3: the state carries from call to call",
        ),
        _memory_cell(
            "zero_inputs", np.zeros((3, 2, 3)), normal((3, 4)), _contractive(rng, 4), "zero inputs from zero: the state stays 0"
        ),
        _memory_cell(
            "saturating",
            10 * normal((3, 2, 2)),
            3 * normal((2, 3)),
            _contractive(rng, 3),
            "pre-activations beyond +-20: tanh saturates, gradients vanish",
        ),
        _memory_cell(
            "float64", normal((4, 2, 3)), normal((3, 5)), _contractive(rng, 5), "dtype float64, four calls", dtype="float64"
        ),
    ]
    ids = [case.id for case in found]
    if len(set(ids)) != len(ids):
        raise AssertionError(f"duplicate golden case ids: {ids}")
    return found


# -- expected values ---------------------------------------------------------------------------


def expected_values(case):
    """``{array name: array}``: inputs, weights, outputs, cotangent, VJPs and their scales."""
    example, dtype = case.example, case.dtype
    arrays = {"inputs": example.inputs}
    arrays.update({f"weight.{name}": value for name, value in example.weights.items()})
    arrays["outputs"] = cases.reference_outputs(example, dtype)
    arrays["outputs_scale"] = np.broadcast_to(cases.error_scale(example, dtype), arrays["outputs"].shape).copy()

    point = gradients.point_from_example(example, dtype)
    rng = np.random.default_rng(_stable_seed(case.id))
    if example.layer == "memory_cell":
        # The last call, with the state before it (the reference's) held constant.
        outputs = arrays["outputs"]
        state = outputs[-2] if outputs.shape[0] > 1 else np.zeros_like(outputs[0])
        point = point.replace(inputs=point.inputs[-1:], constants={"states": cases.as_seen(state, dtype)[None]})
    cotangent = gradients._random(rng, gradients.output_shape(point), dtype)  # noqa: SLF001 - the gate's own draw
    if example.layer == "nonnegative_projection":
        _check_no_ambiguous_relu(case, point)
    expected = gradients.reference_vjp(point, cotangent)
    scales = gradients.vjp_scales(point, cotangent, dtype=dtype)
    if example.layer == "memory_cell":
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


def _check_no_ambiguous_relu(case, point):
    """Every pre-activation is exactly 0 or clearly signed in the case's dtype: a golden value
    must not depend on which way rounding decides a ReLU."""
    pre = np.asarray(point.inputs @ point.weights["projection_weights"])
    terms = np.abs(point.inputs) @ np.abs(point.weights["projection_weights"])
    margin = 1e3 * float(np.finfo(np.float32 if case.dtype != "float64" else np.float64).eps) * terms
    ambiguous = (pre != 0) & (np.abs(pre) <= margin)
    if ambiguous.any():
        raise AssertionError(f"golden case {case.id}: a pre-activation is within rounding of 0; change the case")


def tolerances_of(case):
    layer = case.example.layer
    forward = tolerances.forward(case.dtype, layer)
    gradient = tolerances.gradient(case.dtype, layer, gradients.PROP_VJP)
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
                "class": adapters.CONTRACTS[example.layer].class_name,
                "exercises": case.exercises,
                "constructor": {"args": _plain(example.args), "kwargs": _plain(example.kwargs)},
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
            "rows": "the softmax and the projection act on the last axis; any leading axes are batch",
            "memory_cell.inputs": "(T, batch, n): one call per step, in order, on one layer from a zero state",
            "memory_cell.vjp": "of the last call only, the state before it held constant (truncated BPTT, window 1)",
            "weights": "assign after build, over the initial values (the softmax's temperature comes from initial_temperature)",
            "expected": "the float64 reference on the values a layer of the case's dtype holds",
        },
        "cases": entries,
    }
    np.savez(os.path.join(directory, ARRAYS), **arrays)
    with open(os.path.join(directory, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    return manifest


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


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
    from layercheck.assertions import Case, assert_close, check

    def array(name):
        return arrays[entry["arrays"][name]["key"]]

    dtype = entry["dtype"]
    args = entry["constructor"]["args"]
    kwargs = entry["constructor"]["kwargs"]
    params = {"case": entry["id"], "constructor": f"{entry['class']}(*{_short(args)}, **{kwargs})"}
    case = Case(adapter.contract.class_name, f"golden vector {entry['id']}", "", dtype, params)
    inputs = array("inputs")
    calls = list(inputs) if entry["layer"] == "memory_cell" else [inputs]

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
    actual = np.stack(outputs) if entry["layer"] == "memory_cell" else outputs[0]
    assert_close(actual, array("outputs"), case, forward, claim="the outputs equal the golden outputs", scale=array("outputs_scale"))

    gradient = _tolerance(entry["tolerance"]["gradient"])
    layer = fresh_layer()
    for x in calls[:-1]:
        adapter.call(layer, x)
    found = adapter.gradients(layer, calls[-1], array("cotangent"))
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


def _short(args):
    text = repr(args)
    return text if len(text) <= 60 else text[:57] + "..."
