"""A layer's spec: everything the harness knows about one layer, in one declarative entry.

The generic properties (``properties/test_execution_modes.py``, ``test_gradients.py``,
``test_round_trips.py``, ``test_distribution.py``, ``test_argument_checks.py``) expand over
the registered specs (:mod:`layercheck.registry`) and choose what to run from each spec's
capabilities; they never test a layer's name. A spec holds:

* the production factory and its **contract**: the constructor, the trainable and
  non-trainable weights, the optional methods some properties need;
* the **example strategy**: a Hypothesis strategy of :class:`~layercheck.cases.Example`
  (constructor arguments, weights to assign after build, inputs, a seed), and the one of the
  round trips, which draws every constructor argument;
* the NumPy **reference** forward, on the values the layer saw, and the **error scale** the
  tolerances use (the magnitude of the terms each output is summed from);
* a :class:`~layercheck.gradients.GradientModel`: the reference VJP, its error scales, the
  layer's kinks (None for a layer the gradient properties should leave alone);
* **edge samples**: fixed examples shared by the golden vectors, explicit examples and tests;
* **error inputs**: bad arguments and inputs, the exception they must raise and the name
  its message must contain;
* **capabilities** (:data:`CAPABILITIES`) that replace every name test;
* **regions**: the parts of each argument's documented domain the examples must reach;
* **tolerance overrides and skips**, each scoped to a property, a device and a dtype, each
  with its reason.

What only makes sense for one layer (the softmax's entropy in T, the projection's cone, the
memory cell's recurrence) stays in that layer's own property file,
``properties/test_<name>.py``.
"""

import dataclasses
import importlib
import re
from collections.abc import Callable

#: The layer keeps state across calls: its inputs are a sequence ``(steps, batch, ...)``,
#: one call per step; the state is the non-trainable weight :attr:`LayerSpec.state`, sized
#: by the batch (another batch size is an error, not a retrace).
STATEFUL = "stateful"
#: The layer has points where it is not differentiable (a ReLU, a clamp): its gradient model
#: moves finite-difference points off them and takes the layer's own side where rounding decides.
KINKS = "kinks"
#: The layer's examples accept ``features=<strategy of ints>`` for the width of the inputs'
#: last axis (the wide-rows property draws 257 to 1024).
WIDTH = "width"
#: The layer implements ``compute_output_shape`` (optional in Keras 3).
OUTPUT_SHAPE = "output_shape"
#: The layer takes integer inputs and casts them to its compute dtype (Keras casts only
#: floating inputs): an int32 input gives what the same values as floats give.
INTEGER_INPUTS = "integer_inputs"

CAPABILITIES = frozenset({STATEFUL, KINKS, WIDTH, OUTPUT_SHAPE, INTEGER_INPUTS})

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class ErrorInput:
    """A bad argument or input and the clear error it must raise.

    ``strategy`` draws a :class:`BadCall`: parameters to report and ``action(adapter)``, which
    constructs the layer through the adapter and builds or calls it. The error must be one of
    ``errors`` and its message must contain one of ``names``; ``keras_only`` (a reason) marks a
    call only a Keras implementation can make (a symbolic shape, a dtype policy).
    """

    id: str
    description: str
    strategy: Callable
    names: tuple
    errors: tuple = (ValueError, TypeError)
    keras_only: str = ""


@dataclasses.dataclass(frozen=True)
class EdgeSample:
    """A fixed example: the golden vectors export it, tests use it. ``dtype`` is the policy."""

    id: str
    example: object
    exercises: str
    dtype: str = "float32"


@dataclasses.dataclass(frozen=True)
class ToleranceOverride:
    """A tolerance for one property of this layer, scoped to a device type and a dtype.

    ``prop`` is the property's name as its comparison states it (``"devices agree"``, a
    :mod:`layercheck.gradients` ``PROP_*``); ``device`` is a device type or name (``"GPU"``,
    ``"CPU:1"``) or None for any; ``dtype`` a policy name or None for any.
    """

    prop: str
    tolerance: object
    reason: str
    device: str | None = None
    dtype: str | None = None

    def applies(self, prop, device=None, dtype=None):
        return self.prop == prop and _scope_matches(self.device, device) and self.dtype in (None, dtype)


@dataclasses.dataclass(frozen=True)
class Skip:
    """A property test this layer does not run, scoped to a device and a dtype, with the reason.

    ``test`` is the property's test function name (``"test_devices_agree"``).
    """

    test: str
    reason: str
    device: str | None = None
    dtype: str | None = None

    def applies(self, test, device=None, dtype=None):
        return self.test == test and _scope_matches(self.device, device) and self.dtype in (None, dtype)


def _scope_matches(scope, device):
    if scope is None:
        return True
    if device is None:
        return False
    name = str(getattr(device, "name", device))
    return name == scope or name.split(":")[0] == scope


@dataclasses.dataclass(frozen=True)
class Region:
    """A part of an argument's documented domain that the examples must reach.

    ``argument`` is the constructor argument, weight or input it belongs to; ``name`` says the
    region as the layer's page does; ``contains(example)`` tells whether a drawn example lies in
    it. Every example the properties draw emits a Hypothesis event per region it lies in
    (``"<layer> <argument>: <name>"``), the plugin counts them in its summary, and
    ``tests/test_strategies_reach_every_region.py`` checks that a property's examples in the
    ``ci`` profile reach each one.
    """

    argument: str
    name: str
    contains: Callable

    @property
    def label(self):
        return f"{self.argument}: {self.name}"


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """Everything the harness knows about one layer. See the module docstring."""

    #: The layer's name in options, test ids and the matrix: lowercase, underscores.
    name: str
    #: The production implementation: a class or factory, or ``"module:attr"`` (imported on use).
    factory: object
    #: The constructor as documented, for "missing API" messages.
    constructor: str
    #: ``examples(**options)``: a strategy of :class:`~layercheck.cases.Example`.
    examples: Callable
    #: ``reference(example, dtype)``: the float64 reference output on what a layer of dtype
    #: policy ``dtype`` saw; ``(steps, batch, ...)`` for a stateful layer.
    reference: Callable
    trainable: tuple = ()
    non_trainable: tuple = ()
    methods: tuple = ()
    #: ``round_trip_examples()``: the examples widened where a round trip can lose something
    #: (every constructor argument drawn, non-default initializers, trained weights); the
    #: plain examples when None.
    round_trip_examples: Callable | None = None
    #: ``error_scale(example, dtype)``: per output, the magnitude of the terms it is summed from.
    error_scale: Callable | None = None
    gradient: object = None
    capabilities: frozenset = frozenset()
    #: The state weight of a stateful layer (one of ``non_trainable``).
    state: str | None = None
    #: ``edge_samples()``: the fixed examples, :class:`EdgeSample` (a callable: built on use).
    edge_samples: Callable | None = None
    error_inputs: tuple = ()
    tolerance_overrides: tuple = ()
    skips: tuple = ()
    #: ``after_training(adapter, layer, example, case)``: invariants a training step keeps.
    after_training: Callable | None = None
    #: The documented defaults of the constructor's optional arguments, ``{argument: value}``
    #: (plain values, as a user would spell them): a layer made without them must be the layer
    #: made with them (``test_documented_defaults_are_the_defaults``).
    defaults: dict = dataclasses.field(default_factory=dict)
    #: The arguments of ``defaults`` that only a Keras implementation takes (initializers): the
    #: property is Keras-specific for them (a port may hard-code that default).
    keras_only_defaults: tuple = ()
    #: Where the spec's layer is documented (a page of ``docs/``), for reports.
    docs: str = ""
    #: The parts of each argument's documented domain the examples must reach
    #: (:class:`Region`): non-default values, ranks, widths, magnitudes.
    regions: tuple = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"LayerSpec name must be lowercase letters, digits and underscores, got {self.name!r}")
        unknown = set(self.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"LayerSpec {self.name!r}: unknown capabilities {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))
        object.__setattr__(self, "trainable", tuple(self.trainable))
        object.__setattr__(self, "non_trainable", tuple(self.non_trainable))
        object.__setattr__(self, "methods", tuple(self.methods))
        if STATEFUL in self.capabilities and self.state not in self.non_trainable:
            raise ValueError(
                f"LayerSpec {self.name!r} is stateful: state= must name one of its non-trainable weights "
                f"{self.non_trainable}, got {self.state!r}"
            )
        if self.gradient is not None:
            from layercheck.gradients import GradientModel

            # KINKS says what the gradient model does: finite differences step over the kinks
            # its near_kinks reports. Either without the other is a spec that contradicts itself.
            finds_kinks = type(self.gradient).near_kinks is not GradientModel.near_kinks
            if (KINKS in self.capabilities) != finds_kinks:
                raise ValueError(
                    f"LayerSpec {self.name!r}: "
                    + (
                        "declares KINKS but its gradient model does not override near_kinks (finite differences "
                        "would step across the kinks)"
                        if KINKS in self.capabilities
                        else "its gradient model reports kinks (near_kinks) but the spec does not declare KINKS"
                    )
                )
        for field in ("examples", "reference"):
            if not callable(getattr(self, field)):
                raise TypeError(f"LayerSpec {self.name!r}: {field} must be callable, got {getattr(self, field)!r}")
        if not isinstance(self.defaults, dict) or not all(isinstance(key, str) for key in self.defaults):
            raise TypeError(f"LayerSpec {self.name!r}: defaults must be a dict of argument name -> value, got {self.defaults!r}")
        if not set(self.keras_only_defaults) <= set(self.defaults):
            raise ValueError(f"LayerSpec {self.name!r}: keras_only_defaults {self.keras_only_defaults} must be keys of defaults")
        for entry in self.skips:
            if not isinstance(entry, Skip) or not entry.reason:
                raise ValueError(f"LayerSpec {self.name!r}: every skip is a Skip with a reason, got {entry!r}")
        labels = [entry.label for entry in self.regions if isinstance(entry, Region)]
        if len(labels) != len(self.regions) or len(set(labels)) != len(labels):
            raise ValueError(f"LayerSpec {self.name!r}: regions must be Regions with distinct argument and name, got {self.regions!r}")
        object.__setattr__(self, "regions", tuple(self.regions))
        for entry in self.tolerance_overrides:
            if not isinstance(entry, ToleranceOverride) or not entry.reason:
                raise ValueError(f"LayerSpec {self.name!r}: every override is a ToleranceOverride with a reason, got {entry!r}")

    # -- the contract ---------------------------------------------------------------------

    @property
    def weights(self):
        return self.trainable + self.non_trainable

    @property
    def stateful(self):
        return STATEFUL in self.capabilities

    def has(self, capability):
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; known: {sorted(CAPABILITIES)}")
        return capability in self.capabilities

    def load_factory(self):
        """The production class or factory (importing ``"module:attr"``)."""
        if isinstance(self.factory, str):
            module_name, _, attr = self.factory.partition(":")
            target = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
            return target
        return self.factory

    @property
    def class_name(self):
        """The production class's name, as failure reports print it."""
        if isinstance(self.factory, str):
            return self.factory.rpartition(":")[2].rpartition(".")[2]
        return getattr(self.factory, "__name__", self.name)

    # -- what the harness asks ------------------------------------------------------------

    def scale(self, example, dtype="float32"):
        """The error scale of ``example`` (1 for bounded outputs)."""
        return 1.0 if self.error_scale is None else self.error_scale(example, dtype)

    def tolerance_override(self, prop, device=None, dtype=None):
        """The first override that applies to ``prop`` on ``device`` in ``dtype``, or None."""
        for entry in self.tolerance_overrides:
            if entry.applies(prop, device, dtype):
                return entry
        return None

    def skip_for(self, test, device=None, dtype=None):
        """The first :class:`Skip` of test function ``test`` on ``device`` in ``dtype``, or None."""
        for entry in self.skips:
            if entry.applies(test, device, dtype):
                return entry
        return None

    def round_trips(self):
        """The strategy of the round-trip properties' examples."""
        strategy = self.round_trip_examples() if self.round_trip_examples is not None else self.examples()
        return strategy.map(self.note_regions) if self.regions else strategy

    def regions_of(self, example):
        """The :class:`Region` s ``example`` lies in."""
        return [region for region in self.regions if region.contains(example)]

    def region_event(self, region):
        """The Hypothesis event a drawn example in ``region`` emits."""
        return f"{self.name} {region.label}"

    def note_regions(self, example):
        """Emit the event of every region ``example`` lies in (inside a test); return it."""
        from hypothesis import event
        from hypothesis.control import currently_in_test_context

        if currently_in_test_context():
            for region in self.regions_of(example):
                event(self.region_event(region))
        return example

    def samples(self):
        return tuple(self.edge_samples()) if self.edge_samples is not None else ()


@dataclasses.dataclass(frozen=True)
class BadCall:
    """One drawn bad call: what a failure report prints, and the call itself, ``action(adapter)``,
    which constructs the layer through the adapter and builds or calls it."""

    params: dict
    action: Callable
