"""The registry of layer specs the generic properties expand over.

Specs come from:

* ``register(spec)`` in a test module or a ``conftest.py``;
* ``--layercheck-spec module:attr`` (repeatable) or ``LAYERCHECK_SPECS`` (the same, separated
  by spaces or commas): ``attr`` is a :class:`~layercheck.spec.LayerSpec` or a list of them;
* the ``layercheck.specs`` entry-point group of an installed package (each entry point names
  a spec or a list of specs).

Names are unique; the order is registration order.

layercheck's own three layers (``layercheck.layers.specs``) are what the properties expand over
when nothing else is registered: the gate of this repository, and a first run of an installed
layercheck. A project that registers its own specs gets only those; it adds layercheck's layers
by registering ``layercheck.layers.specs:SPECS`` like any other. :func:`get` finds a production
layer's spec by name either way (``--layer-impl temperature_softmax=...`` needs no registration).
"""

import importlib
import os

from layercheck.spec import LayerSpec

#: The environment variable that names extra specs, as ``--layercheck-spec`` does.
SPECS_ENV = "LAYERCHECK_SPECS"
#: The entry-point group of installed packages' specs.
ENTRY_POINT_GROUP = "layercheck.specs"

_SPECS = {}
_BUILTINS = {}


def _builtins():
    """The production layers' specs by name (imported on first use)."""
    if not _BUILTINS:
        from layercheck.layers.specs import SPECS

        _BUILTINS.update((spec.name, spec) for spec in SPECS)
    return _BUILTINS


def _enumerated():
    """What the properties expand over: the registered specs, or the production layers' when
    none is registered."""
    return _SPECS if _SPECS else _builtins()


def register(spec):
    """Add ``spec``; returns it. Registering the same spec twice is a no-op; another spec
    under a registered name is a ``ValueError``."""
    if not isinstance(spec, LayerSpec):
        raise TypeError(f"register() takes a layercheck.spec.LayerSpec, got {type(spec).__name__}: {spec!r}")
    existing = _SPECS.get(spec.name) or _builtins().get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"a spec named {spec.name!r} is already registered ({existing.class_name}); choose another name")
    _SPECS[spec.name] = spec
    return spec


def unregister(name):
    """Remove the spec ``name`` (tests of the harness); unknown names are ignored."""
    _SPECS.pop(name, None)


def get(name):
    """The spec registered as ``name``; a ``ValueError`` lists the known names otherwise."""
    found = _SPECS.get(name) or _builtins().get(name)
    if found is None:
        raise ValueError(f"no layer spec named {name!r}; known: {', '.join(known())}")
    return found


def known():
    """Every name :func:`get` finds: the registered specs and the production layers."""
    return tuple(dict.fromkeys([*_SPECS, *_builtins()]))


def specs(*capabilities, gradients=None, without=()):
    """The registered specs having every capability in ``capabilities`` and none in
    ``without``; ``gradients=True`` keeps those with a gradient model, ``False`` those without."""
    chosen = []
    for spec in _enumerated().values():
        if not all(spec.has(capability) for capability in capabilities):
            continue
        if any(spec.has(capability) for capability in without):
            continue
        if gradients is not None and (spec.gradient is not None) != gradients:
            continue
        chosen.append(spec)
    return tuple(chosen)


def names(*capabilities, gradients=None, without=()):
    """The names of :func:`specs` (what properties parametrize ``layer_name`` over)."""
    return tuple(spec.name for spec in specs(*capabilities, gradients=gradients, without=without))


def load(target):
    """Import ``module:attr`` and register what it names (a spec or an iterable of specs);
    returns the specs. ``module`` resolves from the current directory first."""
    module_name, sep, attr = str(target).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"a spec is given as 'module:attr', got {target!r}")
    current_directory_first()
    module = importlib.import_module(module_name)
    value = module
    try:
        for part in attr.split("."):
            value = getattr(value, part)
    except AttributeError:
        raise ValueError(f"{module_name!r} has no attribute {attr!r} (from {target!r})") from None
    found = [value] if isinstance(value, LayerSpec) else list(value) if isinstance(value, (list, tuple)) else None
    if not found or not all(isinstance(spec, LayerSpec) for spec in found):
        raise ValueError(f"{target!r} is not a LayerSpec or a list of them: {value!r}")
    return [register(spec) for spec in found]


def load_entry_points():
    """Register the specs of the installed packages' ``layercheck.specs`` entry points."""
    from importlib.metadata import entry_points

    loaded = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        loaded.extend(load(entry_point.value))
    return loaded


def targets_from_environment():
    """The ``module:attr`` targets of :data:`SPECS_ENV`."""
    return os.environ.get(SPECS_ENV, "").replace(",", " ").split()


def targets_from_pyproject(start=None):
    """The ``layercheck_specs`` of the nearest ``pyproject.toml`` at or above ``start`` (the
    current directory) that has ``[tool.pytest.ini_options]``, and that file's directory: what
    pytest would register in that project, for tools that run outside pytest
    (``layercheck zoo``). ``([], None)`` when there is none."""
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the ini is read by pytest only
        return [], None
    directory = Path(start or os.getcwd()).resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / "pyproject.toml"
        if not path.is_file():
            continue
        with open(path, "rb") as handle:
            options = tomllib.load(handle).get("tool", {}).get("pytest", {}).get("ini_options")
        if options is not None:
            targets = options.get("layercheck_specs", [])
            return ([targets] if isinstance(targets, str) else list(targets)), candidate
    return [], None


def current_directory_first():
    """Put the working directory on ``sys.path`` (``module:attr`` given on a command line
    resolves from where the user runs, as ``python -m`` would)."""
    import sys

    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
