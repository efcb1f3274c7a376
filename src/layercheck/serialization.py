"""Round trips of a layer through Keras's serialization, files and exports.

Each public function here is the core of one round-trip property: it takes an adapter and a
drawn :class:`~layercheck.cases.Example`, does the round trip, and raises
:class:`~layercheck.assertions.PropertyFailure` (through ``check`` / ``fail``) with a claim
that says what did not survive. The properties in ``properties/test_round_trips.py`` draw the
examples; ``tests/test_round_trip_properties_catch_bad_layers.py`` feeds the same functions
known-bad layers. Files go to a ``tempfile.TemporaryDirectory`` per call.

What survives which round trip
------------------------------
* ``get_config()`` is plain JSON (``json.dumps(..., allow_nan=False)`` with no custom
  encoder) and names every constructor argument of the contract with the value it was given.
  Floats survive exactly: ``json`` writes ``repr(float)``, which reads back to the same
  float64, so a float32 basis entry (a float64 holding a float32 value) does too, however
  large the basis.
* ``from_config(json.loads(json.dumps(get_config())))`` and
  ``deserialize_keras_object(serialize_keras_object(layer))`` give a layer with an equal
  config, the same class, and (unbuilt: built with the same seed; built: with the original's
  trainable weights copied in) bit-identical weights and outputs. Non-trainable weights that
  the config defines (a fixed basis) are *not* copied: they must come out of the
  config bit for bit.
* ``model.save("x.keras")`` / ``keras.models.load_model`` (``safe_mode=True``, no
  ``custom_objects``: the layers are registered) and ``save_weights`` / ``load_weights`` into
  a freshly made model (another seed, so a weight that is not loaded shows) give
  bit-identical outputs and weights. Saving happens on one device and loading and running on
  another; the expected outputs are the original model's, run on the loading device.
* ``model.export()`` (a TensorFlow SavedModel) serves bit-identical outputs through its
  ``serve`` endpoint.

A stateful layer's state
------------------------
A stateful layer's state (``LayerSpec.state``) is not a Keras weight: ``get_config``, ``.keras``
files and ``save_weights`` do not carry it, and a loaded layer starts from zeros. The round
trips check exactly that: the original model runs the example's sequence twice (so its state
is far from zero when it is saved), and the loaded model, on the same sequence twice, must
give the original's *first* outputs (from a zero state), not their continuation. An export is
made after ``reset_state(batch_size=...)``: a SavedModel captures the state it holds. What
one stateful layer decides beyond that (what its export carries, which errors it raises) is
checked by its own functions, next to its spec.
"""

import json
import math
import os
import re
import tempfile

import numpy as np

from layercheck import cases
from layercheck.adapters import MissingAPI
from layercheck.assertions import Case, check, fail, short_repr
from layercheck.devices import name_of, on

DTYPE = "float32"

PROP_CONFIG = "get_config is plain JSON and from_config round-trips it"
PROP_SERIALIZATION = "serialize_keras_object / deserialize_keras_object round-trips the layer"
PROP_KERAS_FILE = ".keras save and load (safe mode, no custom_objects) gives identical outputs"
PROP_WEIGHTS = "save_weights / load_weights gives identical outputs"
PROP_EXPORT = "model.export() serves identical outputs"

#: How many times the original runs the example's sequence before it is saved: twice, so the
#: loaded model's continuation is checked even for a one-step sequence.
REPEATS = 2


# -- public helpers ----------------------------------------------------------------------------


def constructor_arguments(adapter, example):
    """The example's constructor arguments by name: positional ones named from the contract's
    constructor signature (``Layer(count, ...)`` names ``count``)."""
    names = _positional_names(adapter.contract.constructor)
    if len(example.args) > len(names):
        raise ValueError(f"{len(example.args)} positional arguments, but {adapter.contract.constructor} names {names}")
    arguments = dict(zip(names, example.args))
    arguments.update(example.kwargs)
    return arguments


def json_equal(a, b):
    """Equal as JSON values: tuples count as lists, floats compare bit for bit (so 0.0 and
    -0.0 differ, NaN equals NaN), ints and floats do not mix, bools are not ints."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    return type(a) is type(b) and a == b


def check_plain_json(value, case, what):
    """``json.dumps`` with no custom encoder and no NaN/inf, read back to an equal value.

    Returns the decoded value (what a config file would give back).
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        fail(case, f"{what} is plain JSON (json.dumps without a custom encoder, no NaN or inf)", f"json.dumps raised {type(error).__name__}: {error}\nat: {_non_json_path(value)}")
    decoded = json.loads(text)
    check(
        json_equal(decoded, value),
        case,
        f"{what} reads back from JSON unchanged",
        f"first difference at {_first_json_difference(decoded, value)}",
    )
    return decoded


# -- 1: get_config / from_config ----------------------------------------------------------------


def config_round_trip(adapter, example, *, built, device=None):
    """``get_config`` is plain JSON and names every constructor argument with its value;
    ``from_config`` of the JSON-decoded config gives an equal config, the same weights and
    bit-identical outputs.

    ``built=False``: both layers are built afterwards from the same seed, so the weights come
    from the config alone (an initial value that is not in the config shows). ``built=True``:
    the original holds the example's weights and the copy gets its trainable weights.
    """
    case = case_of(adapter, PROP_CONFIG, device, example, built=built)
    with on(device):
        original = _construct(adapter, example, built=built)
        config = adapter.config(original)
        decoded = check_plain_json(config, case, "get_config()")
        _check_constructor_arguments(adapter, example, config, case)
        _seed(example.seed)
        restored = adapter.from_config(original, decoded)
        check(
            type(restored) is type(original),
            case,
            "from_config gives a layer of the same class",
            f"got {type(restored).__name__}, expected {type(original).__name__}",
        )
        check(
            json_equal(adapter.config(restored), config),
            case,
            "from_config(config).get_config() equals config",
            f"first difference at {_first_json_difference(adapter.config(restored), config)}",
        )
        _compare_rebuilt(adapter, example, original, restored, built=built, case=case, how="from_config")


# -- 2: serialize_keras_object / deserialize_keras_object ---------------------------------------


def serialization_round_trip(adapter, example, *, built, device=None):
    """``keras.saving.serialize_keras_object`` is plain JSON; ``deserialize_keras_object`` of
    it (the class found through its registration) gives the same class, an equal serialization,
    the same built state, the same weights and bit-identical outputs."""
    import keras

    case = case_of(adapter, PROP_SERIALIZATION, device, example, built=built)
    with on(device):
        original = _construct(adapter, example, built=built)
        serialized = keras.saving.serialize_keras_object(original)
        decoded = check_plain_json(serialized, case, "serialize_keras_object(layer)")
        _check_constructor_arguments(adapter, example, serialized.get("config", {}), case)
        _seed(example.seed)
        try:
            restored = keras.saving.deserialize_keras_object(decoded)
        except Exception as error:  # noqa: BLE001 - any error is the failure to report
            fail(case, "deserialize_keras_object reads back what serialize_keras_object wrote", error_text(error))
        check(
            type(restored) is type(original),
            case,
            "deserialize_keras_object gives a layer of the same class (found through its registration)",
            f"got {type(restored).__name__}, expected {type(original).__name__}; registered_name {serialized.get('registered_name')!r}",
        )
        check(
            restored.built == original.built,
            case,
            "deserialize_keras_object gives a layer built exactly when the original was",
            f"original built={original.built}, deserialized built={restored.built}",
        )
        again = keras.saving.serialize_keras_object(restored)
        check(
            json_equal(again, serialized),
            case,
            "serializing the deserialized layer gives the same serialization",
            f"first difference at {_first_json_difference(again, serialized)}",
        )
        _compare_rebuilt(adapter, example, original, restored, built=built, case=case, how="deserialize_keras_object")


# -- 3: .keras files ----------------------------------------------------------------------------


def keras_file_round_trip(adapter, example, *, save_device=None, load_device=None):
    """A functional model holding the layer, saved to ``.keras`` on ``save_device`` and loaded
    with ``keras.models.load_model(safe_mode=True)`` (no ``custom_objects``) on
    ``load_device``, runs the example's sequence twice with bit-identical outputs to the
    original's first two runs (from a fresh state), and ends with the same weights and config.
    """
    import keras

    case = case_of(adapter, PROP_KERAS_FILE, load_device, example, saved_on=device_name(save_device))
    model, layer = functional_model(adapter, example, save_device)
    expected = run_model(adapter, model, example, load_device)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        with on(save_device):
            model.save(path)
        with on(load_device):
            try:
                loaded = keras.models.load_model(path, safe_mode=True)
            except Exception as error:  # noqa: BLE001
                fail(case, "keras.models.load_model(safe_mode=True) without custom_objects loads the file", error_text(error))
    loaded_layer = loaded.get_layer(layer.name)
    check(
        type(loaded_layer) is type(layer),
        case,
        "the loaded model holds a layer of the same class",
        f"got {type(loaded_layer).__name__}, expected {type(layer).__name__}",
    )
    check(
        json_equal(adapter.config(loaded_layer), adapter.config(layer)),
        case,
        "the loaded layer's config equals the original's",
        f"first difference at {_first_json_difference(adapter.config(loaded_layer), adapter.config(layer))}",
    )
    actual = run_model(adapter, loaded, example, load_device)
    _check_same_run(adapter, example, case, actual, expected, model, load_device, what="the model loaded from the .keras file")
    _check_same_weights(adapter, loaded_layer, layer, case, what="the loaded layer, after the same calls,")


# -- 4: save_weights / load_weights ------------------------------------------------------------


def weights_round_trip(adapter, example, *, save_device=None, load_device=None):
    """``model.save_weights`` on ``save_device`` and ``load_weights`` into a model made anew
    (same arguments, another seed) on ``load_device``: bit-identical outputs over the
    example's sequence run twice, and the same weights."""
    case = case_of(adapter, PROP_WEIGHTS, load_device, example, saved_on=device_name(save_device))
    model, layer = functional_model(adapter, example, save_device)
    expected = run_model(adapter, model, example, load_device)
    other_seed = (example.seed + 1) % 2**31
    fresh, fresh_layer = functional_model(adapter, example, load_device, seed=other_seed, assign=False)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.weights.h5")
        with on(save_device):
            model.save_weights(path)
        with on(load_device):
            try:
                fresh.load_weights(path)
            except Exception as error:  # noqa: BLE001
                fail(case, "load_weights reads what save_weights wrote into a model made with the same arguments", error_text(error))
    actual = run_model(adapter, fresh, example, load_device)
    _check_same_run(adapter, example, case, actual, expected, model, load_device, what="the model that loaded the weights")
    _check_same_weights(adapter, fresh_layer, layer, case, what="the layer that loaded the weights, after the same calls,")


# -- 5: model.export() ------------------------------------------------------------------------


def export_round_trip(adapter, example, *, device=None):
    """``model.export()`` (a SavedModel) and ``tf.saved_model.load(...).serve`` give
    bit-identical outputs to the original model over the example's sequence run twice.

    A layer with ``reset_state`` in its contract gets ``reset_state(batch_size=...)`` first:
    its state must exist to be exported, and the export carries it (see the module
    docstring), so it is exported at zeros.
    """
    case = case_of(adapter, PROP_EXPORT, device, example)
    model, layer = functional_model(adapter, example, device)
    if _is_stateful(adapter):
        adapter.method(layer, "reset_state")(batch_size=batch_size(example))
    with tempfile.TemporaryDirectory() as directory:
        served = export_and_serve(model, example, directory, device, case)
    # Against the model traced by tf.function, not run eagerly: a SavedModel is a graph, and
    # TensorFlow's graph optimizer may rewrite ordinary arithmetic (x / sqrt(v) as
    # x * rsqrt(v), reordered products) by an ulp, in any graph; eager against traced is
    # test_eager_function_and_xla_agree's comparison, within the forward tolerance.
    expected = run_model(adapter, model, example, device, mode="function")
    check_identical(
        served, expected, case, "the exported model's serve endpoint returns the traced original model's outputs, bit for bit"
    )


# -- internals -----------------------------------------------------------------------------------


def case_of(adapter, prop, device, example, **extra):
    return Case.of(adapter, prop, device, DTYPE, example, **extra)


device_name = name_of


def _seed(seed):
    import keras

    keras.utils.set_random_seed(seed)


def _is_stateful(adapter):
    return adapter.spec.stateful


def batch_size(example):
    return int(example.call_inputs[0].shape[0])


def _positional_names(constructor):
    inside = constructor[constructor.index("(") + 1 : constructor.rindex(")")]
    names = []
    for part in inside.split(","):
        part = part.strip()
        if not part or part.startswith("*") or "=" in part:
            continue
        names.append(part)
    return names


def _construct(adapter, example, *, built):
    """The example's layer, unbuilt, or built on the first call's shape with its weights."""
    if built:
        return cases.make_layer(adapter, example, DTYPE)
    _seed(example.seed)
    return adapter.make(*example.args, dtype=DTYPE, **example.kwargs)


def _check_constructor_arguments(adapter, example, config, case):
    for name, value in constructor_arguments(adapter, example).items():
        check(
            name in config,
            case,
            f"the config carries the constructor argument {name!r}",
            f"config keys: {sorted(config)}",
        )
        given = value.tolist() if isinstance(value, np.ndarray) else value
        given = plain(given)
        check(
            json_equal(config[name], given),
            case,
            f"the config holds the constructor argument {name!r} exactly as given",
            f"first difference at {_first_json_difference(config[name], given, name)}",
        )


def plain(value):
    """Python values for NumPy ones, recursively (what an argument means, as JSON)."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _compare_rebuilt(adapter, example, original, restored, *, built, case, how):
    shape = example.call_inputs[0].shape
    if not built:
        # Same seed, same config: the same initial weights, unless the config lost something.
        _seed(example.seed)
        adapter.build(original, shape)
        _seed(example.seed)
    adapter.build(restored, shape)
    if built:
        for name in adapter.contract.trainable:
            adapter.assign(restored, name, adapter.weight(original, name))
    what = f"the layer from {how}" + (" (with the original's trainable weights)" if built else " (built with the same seed)")
    _check_same_weights(adapter, restored, original, case, what=what)
    actual = _call_sequence(adapter, restored, example)
    expected = _call_sequence(adapter, original, example)
    check_identical(actual, expected, case, f"{what} gives bit-identical outputs")


def _call_sequence(adapter, layer_or_model, example, repeats=1, mode="eager"):
    outputs = [adapter.call(layer_or_model, np.asarray(x, np.float32), mode) for _ in range(repeats) for x in example.call_inputs]
    return np.stack(outputs)


def functional_model(adapter, example, device, *, seed=None, assign=True):
    """A functional model on ``keras.Input`` with an unknown batch size holding the example's
    layer (made and, with ``assign``, given the example's weights on ``device``)."""
    import keras

    shape = example.call_inputs[0].shape
    with on(device):
        if assign:
            layer = cases.make_layer(adapter, example, DTYPE, input_shape=(None, *shape[1:]))
        else:
            _seed(example.seed if seed is None else seed)
            layer = adapter.make(*example.args, dtype=DTYPE, **example.kwargs)
        inputs = keras.Input(shape=shape[1:])
        model = keras.Model(inputs, layer(inputs))
    return model, layer


def run_model(adapter, model, example, device, repeats=REPEATS, mode="eager"):
    with on(device):
        return _call_sequence(adapter, model, example, repeats, mode)


def export_and_serve(model, example, directory, device, case):
    import tensorflow as tf

    path = os.path.join(directory, "export")
    with on(device):
        try:
            model.export(path, verbose=False)
        except Exception as error:  # noqa: BLE001
            fail(case, "model.export() writes a SavedModel", error_text(error))
        restored = tf.saved_model.load(path)
        outputs = [
            np.asarray(restored.serve(tf.constant(np.asarray(x, np.float32))))
            for _ in range(REPEATS)
            for x in example.call_inputs
        ]
    return np.stack(outputs)


def _check_same_run(adapter, example, case, actual, expected, original, device, *, what):
    details = ""
    if _is_stateful(adapter) and not np.array_equal(actual, expected):
        continuation = run_model(adapter, original, example, device)
        if np.array_equal(actual, continuation):
            details = (
                f"{what} gives the original's continuation from the state it held when saved: "
                "the state travelled, against the documented decision that a loaded layer starts from zeros"
            )
    check_identical(
        actual,
        expected,
        case,
        f"{what} gives the original model's outputs from a fresh state, bit for bit, over the sequence run {REPEATS} times",
        details,
    )


def _check_same_weights(adapter, actual_layer, expected_layer, case, *, what):
    for name in adapter.contract.weights:
        try:
            expected = adapter.weight(expected_layer, name)
        except MissingAPI:
            continue  # e.g. no state yet; the outputs are compared anyway
        actual = adapter.weight(actual_layer, name)
        check_identical(actual, expected, case, f"{what} holds the same {name!r} bit for bit")


def check_identical(actual, expected, case, claim, details=""):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        fail(case, claim, f"shape: got {actual.shape}, expected {expected.shape}\n{details}")
    same = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    if same.all():
        return
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    difference[same] = 0.0
    worst = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(np.where(np.isnan(difference), np.inf, difference))), difference.shape)) if difference.ndim else ()
    lines = [
        f"{int((~same).sum())} of {same.size} element(s) differ (bit-identical expected)",
        f"largest absolute difference {float(difference[worst]):.9g} at index {worst}: got {float(actual[worst])!r}, expected {float(expected[worst])!r}",
    ]
    if details:
        lines.append(details)
    fail(case, claim, "\n".join(lines))


def error_text(error):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    return f"{type(error).__name__}: {text[:2000]}"


def _non_json_path(value, path="config"):
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_json_path(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _non_json_path(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} = {value!r}"
    return f"{path} = {value!r} of type {type(value).__module__}.{type(value).__name__}"


def _first_json_difference(a, b, path="config"):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a.keys() - b.keys())} only in the first, {sorted(b.keys() - a.keys())} only in the second"
        for key in a:
            if not json_equal(a[key], b[key]):
                return _first_json_difference(a[key], b[key], f"{path}[{key!r}]")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} and {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            if not json_equal(x, y):
                return _first_json_difference(x, y, f"{path}[{index}]")
    return f"{path}: {short_repr(a)} ({type(a).__name__}) vs {short_repr(b)} ({type(b).__name__})"
