"""Drawn examples of a layer, their reference outputs, and how to run them.

An :class:`Example` is everything one property example needs: the constructor arguments,
the trainable weights to assign after build (drawn, so the reference knows them), the inputs,
and a seed for Keras's RNG. Its layer's spec (:mod:`layercheck.registry`) draws them
(:func:`examples`), gives the float64 reference on the very values the layer saw
(:func:`reference_outputs`) and the scale of its rounding errors (:func:`error_scale`);
:func:`run` runs one through an adapter.

For a stateful layer, ``inputs`` is a sequence of shape (steps, batch, ...): one call per step.
"""

import dataclasses

import numpy as np

from layercheck import dtypes, registry
from layercheck.assertions import short_repr

#: ``as_seen(array, dtype)``: an array rounded as a layer of that policy sees it (float64).
as_seen = dtypes.as_seen


@dataclasses.dataclass
class Example:
    """One drawn instance of a layer and its inputs. ``layer`` is its spec's name."""

    layer: str
    args: tuple
    kwargs: dict
    inputs: np.ndarray
    weights: dict
    seed: int

    @property
    def spec(self):
        return registry.get(self.layer)

    def params(self):
        """The parameters a failure report prints."""
        described = {"constructor": _describe_call(self.args, self.kwargs), "inputs": self.inputs}
        described.update(self.weights)
        described["seed"] = self.seed
        return described

    @property
    def call_inputs(self):
        """The inputs of each call: one array, or one per step for a stateful layer."""
        return list(self.inputs) if self.spec.stateful else [self.inputs]

    def make(self, adapter, dtype="float32", input_shape=None):
        """:func:`make_layer` of this example."""
        return make_layer(adapter, self, dtype, input_shape)


def examples(layer, **options):
    """The strategy of :class:`Example` of the layer named ``layer`` (its spec's ``examples``).

    Each drawn example emits a Hypothesis event per region of the spec it lies in
    (:class:`~layercheck.spec.Region`), so ``--hypothesis-show-statistics`` and the plugin's
    summary show which parts of the documented domain a run reached.
    """
    spec = registry.get(layer)
    strategy = spec.examples(**options)
    return strategy.map(spec.note_regions) if spec.regions else strategy


def with_initializers(draw, example, names):
    """``example`` with each initializer argument in ``names`` drawn as a serialized Keras
    initializer, or left at the default (half the time): a config that drops one builds other
    initial weights."""
    from hypothesis import strategies as st

    from layercheck import strategies as lcst

    drawn = {}
    for name in names:
        if draw(st.booleans(), label=f"{name} given"):
            drawn[name] = draw(lcst.initializer_configs(), label=name)
    return dataclasses.replace(example, kwargs={**example.kwargs, **drawn})


def mode_for(adapter, drawn):
    """The drawn execution mode if the adapter runs it, else the adapter's first mode.

    Properties draw from all of :data:`layercheck.adapters.MODES` whatever the adapter, so a
    Keras run draws the same examples whichever ports exist; a port that runs eagerly only
    runs every example eagerly (and its failure reports say so).
    """
    return drawn if drawn in adapter.modes else adapter.modes[0]


def construct(adapter, example, dtype="float32"):
    """The example's layer, constructed (not built) after seeding the framework's RNGs from the
    example. Keras's initializer arguments are dropped for a port's adapter: they are not in
    the contract's constructor (a port need not take them), and the drawn weights replace the
    initial values anyway."""
    adapter.seed(example.seed)
    kwargs = example.kwargs
    if adapter.framework != "keras":
        kwargs = {key: value for key, value in kwargs.items() if key not in adapter.spec.keras_only_defaults}
    return adapter.make(*example.args, dtype=dtype, **kwargs)


def make_layer(adapter, example, dtype="float32", input_shape=None):
    """Construct (:func:`construct`), build and load the drawn weights.

    ``input_shape`` defaults to the first call's shape; pass ``(None, ...)`` to build with an
    unknown batch size (a stateful layer then sizes its state at the first call).
    """
    layer = construct(adapter, example, dtype)
    adapter.build(layer, input_shape if input_shape is not None else example.call_inputs[0].shape)
    for name, value in example.weights.items():
        adapter.assign(layer, name, value)
    return layer


def run(adapter, example, mode="eager", dtype="float32", layer=None):
    """Outputs of ``example`` in ``mode``: an array, or (steps, batch, ...) for a stateful layer.

    Returns ``(outputs, layer)``; ``layer`` is made with :func:`make_layer` unless given.
    """
    if layer is None:
        layer = make_layer(adapter, example, dtype)
    outputs = [adapter.call(layer, dtypes.as_input(x, dtype), mode) for x in example.call_inputs]
    if example.spec.stateful:
        return np.stack(outputs), layer
    return outputs[0], layer


def reference_outputs(example, dtype="float32"):
    """The float64 reference output of ``example`` for a layer of dtype policy ``dtype``."""
    return example.spec.reference(example, dtype)


def error_scale(example, dtype="float32"):
    """The magnitude of the terms each output is summed from (see :mod:`layercheck.tolerances`)."""
    return example.spec.scale(example, dtype)


def _describe_call(args, kwargs):
    parts = [short_repr(value) for value in args] + [f"{key}={short_repr(value)}" for key, value in kwargs.items()]
    return "(" + ", ".join(parts) + ")"
