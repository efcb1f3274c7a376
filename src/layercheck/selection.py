"""Which property tests exercise which layer, and the order that finds a defect soonest.

Used by ``layercheck zoo`` (one layer's properties per entry), by the plugin's
``--layercheck-layer NAME`` (run only the properties of some layers, cheapest first), by the
verification matrix and by the specs' scoped skips.

A test's layers come from its collection, never from its source text:

* a generic property is parametrized over the registry (its ``layer_name`` parameter) and
  takes the plugin's ``adapter_for`` fixture;
* a layer's own property file carries ``pytestmark = pytest.mark.layercheck_layer(NAME)``.
"""

#: The marker of a layer's own property file (or of one test): the layers it exercises.
MARKER = "layercheck_layer"

#: Where the shared property files run, after the layer's own file: cheap and targeted first
#: (argument checks, the gradients' first property, config round trips), then the slower
#: shared ones (every execution mode and dtype), and distribution (a distributed train step
#: per example) last. Files not listed run after these.
FILE_ORDER = (
    "test_argument_checks.py",
    "test_gradients.py",
    "test_round_trips.py",
    "test_execution_modes.py",
    "test_distribution.py",
)


def item_layers(item):
    """The names of the layers a collected property exercises: its ``layer_name`` parameter
    (when it takes the plugin's ``adapter_for``), else the arguments of its closest
    ``layercheck_layer`` marker; an empty set for other tests."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    if isinstance(params.get("layer_name"), str) and "adapter_for" in getattr(item, "fixturenames", ()):
        return {params["layer_name"]}
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        return set(marker.args)
    return set()


def is_own_file(item):
    """Whether the test comes from a layer's own property file (marked, not parametrized)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    return "layer_name" not in params and item.get_closest_marker(MARKER) is not None


def run_order(item, layers=()):
    """Sort key: the layers' own files first, then :data:`FILE_ORDER`, then the rest."""
    if is_own_file(item):
        return (0, "")
    filename = item.path.name
    if filename in FILE_ORDER:
        return (1 + FILE_ORDER.index(filename), "")
    return (1 + len(FILE_ORDER), filename)
