"""Run the gate against a zoo of known-bad implementations: does it catch every one?

A zoo module declares ``ZOO = {entry_name: (layer NAME, implementation)}`` (see
``tests/zoo/howto.py``): NAME a registered layer (:func:`layercheck.registry.names`), the
implementation a class (or factory) importable as ``impl.__module__:impl.__qualname__``.
:func:`run` puts each entry through the gate as ``--layer-impl NAME=module:qualname``, with

* only the properties of the entry's layer (:func:`layercheck.selection.item_layers`), the entry's own layer file
  first and the slow multi-device files last (:func:`layercheck.selection.run_order`), so the typical defect is
  caught within seconds;
* ``-x``: the entry stops at its first failure (that it is caught is all that matters);
* the ``zoo`` Hypothesis profile: the ``ci`` examples (derandomized, so every run of the zoo
  is the same), without shrinking;
* one logical device (``CPU:0`` unless told otherwise): a defect that shows on one device
  only is a device bug, which a zoo of implementation defects does not model.

Every entry runs in this process (``pytest.main``), so TensorFlow is imported and the test
modules are collected from scratch only once. What could leak from one run to the next:

* the plugin's verification matrix (:func:`layercheck.pytest_plugin.clear_matrix`) is cleared before each run, so
  each run's summary (in its log) shows that run only;
* Keras's global state: the conftest clears the session after every test; :func:`run` clears
  it after every entry as well;
* the Hypothesis settings profile each run loads is restored at the end;
* ``LAYERCHECK_LAYER_IMPL`` is removed from the environment while the runs go (it would
  otherwise swap another implementation into the production pass) and put back after;
* test modules stay imported (``sys.modules``): their module-level settings
  (``profiles.scaled``) were computed under the first run's profile, the same for all runs.

Then the production layers go through the same selection (all three layers, no ``-x``): the
control, which shows that the properties that caught the entries hold for a correct layer.
"""

import contextlib
import dataclasses
import importlib
import io
import os
import re
import sys
import threading
import time

import pytest

from layercheck import adapters, devices, environment, registry
from layercheck.selection import item_layers, run_order

DEFAULT_PROFILE = "zoo"
DEFAULT_DEVICES = "CPU:0"

CAUGHT, SURVIVED, ERROR = "caught", "SURVIVED", "ERROR"


class ZooError(Exception):
    """A zoo module cannot be loaded or its ``ZOO`` is malformed."""


@dataclasses.dataclass
class Entry:
    name: str
    layer: str
    implementation: object
    module: str

    @property
    def spec(self):
        """``module:qualname`` for ``--layer-impl``."""
        return f"{self.implementation.__module__}:{self.implementation.__qualname__}"


@dataclasses.dataclass
class Outcome:
    """What one pytest run gave: the exit code, the first failure, the examples run."""

    name: str
    layer: str
    exit_code: int = 0
    first_failure: str = ""
    claim: str = ""
    examples: int = 0
    examples_lower_bound: bool = False
    seconds: float = 0.0
    counts: dict = dataclasses.field(default_factory=dict)
    failures: list = dataclasses.field(default_factory=list)
    output: str = ""

    @property
    def result(self):
        if self.exit_code == pytest.ExitCode.TESTS_FAILED and self.first_failure:
            return CAUGHT
        if self.exit_code == pytest.ExitCode.OK:
            return SURVIVED
        return ERROR


# -- loading the zoo ---------------------------------------------------------------------------


def load_entries(modules):
    """The entries of the zoo ``modules``, in order.

    Each is a dotted module name or a ``.py`` path, optionally followed by ``:NAME`` to read
    the dict ``NAME`` instead of ``ZOO`` (e.g. a module's ``AWAITING_PROPERTY`` mutants).
    """
    entries, seen = [], {}
    for spec in modules:
        module_spec, attribute = split_attribute(spec)
        module = import_zoo_module(module_spec)
        zoo = getattr(module, attribute, None)
        if not isinstance(zoo, dict) or not zoo:
            raise ZooError(f"{spec}: no {attribute} dict ({attribute} = {{entry_name: (layer NAME, implementation)}})")
        for name, value in zoo.items():
            where = f"{spec}: {attribute}[{name!r}]"
            if not (isinstance(value, tuple) and len(value) == 2):
                raise ZooError(f"{where} must be (layer NAME, implementation), got {value!r}")
            layer, implementation = value
            if layer not in registry.known():
                raise ZooError(
                    f"{where} names layer {layer!r}; known: {', '.join(registry.known())} (a project's own "
                    "layers come from its pyproject's layercheck_specs, LAYERCHECK_SPECS or --spec)"
                )
            if not callable(implementation) or not hasattr(implementation, "__qualname__"):
                raise ZooError(f"{where} is not a class or function: {implementation!r}")
            entry = Entry(name, layer, implementation, module.__name__)
            # --layer-impl names it module:qualname: a lambda or a class made inside a function
            # has no such name.
            try:
                found = adapters.load_factory(entry.spec)
            except (ImportError, ValueError) as error:
                raise ZooError(f"{where} cannot be imported by name as {entry.spec}: {error}") from error
            if found is not implementation:
                raise ZooError(f"{where}: {entry.spec} names another object than the entry's")
            if name in seen:
                raise ZooError(f"entry {name!r} is in both {seen[name]} and {spec}")
            seen[name] = spec
            entries.append(entry)
    return entries


def split_attribute(spec):
    """``"tests/zoo/x.py:SURVIVORS"`` -> ``("tests/zoo/x.py", "SURVIVORS")``; ``ZOO`` by default."""
    head, sep, tail = spec.rpartition(":")
    # (not a Windows drive: "C:" leaves a one-letter head)
    if sep and tail.isidentifier() and len(head) > 1:
        return head, tail
    return spec, "ZOO"


def import_zoo_module(spec):
    """Import a zoo module given as a dotted name or as a path to a ``.py`` file.

    A path under the working directory is imported by its dotted path from there
    (``tests/zoo/howto.py`` -> ``tests.zoo.howto``, as ``--layer-impl`` would name it);
    another path by its package (the directories with an ``__init__.py`` above it), with the
    directory above that package put on ``sys.path``.
    """
    if spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec):
        return _import_path(spec)
    _ensure_on_path(os.getcwd(), append=True)
    try:
        return importlib.import_module(spec)
    except ImportError as error:
        raise ZooError(f"cannot import zoo module {spec!r}: {error}") from error


def _import_path(spec):
    path = os.path.abspath(spec)
    if not (path.endswith(".py") and os.path.isfile(path)):
        raise ZooError(f"zoo module {spec!r}: no such .py file")
    root, name = _module_name_for(path)
    _ensure_on_path(root)
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        raise ZooError(f"cannot import zoo module {spec!r} as {name!r}: {error}") from error
    found = os.path.abspath(getattr(module, "__file__", "") or "")
    if os.path.realpath(found) != os.path.realpath(path):
        raise ZooError(f"zoo module {spec!r}: the name {name!r} imports {found or module!r} instead; rename the file")
    return module


def _module_name_for(path):
    """``(sys.path root, dotted module name)`` of a ``.py`` file."""
    directory, filename = os.path.split(path)
    stem = filename[: -len(".py")]
    cwd = os.path.realpath(os.getcwd())
    relative = os.path.relpath(os.path.realpath(directory), cwd)
    parts = [] if relative == os.curdir else relative.split(os.sep)
    if not relative.startswith(os.pardir) and all(part.isidentifier() for part in [*parts, stem]):
        return cwd, ".".join([*parts, stem])
    parts = [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    return directory, ".".join(parts)


def _ensure_on_path(directory, append=False):
    if any(os.path.realpath(entry or os.curdir) == os.path.realpath(directory) for entry in sys.path):
        return
    if append:
        sys.path.append(directory)
    else:
        sys.path.insert(0, directory)


class Selection:
    """The pytest plugin object of one run: keeps the layers' properties, in :func:`run_order`,
    and records the first failure, the claim it made, and the Hypothesis examples run."""

    def __init__(self, layers, reorder=True):
        self.layers = set(layers)
        self.reorder = reorder
        self.outcome = Outcome(name="", layer="")
        #: Tests selected and tests finished, for the progress lines.
        self.total = 0
        self.done = 0

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        keep, drop = [], []
        for item in items:
            (keep if item_layers(item) & self.layers else drop).append(item)
        if self.reorder:
            # sorted() is stable: within a file, the file's own order.
            keep = sorted(keep, key=lambda item: run_order(item, self.layers))
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
        self.total = len(keep)

    def pytest_runtest_logreport(self, report):
        from layercheck import pytest_plugin

        outcome = self.outcome
        if report.when == "teardown":
            self.done += 1
        kind = None
        if report.when == "call":
            kind = report.outcome
            if hasattr(report, "wasxfail"):
                kind = "xfailed" if report.skipped else "xpassed"
        elif report.outcome != "passed":
            kind = "skipped" if report.skipped else "error"
        if kind:
            outcome.counts[kind] = outcome.counts.get(kind, 0) + 1
        if report.failed:
            outcome.failures.append(report.nodeid)
            if not outcome.first_failure:
                outcome.first_failure = report.nodeid + ("" if report.when == "call" else f" ({report.when})")
                outcome.claim = _claim(report)
        examples = pytest_plugin.examples_run(report)
        if report.when == "teardown":
            if examples is not None:
                outcome.examples += examples
            elif outcome.first_failure.startswith(report.nodeid) and report.nodeid in outcome.failures:
                # Hypothesis reports no statistics for a test that failed in an explicit
                # @example (or is not a Hypothesis test): at least one more example ran.
                outcome.examples_lower_bound = True


def _claim(report):
    """One line saying why a test failed: the property's claim when it went through
    :mod:`layercheck.assertions`, else the exception's first line."""
    text = getattr(report, "longreprtext", "") or ""
    if text.startswith("[XPASS(strict)]"):
        # A strict xfail (a known production bug) passed: the implementation lacks the bug.
        return text.strip().splitlines()[0]
    # "E   claim: ...", or "|   claim: ..." inside an exception group (several explicit examples).
    match = re.search(r"^[\s|]*(?:E\s+)?claim: (.*)$", text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    message = getattr(crash, "message", "") or text.strip()
    return message.strip().splitlines()[0] if message.strip() else "(no message)"


# -- running --------------------------------------------------------------------------------------


def default_properties_dir():
    """``properties/`` in the working directory, else the installed property suite
    (``layercheck_properties``)."""
    here = os.path.join(os.getcwd(), "properties")
    if os.path.isdir(here):
        return here
    from layercheck.pytest_plugin import installed_properties

    installed = installed_properties()
    return str(installed) if installed is not None else here


def _collection_args(properties):
    """How pytest is told to collect ``properties``: its path, or for the installed suite outside
    the working directory its package (``--pyargs``), so that pytest still finds the project's
    configuration (its ``layercheck_specs``) from the working directory."""
    from layercheck.pytest_plugin import PROPERTIES_PACKAGE, installed_properties

    installed = installed_properties()
    here = os.path.realpath(os.getcwd())
    if installed is not None and os.path.realpath(properties) == str(installed):
        if os.path.commonpath([here, str(installed)]) != here:
            return ["--pyargs", PROPERTIES_PACKAGE]
    return [properties]


def register_project_specs(targets=()):
    """Register the specs a zoo's entries may name: the working directory's project's
    ``layercheck_specs`` (its ``pyproject.toml``), ``LAYERCHECK_SPECS`` and ``targets``."""
    project, root = registry.targets_from_pyproject()
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for target in [*project, *registry.targets_from_environment(), *targets]:
        try:
            registry.load(target)
        except (ImportError, ValueError, TypeError) as error:
            raise ZooError(f"cannot register the spec {target}: {error}") from error


def _pytest_args(properties, *, profile, device_selection, stop_at_first, implementation=None, extra=(), tests=()):
    args = [
        *_collection_args(properties),
        *tests,
        "-p", "no:xdist",
        "-p", "no:cacheprovider",
        "-q",
        "--tb=short",
        "--layercheck",
        f"--hypothesis-profile={profile}",
        f"--layercheck-devices={device_selection}",
        # Hypothesis is imported before the first run (to restore its profile afterwards), so
        # pytest cannot rewrite its asserts; nothing here relies on that.
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if stop_at_first:
        args.append("-x")
    if implementation is not None:
        args.append(f"--layer-impl={implementation}")
    return [*args, *extra]


#: Seconds between two progress lines of a run that is still going.
HEARTBEAT_SECONDS = 20


@contextlib.contextmanager
def _heartbeat(selection, describe, write, every=HEARTBEAT_SECONDS):
    """While the body runs, every ``every`` seconds: ``write`` a line saying what runs, how
    many of its tests are done and what is left (``describe()``)."""
    if write is None:
        yield
        return
    stop = threading.Event()
    start = time.perf_counter()

    def beat():
        while not stop.wait(every):
            write(
                f"  ... {describe()}: {selection.done} of {selection.total or '?'} tests done, "
                f"{time.perf_counter() - start:.0f} s"
            )

    thread = threading.Thread(target=beat, name="layercheck-zoo-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_once(args, selection, *, echo=False, progress=None, describe=lambda: "running"):
    """``pytest.main(args)`` in this process with ``selection``; fills and returns its outcome.
    ``progress``: a function that writes a line, called every :data:`HEARTBEAT_SECONDS`."""
    from layercheck import pytest_plugin

    pytest_plugin.clear_matrix()  # one run's matrix per run, not a growing one
    buffer = io.StringIO()
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if not echo:
            # pytest's report, and its usage errors (which go to sys.stderr); TensorFlow's
            # C++ log writes to file descriptor 2 and still shows.
            stack.enter_context(contextlib.redirect_stdout(buffer))
            stack.enter_context(contextlib.redirect_stderr(buffer))
        stack.enter_context(_heartbeat(selection, describe, progress))
        exit_code = pytest.main(args, plugins=[selection])
    outcome = selection.outcome
    outcome.seconds = time.perf_counter() - start
    outcome.exit_code = int(exit_code)
    outcome.output = buffer.getvalue()
    _clear_keras_session()
    return outcome


def _clear_keras_session():
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


@contextlib.contextmanager
def _isolated_runs():
    """Restore what the in-process runs change globally: the Hypothesis profile and the
    environment variable that would swap implementations."""
    from hypothesis import settings

    profile = settings._current_profile  # noqa: SLF001 - Hypothesis has no public getter
    saved_impl = os.environ.pop(adapters.LAYER_IMPL_ENV, None)
    try:
        yield
    finally:
        if saved_impl is not None:
            os.environ[adapters.LAYER_IMPL_ENV] = saved_impl
        if profile is not None:
            settings.load_profile(profile)


def run(
    modules,
    *,
    properties=None,
    profile=DEFAULT_PROFILE,
    device_selection=DEFAULT_DEVICES,
    production=True,
    keyword=None,
    log_dir=None,
    echo=False,
    out=None,
    specs=(),
    tests=(),
):
    """Run every entry of the zoo ``modules`` and (with ``production``) the production layers;
    print the table to ``out`` (stdout). Returns the exit code: 0 when every entry was caught
    and the production layers passed, 1 otherwise, 2 when the zoo could not be loaded."""
    out = out or sys.stdout

    def write(line=""):
        print(line, file=out, flush=True)

    environment.prepare()
    environment.start_tensorflow(show=echo)
    # The device split must happen before any zoo module could start TensorFlow's runtime.
    devices.configure()
    properties = os.path.abspath(properties or default_properties_dir())
    if not os.path.isdir(properties):
        write(f"layercheck zoo: no property directory {properties} (give --properties)")
        return 2
    # Absolute: with --pyargs (the installed suite), a bare "tests" could name an installed package.
    tests = [os.path.abspath(path) for path in tests]
    try:
        register_project_specs(specs)
        entries = load_entries(modules)
    except ZooError as error:
        write(f"layercheck zoo: {error}")
        return 2
    extra = ("-k", keyword) if keyword else ()
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)

    start = time.perf_counter()
    write(
        f"layercheck zoo: {len(entries)} entries from {len(modules)} module(s); properties {properties}"
        f"{''.join(' + ' + path for path in tests)}; "
        f"profile {profile}; devices {device_selection}; each entry stops at its first failure"
    )
    outcomes = []
    with _isolated_runs():
        widths = _widths(entries)
        write(_row(widths, "entry", "layer", "result", "examples", "seconds", "first failing property"))
        for index, entry in enumerate(entries):
            selection = Selection([entry.layer])
            selection.outcome = Outcome(name=entry.name, layer=entry.layer)
            args = _pytest_args(
                properties,
                profile=profile,
                device_selection=device_selection,
                stop_at_first=True,
                implementation=f"{entry.layer}={entry.spec}",
                extra=extra,
                tests=tests,
            )
            left = len(entries) - index - 1
            outcome = run_once(
                args,
                selection,
                echo=echo,
                progress=write,
                describe=lambda entry=entry, index=index, left=left: (
                    f"entry {entry.name} ({index + 1} of {len(entries)}; {left} entries"
                    f"{' and the production pass' if production else ''} left)"
                ),
            )
            outcomes.append(outcome)
            _save_log(log_dir, entry.name, args, outcome)
            shown = outcome.first_failure or ("-" if outcome.result == SURVIVED else f"pytest exit code {outcome.exit_code}")
            examples = f"{outcome.examples}{'+' if outcome.examples_lower_bound else ''}"
            write(_row(widths, entry.name, entry.layer, outcome.result, examples, f"{outcome.seconds:.1f}", shown))
            if outcome.result == CAUGHT:
                write(" " * widths[0] + f"  claim: {_short(outcome.claim, 150)}")
            elif outcome.result == ERROR:
                write(_indent(_tail(outcome.output, 25)))

        production_outcome = None
        if production:
            write()
            layers = list(registry.names())
            selection = Selection(layers, reorder=False)
            selection.outcome = Outcome(name="production", layer=",".join(layers))
            args = _pytest_args(
                properties, profile=profile, device_selection=device_selection, stop_at_first=False, extra=extra, tests=tests
            )
            write(f"production layers ({', '.join(layers)}): running the same selection unstopped")
            production_outcome = run_once(
                args, selection, echo=echo, progress=write, describe=lambda: "the production pass (the last run)"
            )
            _save_log(log_dir, "production", args, production_outcome)
            counts = ", ".join(f"{count} {kind}" for kind, count in sorted(production_outcome.counts.items()))
            passed = production_outcome.exit_code == pytest.ExitCode.OK
            write(
                f"production layers ({', '.join(layers)}), same selection: "
                f"{'pass' if passed else 'FAIL'} ({counts or 'nothing ran'}; {production_outcome.examples} examples) "
                f"in {production_outcome.seconds:.1f} s"
            )
            if not passed:
                for nodeid in production_outcome.failures:
                    write(f"  failed: {nodeid}")
                if not production_outcome.failures:
                    write(_indent(_tail(production_outcome.output, 25)))

    caught = sum(outcome.result == CAUGHT for outcome in outcomes)
    write()
    write(
        "(examples: Hypothesis examples run for the entry until its first failure; '+': the failing "
        "test ran more that it did not count, e.g. it failed in an explicit @example)"
    )
    write(f"kill rate: {caught}/{len(outcomes)} ({100.0 * caught / max(len(outcomes), 1):.0f}%)")
    survivors = [outcome.name for outcome in outcomes if outcome.result == SURVIVED]
    errors = [outcome.name for outcome in outcomes if outcome.result == ERROR]
    if survivors:
        write(f"survived: {', '.join(survivors)}")
    if errors:
        write(f"errors (not counted as caught): {', '.join(errors)}")
    write(f"total: {time.perf_counter() - start:.1f} s")
    production_ok = production_outcome is None or production_outcome.exit_code == pytest.ExitCode.OK
    return 0 if caught == len(outcomes) and production_ok else 1


def _widths(entries):
    return (
        max([len("entry"), *(len(entry.name) for entry in entries)]),
        max([len("layer"), *(len(entry.layer) for entry in entries)]),
        len(SURVIVED),
        len("examples"),
        len("seconds"),
    )


def _row(widths, name, layer, result, examples, seconds, failure):
    return (
        f"{name.ljust(widths[0])}  {layer.ljust(widths[1])}  {result.ljust(widths[2])}  "
        f"{examples.rjust(widths[3])}  {seconds.rjust(widths[4])}  {failure}"
    ).rstrip()


def _save_log(log_dir, name, args, outcome):
    if not log_dir:
        return
    with open(os.path.join(log_dir, f"{name}.log"), "w", encoding="utf-8") as handle:
        handle.write("pytest " + " ".join(args) + "\n\n" + outcome.output)


def _tail(text, lines):
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _indent(text, prefix="    | "):
    return "\n".join(prefix + line for line in text.splitlines())


def _short(text, limit):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
