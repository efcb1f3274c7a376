"""The layercheck pytest plugin (registered as the ``pytest11`` entry point ``layercheck``).

A project that pip-installs layercheck gets, without copying a conftest:

* the Hypothesis profiles ``dev``, ``ci`` and ``thorough`` (``ci`` when ``CI`` is set, else
  ``dev``; ``--hypothesis-profile`` wins);
* ``--layercheck-devices`` / ``LAYERCHECK_DEVICES`` to restrict the devices, and
  ``--layercheck-cpu-devices`` / ``LAYERCHECK_CPU_DEVICES`` for the CPU split;
* ``--layer-impl NAME=module:attr`` / ``LAYERCHECK_LAYER_IMPL`` to point the gate at another
  implementation;
* ``--layercheck-spec module:attr`` / ``LAYERCHECK_SPECS`` to register more layer specs (and the
  ``layercheck.specs`` entry points of installed packages), which every generic property then
  expands over;
* ``--layercheck-layer NAME`` to run only the properties of some layers, cheapest first;
* each spec's scoped skips (``LayerSpec.skips``), applied with their reasons at collection;
* a ``device`` parameter: a test that takes ``device`` runs once per logical device, with the
  device in its id (``[CPU:0]``);
* the session fixtures ``adapter_for`` (layer name -> :class:`~layercheck.adapters.KerasAdapter`)
  and ``layercheck_devices`` (the run's devices).

Devices are configured at the start of collection (on every xdist worker, before any test
module is imported), which imports TensorFlow once per process.
"""

import collections
import functools
import os
import re
from pathlib import Path

import pytest

from layercheck import adapters, assertions, devices, environment, matrix, profiles, registry
from layercheck.selection import MARKER, item_layers, run_order

LAYER_IMPL_ENV = adapters.LAYER_IMPL_ENV

# Registered at import, before Hypothesis's own plugin loads ``--hypothesis-profile``.
profiles.register()


#: Set at configure: whether this run asked for layercheck. A project that did not ask gets
#: nothing from the plugin: no TensorFlow import, no environment or device change, no
#: Hypothesis profile, no ``device`` parametrization, no matrix.
_ACTIVE = False

#: The ini key that turns the plugin on for a project (``[tool.pytest.ini_options]``).
INI_KEY = "layercheck"
#: The environment variable that turns it on for one run (as ``--layercheck``).
ACTIVE_ENV = "LAYERCHECK"
#: The ini key that lists a project's specs (``module:attr``), as ``--layercheck-spec`` does.
SPECS_INI_KEY = "layercheck_specs"
#: The ini key that keeps the installed property suite out of a project's default collection.
PROPERTIES_INI_KEY = "layercheck_properties"
#: The installed property suite (``properties/`` of the repository) as an importable package.
PROPERTIES_PACKAGE = "layercheck_properties"

#: The options whose use turns the plugin on (dest names).
_OPTIONS_THAT_ASK = (
    "layercheck",
    "layercheck_devices",
    "layercheck_cpu_devices",
    "layer_impl",
    "layercheck_spec",
    "layercheck_layer",
    "layercheck_matrix_json",
    "layercheck_matrix_markdown",
    "layercheck_tf_log",
)


def is_active(config):
    """Whether ``config``'s run asked for layercheck: the ini key ``layercheck = true``, the
    ``--layercheck`` option or any other ``--layercheck-*`` / ``--layer-impl`` option, or the
    environment variable ``LAYERCHECK=1``."""
    if os.environ.get(ACTIVE_ENV, "").lower() in ("1", "true", "yes"):
        return True
    try:
        if config.getini(INI_KEY):
            return True
    except ValueError:  # the key is not registered (the plugin's addoption did not run)
        return False
    namespace = getattr(config, "known_args_namespace", None) or config.option
    return any(getattr(namespace, dest, None) for dest in _OPTIONS_THAT_ASK)


def pytest_addoption(parser):
    parser.addini(
        INI_KEY,
        type="bool",
        default=False,
        help="turn the layercheck plugin on for this project (it does nothing for projects that do not ask)",
    )
    parser.addini(
        SPECS_INI_KEY,
        type="linelist",
        default=[],
        help="the layer specs of this project, as module:attr (a LayerSpec or a list of them), resolved from "
        "the root directory; the property suite expands over them",
    )
    parser.addini(
        PROPERTIES_INI_KEY,
        type="bool",
        default=True,
        help="when the project declares specs and pytest runs without paths, collect layercheck's installed "
        f"property suite ({PROPERTIES_PACKAGE}) with the project's own tests",
    )
    group = parser.getgroup("layercheck", "layercheck: property gate for Keras layers")
    group.addoption(
        "--layercheck",
        action="store_true",
        default=False,
        help=f"turn the layercheck plugin on for this run (else: ini '{INI_KEY} = true', any other layercheck "
        f"option, or env {ACTIVE_ENV}=1); without it the plugin changes nothing",
    )
    group.addoption(
        "--layercheck-devices",
        default=None,
        metavar="NAMES",
        help=f"comma-separated logical devices to run on, e.g. CPU:0,GPU:0 (env {devices.DEVICES_ENV}); default: all",
    )
    group.addoption(
        "--layercheck-cpu-devices",
        default=None,
        type=int,
        metavar="N",
        help=f"split the CPU into N logical devices (env {devices.CPU_DEVICES_ENV}; default {devices.DEFAULT_CPU_DEVICES})",
    )
    group.addoption(
        "--layer-impl",
        action="append",
        default=[],
        metavar="NAME=module:attr",
        help="run the gate against another implementation of the registered layer NAME; "
        f"repeatable; env {LAYER_IMPL_ENV} takes the same, separated by spaces or commas",
    )
    group.addoption(
        "--layercheck-spec",
        action="append",
        default=[],
        metavar="module:attr",
        help="register the layer spec (or list of specs) module:attr, resolved from the current directory; "
        f"repeatable; env {registry.SPECS_ENV} takes the same",
    )
    group.addoption(
        "--layercheck-tf-log",
        action="store_true",
        default=False,
        help="show TensorFlow's start-up log (oneDNN, CUDA probing...), held back by default; also with -vv "
        f"or env {environment.TF_LOG_ENV}=1",
    )
    group.addoption(
        "--layercheck-matrix-json",
        default=None,
        metavar="PATH",
        help="also write the verification matrix as JSON to PATH (shards of a split run merge with "
        "'layercheck matrix merge')",
    )
    group.addoption(
        "--layercheck-matrix-markdown",
        default=None,
        metavar="PATH",
        help="also write the verification matrix as a Markdown table to PATH (e.g. $GITHUB_STEP_SUMMARY)",
    )
    group.addoption(
        "--layercheck-layer",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the properties of the registered layer NAME (repeatable), the layer's own file first and "
        "the slow multi-device files last: the order that finds a defect soonest with -x",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # Before the conftests of the command line's folders, which may import Keras: TensorFlow's
    # start-up lines are held back only around its first import.
    if not is_active(early_config):
        return
    environment.prepare()
    options = early_config.known_args_namespace
    environment.start_tensorflow(show=_show_tf_log(options.layercheck_tf_log, options.verbose))


def _show_tf_log(asked, verbosity):
    return bool(asked) or (verbosity or 0) >= 2


def pytest_configure(config):
    global _ACTIVE
    # Registered for everyone: a copied property file must not fail --strict-markers.
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*names): the test belongs to these registered layers (a layer's own property file)",
    )
    config.addinivalue_line(
        "markers",
        "keras_only(reason): the property needs Keras or TensorFlow machinery (tf.function, XLA, dtype "
        "policies, Keras serialization, tf.distribute, Keras optimizers); skipped, with the reason, "
        "for an implementation in another framework",
    )
    config.addinivalue_line("markers", "device_sensitive: the property runs once per logical device")
    _ACTIVE = is_active(config)
    if not _ACTIVE:
        return
    # TensorFlow's and Keras's own deprecations (NumPy 2's copy keyword, ...) say nothing about
    # the layer under test; a layer's own warnings still show.
    for framework in ("tensorflow", "keras"):
        config.addinivalue_line("filterwarnings", f"ignore::DeprecationWarning:{framework}.*")
    environment.prepare()
    environment.start_tensorflow(show=_show_tf_log(config.getoption("layercheck_tf_log"), config.getoption("verbose")))
    if not config.getoption("hypothesis_profile", default=None):
        from hypothesis import settings

        settings.load_profile(profiles.default_profile())
    declared = _register_specs(config)
    config._layercheck_adapters = _adapters_from(config)  # noqa: SLF001 - pytest's idiom for plugin state
    if declared:
        _collect_the_installed_properties(config)


def _register_specs(config):
    """Before any property module is imported (they parametrize over the registry at import).
    Returns the specs the run declared (entry points, ini, environment, options)."""
    declared = []
    try:
        declared += registry.load_entry_points()
    except (ImportError, ValueError, TypeError) as error:
        raise pytest.UsageError(f"the layercheck.specs entry points: {error}") from error
    _root_directory_on_path(config)
    for where, targets in (
        (SPECS_INI_KEY, config.getini(SPECS_INI_KEY)),
        (registry.SPECS_ENV, registry.targets_from_environment()),
        ("--layercheck-spec", config.getoption("layercheck_spec") or []),
    ):
        for target in targets:
            try:
                declared += registry.load(target)
            except (ImportError, ValueError, TypeError) as error:
                raise pytest.UsageError(f"{where} {target}: {error}") from error
    wanted = config.getoption("layercheck_layer") or ()
    unknown = [name for name in wanted if name not in registry.names()] if wanted else []
    if unknown:
        hint = (
            " (layercheck's own layers join a run that registers other specs through layercheck.layers.specs:SPECS)"
            if set(unknown) & set(registry.known())
            else ""
        )
        raise pytest.UsageError(
            f"--layercheck-layer: no layer spec named {', '.join(map(repr, unknown))} in this run; "
            f"registered: {', '.join(registry.names())}{hint}"
        )
    return declared


def _root_directory_on_path(config):
    """``module:attr`` of the ini resolves from the root directory (where the ini is), as a
    user who names ``my_layers.specs:SPECS`` there expects, wherever pytest was started."""
    import sys

    root = str(config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)


@functools.cache
def installed_properties():
    """The directory of the installed property suite (:data:`PROPERTIES_PACKAGE`), or None
    (looked up once: every test's rerun line asks)."""
    import importlib.util
    from pathlib import Path

    found = importlib.util.find_spec(PROPERTIES_PACKAGE)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))).resolve()


def _collect_the_installed_properties(config):
    """A project that declares specs gets the property suite with its own tests when pytest runs
    without paths (its ``testpaths`` or the current directory), as if the suite were one of them."""
    if not config.getini(PROPERTIES_INI_KEY) or config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    suite = installed_properties()
    if suite is None:
        raise pytest.UsageError(f"layercheck's property suite ({PROPERTIES_PACKAGE}) is not installed: reinstall layercheck")
    from pathlib import Path

    for arg in config.args:
        collected = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if collected == suite or suite in collected.parents or collected in suite.parents:
            return
    config.args.append(str(suite))


def _adapters_from(config):
    specs = adapters.impl_specs_from_environment() + list(config.getoption("layer_impl") or [])
    try:
        chosen = adapters.parse_impl_specs(specs)
    except ValueError as error:
        raise pytest.UsageError(f"--layer-impl: {error}") from error
    result = {}
    for name, target in chosen.items():
        try:
            result[name] = adapters.load_adapter(name, target)
        except (ImportError, ValueError) as error:
            raise pytest.UsageError(f"--layer-impl {name}={target}: {error}") from error
    return result


def adapter_for_config(config, name):
    """The adapter under test for layer ``name`` in this run (the spec's production layer
    unless ``--layer-impl`` named another)."""
    table = config._layercheck_adapters  # noqa: SLF001
    if table.get(name) is None:
        table[name] = adapters.KerasAdapter(name)
    return table[name]


def devices_for_config(config):
    """The logical devices of this run, configured on first use (identical on every worker)."""
    cached = getattr(config, "_layercheck_devices", None)
    if cached is None:
        cached = devices.configure(
            cpu_devices=config.getoption("layercheck_cpu_devices"),
            selection=config.getoption("layercheck_devices"),
        )
        config._layercheck_devices = cached  # noqa: SLF001
    return cached


def pytest_collection(session):
    if not _ACTIVE:
        return
    # Before any test module is imported: a module that runs a TF op at import would
    # initialise the runtime and freeze the device layout.
    devices_for_config(session.config)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    if not _ACTIVE:
        return
    for item in items:
        # Reports carry user_properties to the xdist controller, where the matrix is drawn.
        item.user_properties.extend(_junit_properties(item))
    _apply_spec_skips(items)
    _skip_what_the_framework_cannot_run(config, items)
    # layercheck's own layers' property files, in a project that registers its own layers
    # instead, are not this run's business.
    not_registered = set(registry.known()) - set(registry.names())
    layers = set(config.getoption("layercheck_layer") or ())
    keep, drop = [], []
    for item in items:
        exercised = item_layers(item)
        wanted = not (exercised and exercised <= not_registered) and (not layers or exercised & layers)
        # A generic property whose capability no registered layer has (pytest's "empty
        # parameter set" placeholder) is not this run's business either.
        wanted = wanted and not _applies_to_no_layer(item)
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    if layers:
        # sorted() is stable: within a file, the file's own order.
        keep = sorted(keep, key=lambda item: run_order(item, layers))
    items[:] = keep


def pytest_collection_finish(session):
    if not _ACTIVE:
        return
    # After TensorFlow, Keras and every test module are imported the heap holds millions of
    # objects that live as long as the process. Every full collection traverses them all: the
    # properties' teardown (Keras's clear_session, which calls gc.collect) then cost 0.2-0.36 s
    # a test, 15% of the gate's CPU (benchmarks/gate_cost.py). Freezing them moves them out of
    # the collector's reach; what the tests create afterwards is collected as before.
    import gc

    gc.collect()
    gc.freeze()


def _applies_to_no_layer(item):
    marker = item.get_closest_marker("skip")
    reason = str(marker.kwargs.get("reason", marker.args[0] if marker and marker.args else "")) if marker else ""
    return "adapter_for" in getattr(item, "fixturenames", ()) and reason.startswith("got empty parameter set") and "layer_name" in reason


def _apply_spec_skips(items):
    """Skip, with the spec's reason, what a layer's spec says it does not run (scoped to the
    test, a device and a dtype)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        for name in sorted(item_layers(item)):
            if name not in registry.names():
                continue
            spec = registry.get(name)
            if not spec.skips:
                continue
            dtype = params.get("dtype") if isinstance(params.get("dtype"), str) else None
            entry = spec.skip_for(getattr(item, "originalname", item.name), params.get("device"), dtype)
            if entry is not None:
                item.add_marker(pytest.mark.skip(reason=f"{name} spec: {entry.reason}"))


def _skip_what_the_framework_cannot_run(config, items):
    """Skip, with the reason, the properties an implementation's framework cannot run: those
    marked ``keras_only`` for a non-Keras adapter, and those parametrized over a dtype the
    adapter does not support."""
    table = config._layercheck_adapters
    if all(adapter is None or adapter.framework == "keras" for adapter in table.values()):
        return
    for item in items:
        for name in sorted(item_layers(item)):
            adapter = adapter_for_config(config, name)
            if adapter.framework == "keras":
                continue
            marker = item.get_closest_marker("keras_only")
            if marker is not None:
                why = marker.args[0] if marker.args else "it needs Keras"
                item.add_marker(pytest.mark.skip(reason=f"keras_only: {why} ({name} is a {adapter.framework} port)"))
                break
            callspec = getattr(item, "callspec", None)
            mode = callspec.params.get("mode") if callspec is not None else None
            if isinstance(mode, str) and mode not in adapter.modes:
                item.add_marker(
                    pytest.mark.skip(reason=f"the {adapter.framework} adapter runs modes {adapter.modes}, not {mode}")
                )
                break
            dtype = callspec.params.get("dtype") if callspec is not None else None
            if isinstance(dtype, str) and dtype not in adapter.dtypes:
                item.add_marker(
                    pytest.mark.skip(reason=f"the {adapter.framework} adapter supports {adapter.dtypes}, not {dtype}")
                )
                break


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _ACTIVE:
        yield
        return
    assertions.current_rerun = rerun_command(item)
    try:
        yield
    finally:
        assertions.current_rerun = None


def rerun_command(item):
    """The command that reruns ``item`` exactly, from the directory pytest was started in: the
    test by a path relative to it (or, for the installed property suite, by its module with
    ``--pyargs``), the same implementations, specs, CPU split and Hypothesis profile and seed."""
    import shlex

    config = item.config
    here = Path(config.invocation_params.dir).resolve()
    path = Path(item.path).resolve()
    _, _, inside = item.nodeid.partition("::")
    words = ["pytest"]
    suite = installed_properties()
    if here == path or here in path.parents:
        words.append(f"{path.relative_to(here).as_posix()}::{inside}")
    elif suite is not None and suite in path.parents:
        module = ".".join([PROPERTIES_PACKAGE, *path.relative_to(suite).with_suffix("").parts])
        words += ["--pyargs", f"{module}::{inside}"]
    else:
        words.append(f"{path.as_posix()}::{inside}")
    words += ["-n", "0"] if config.pluginmanager.hasplugin("xdist") else []
    if not config.getini(INI_KEY):
        words.append("--layercheck")
    for target in registry.targets_from_environment() + list(config.getoption("layercheck_spec") or []):
        words.append(f"--layercheck-spec={target}")
    for target in adapters.impl_specs_from_environment() + list(config.getoption("layer_impl") or []):
        words.append(f"--layer-impl={target}")
    cpu_devices = config.getoption("layercheck_cpu_devices") or os.environ.get(devices.CPU_DEVICES_ENV)
    if cpu_devices:
        words.append(f"--layercheck-cpu-devices={cpu_devices}")
    from hypothesis import settings

    words.append(f"--hypothesis-profile={settings._current_profile}")  # noqa: SLF001 - no public getter
    seed = config.getoption("hypothesis_seed", default=None)
    if seed is not None:
        words.append(f"--hypothesis-seed={seed}")
    return " ".join(shlex.quote(word) for word in words)


def pytest_generate_tests(metafunc):
    if _ACTIVE and "device" in metafunc.fixturenames:
        run_devices = devices_for_config(metafunc.config)
        metafunc.parametrize("device", run_devices, ids=[device.name for device in run_devices])


def pytest_report_header(config):
    if not _ACTIVE:
        return []
    table = config._layercheck_adapters  # noqa: SLF001
    lines = []
    for name in registry.names():
        adapter = table.get(name)
        lines.append(f"layercheck: {name} under test: {adapter.origin if adapter else 'production layer'}")
    from hypothesis import settings

    lines.append(f"layercheck: hypothesis profile {settings._current_profile}")  # noqa: SLF001
    return lines


def _require_active():
    if not _ACTIVE:
        pytest.fail(
            f"layercheck is not turned on for this run: set '{INI_KEY} = true' in [tool.pytest.ini_options] "
            f"(or pytest.ini), pass --layercheck, or set {ACTIVE_ENV}=1",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def layercheck_devices(request):
    """The logical devices of this run (what the ``device`` parameter ranges over)."""
    _require_active()
    return devices_for_config(request.config)


@pytest.fixture(scope="session")
def adapter_for(request):
    """``adapter_for(name)``: the adapter of the implementation under test for layer ``name``."""
    _require_active()
    return lambda name: adapter_for_config(request.config, name)


# -- the verification matrix ------------------------------------------------------------------

_LAYERS_PROPERTY = "layercheck_layers"
_DEVICE_ID = re.compile(r"(?:^|[\[-])((?:CPU|GPU):\d+)(?=[\]-])")
_EXAMPLES = re.compile(r"(\d+) passing, (\d+) failing")
# Hypothesis's pytest plugin leaves its statistics on the teardown report under this key; xdist
# carries report attributes back to the controller, so the matrix works under -n too.
_HYPOTHESIS_STATS_KEY = "_hypothesis_stats"

#: This run's matrix (the xdist controller's, under -n).
MATRIX = matrix.Matrix()


def _matrix_rows(nodeid, known_layers=""):
    """The (layer, property, device) cells of a property test id (one per layer it exercises),
    or None for a test that exercises no registered layer.

    ``known_layers``: the layers :func:`layercheck.selection.item_layers` found at collection
    (the ``layer_name`` parameter, or the layer file's marker), comma-separated.
    """
    if not known_layers:
        return None
    _, _, name = nodeid.partition("::")
    function, _, params = name.partition("[")
    device = _DEVICE_ID.search("[" + params)
    return [(layer, function, device.group(1) if device else matrix.ANY_DEVICE) for layer in known_layers.split(",")]


def _junit_properties(item):
    """What JUnit XML carries for a property test (pytest writes ``user_properties`` there):
    its layers, property, device and dtype; the examples are added at teardown."""
    layers = ",".join(sorted(item_layers(item)))
    if not layers:
        return []
    params = getattr(getattr(item, "callspec", None), "params", {})
    device = params.get("device")
    dtype = params.get("dtype")
    return [
        (_LAYERS_PROPERTY, layers),
        ("layercheck_property", item.originalname or item.name),
        ("layercheck_device", getattr(device, "name", matrix.ANY_DEVICE)),
        ("layercheck_dtype", dtype if isinstance(dtype, str) else "drawn per example"),
    ]


#: The report of a test's call phase (for fixtures that judge its examples at teardown).
_CALL_REPORT = pytest.StashKey()


def call_passed(item):
    """Whether ``item``'s call phase ran and passed: a teardown check over its examples says
    nothing new about a test that already failed, and would only mislead."""
    report = item.stash.get(_CALL_REPORT, None)
    return report is not None and report.passed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "call":
        item.stash[_CALL_REPORT] = report
    if _ACTIVE and call.when == "teardown" and dict(report.user_properties).get(_LAYERS_PROPERTY):
        count = _count_examples(getattr(item, "hypothesis_statistics", None))
        if count is not None:
            report.user_properties.append(("layercheck_examples", str(count)))


def pytest_runtest_logreport(report):
    if not _ACTIVE:
        return
    rows = _matrix_rows(report.nodeid, dict(report.user_properties).get(_LAYERS_PROPERTY, ""))
    for row in rows or ():
        _record(row, report)
    if report.when == "teardown":
        _record_regions(report)


def _record(row, report):
    cell = MATRIX.cell(*row)
    cell.tests.add(report.nodeid)
    if report.when == "call" or report.outcome == "failed" or (report.when == "setup" and report.outcome == "skipped"):
        cell.add_outcome(report.outcome)
    if report.when == "teardown":
        cell.examples += examples_run(report) or 0


def examples_run(report):
    """The Hypothesis examples a test ran, from its teardown report; None when Hypothesis left
    no statistics (not a Hypothesis test, or one that failed in an explicit ``@example``)."""
    stats = getattr(report, _HYPOTHESIS_STATS_KEY, None) or report.__dict__.get(_HYPOTHESIS_STATS_KEY)
    return _count_examples(stats)


def _count_examples(stats):
    if not stats:
        return None
    return sum(int(passing) + int(failing) for passing, failing in _EXAMPLES.findall(stats))


#: A Hypothesis event line of the statistics: ``* 40.00%, <layer> <argument>: <region>``.
_REGION_EVENT = re.compile(r"^\s*\* [\d.]+%, ([a-z][a-z0-9_]*) (.+?)\s*$", re.MULTILINE)
#: ``{layer: {region label: {test ids whose examples reached it}}}`` and ``{layer: {test ids
#: that drew its examples}}``, from the events of :meth:`~layercheck.spec.LayerSpec.note_regions`.
REGIONS_REACHED = collections.defaultdict(lambda: collections.defaultdict(set))
REGION_TESTS = collections.defaultdict(set)


def _record_regions(report):
    stats = getattr(report, _HYPOTHESIS_STATS_KEY, None) or report.__dict__.get(_HYPOTHESIS_STATS_KEY)
    if not stats:
        return
    known = set(registry.names())
    for layer, label in _REGION_EVENT.findall(stats):
        if layer in known:
            REGIONS_REACHED[layer][label].add(report.nodeid)
            REGION_TESTS[layer].add(report.nodeid)


def region_lines():
    """Per layer whose examples a test drew: every region of its spec and how many of those
    tests reached it, the never-reached ones flagged."""
    lines = []
    for layer in sorted(REGION_TESTS):
        tests = len(REGION_TESTS[layer])
        regions = registry.get(layer).regions
        missing = [region.label for region in regions if not REGIONS_REACHED[layer][region.label]]
        lines.append(f"{layer}: {len(regions) - len(missing)} of {len(regions)} regions reached, by {tests} property tests")
        for region in regions:
            reached = len(REGIONS_REACHED[layer][region.label])
            flag = "NEVER DRAWN " if not reached else ""
            lines.append(f"  {flag}{region.label}: {reached} of {tests} tests")
    return lines


def clear_matrix():
    """Forget the verification matrix (for several runs in one process: ``layercheck zoo``)."""
    MATRIX.clear()
    REGIONS_REACHED.clear()
    REGION_TESTS.clear()


def pytest_terminal_summary(terminalreporter, config):
    if not _ACTIVE or not MATRIX:
        return
    json_path = config.getoption("layercheck_matrix_json", None)
    markdown_path = config.getoption("layercheck_matrix_markdown", None)
    if json_path:
        matrix.write_json(MATRIX, json_path)
    if markdown_path:
        matrix.write_markdown(MATRIX, markdown_path)
    terminalreporter.section("layercheck verification matrix")
    for line in MATRIX.terminal_lines(width=terminalreporter._tw.fullwidth):  # noqa: SLF001 - pytest's own width
        terminalreporter.write_line(line)
    for what, path in (("JSON", json_path), ("Markdown", markdown_path)):
        if path:
            terminalreporter.write_line(f"matrix written as {what} to {path}")
    lines = region_lines()
    if lines:
        terminalreporter.section("layercheck regions of the documented domain reached (Hypothesis events)")
        for line in lines:
            terminalreporter.write_line(line)
