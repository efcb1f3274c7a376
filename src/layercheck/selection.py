"""Which property tests exercise which layer, and the order that finds a defect soonest.

Used by ``layercheck zoo`` (one layer's properties per entry) and by the plugin's
``--layercheck-layer NAME`` (run only the properties of some layers, cheapest first).
"""

import inspect

from layercheck import adapters

#: Where the shared property files run, after the entry's own layer file (``test_<layer>.py``):
#: cheap and targeted first (argument checks, the gradients' first property, config round
#: trips), then the slower shared ones (every execution mode and dtype), and distribution
#: (a distributed train step per example) last. Files not listed run after these.
FILE_ORDER = (
    "test_argument_checks.py",
    "test_gradients.py",
    "test_round_trips.py",
    "test_execution_modes.py",
    "test_distribution.py",
)


def item_layers(item):
    """The layers a collected property test exercises.

    In this order: the ``layer_name`` parameter; the adapter fixtures it takes
    (``temperature_softmax``...); the layer named in its file or function name; for a shared
    test that asks ``adapter_for`` for one layer in its body, the layer names its source
    spells as string literals. A test that names no layer belongs to none (and is not run).
    """
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    if params.get("layer_name") in adapters.LAYER_NAMES:
        return {params["layer_name"]}
    fixtures = set(getattr(item, "fixturenames", ()))
    named = {layer for layer in adapters.LAYER_NAMES if layer in fixtures}
    if named:
        return named
    text = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
    named = {layer for layer in adapters.LAYER_NAMES if layer in text}
    if named:
        return named
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError, AttributeError):
        return set()
    return {layer for layer in adapters.LAYER_NAMES if f'"{layer}"' in source or f"'{layer}'" in source}


def run_order(item, layers):
    """Sort key: the layers' own files first, then :data:`FILE_ORDER`, then the rest."""
    filename = item.path.name
    if any(filename == f"test_{layer}.py" for layer in layers):
        return (0, "")
    if filename in FILE_ORDER:
        return (1 + FILE_ORDER.index(filename), "")
    return (1 + len(FILE_ORDER), filename)
