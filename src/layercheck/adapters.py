"""The one door through which properties reach an implementation.

Properties never touch a layer directly: they go through a :class:`KerasAdapter`, which
builds, calls (eagerly, in ``tf.function``, under XLA), reads and writes weights, takes
gradients and round-trips configs. Pointing the gate at another implementation means giving
the adapter another factory; a port to another framework provides its own adapter with the
same methods.

The layer's contract is its spec (:class:`~layercheck.spec.LayerSpec`): the constructor, the
weight attribute names, which of them are trainable, and the optional methods some properties
need. A property that needs a part of the contract the implementation lacks fails with a
"missing API" message, not an ``AttributeError`` from deep inside.
"""

import importlib
import os
import weakref

import numpy as np

from layercheck import dtypes, registry

#: The three execution modes every forward property is checked in.
MODES = ("eager", "function", "xla")


class MissingAPI(AssertionError):
    """The implementation under test lacks a part of the layer's contract."""


def production_factory(name):
    """The production layer class of the spec registered as ``name``."""
    return registry.get(name).load_factory()


def load_factory(spec):
    """Load ``module:attr`` (a Layer subclass or a factory taking the constructor arguments)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"an implementation is given as 'module:attr', got {spec!r}")
    registry.current_directory_first()
    module = importlib.import_module(module_name)
    try:
        factory = module
        for part in attr.split("."):
            factory = getattr(factory, part)
    except AttributeError:
        raise ValueError(f"{module_name!r} has no attribute {attr!r} (from {spec!r})") from None
    if not callable(factory) and not isinstance(factory, Adapter):
        raise ValueError(f"{spec!r} is not callable: give a Layer subclass or a factory")
    return factory


class Adapter:
    """What every adapter has: the layer's contract, where the implementation comes from, and
    what its framework can run.

    ``framework`` is ``"keras"`` for :class:`KerasAdapter`; properties marked
    ``@pytest.mark.keras_only(reason)`` (tf.function, XLA, dtype policies, Keras serialization,
    tf.distribute, Keras optimizers and constraints) are skipped, with their reason, for any
    other framework. ``modes`` are the execution modes properties draw from; ``dtypes`` the
    dtypes (policies) it supports: a property parametrized over another dtype is skipped.

    The methods every adapter provides (see :class:`KerasAdapter` for their contracts):
    ``seed``, ``make``, ``build``, ``call``, ``method``, ``weight``, ``assign``, ``gradients``;
    a Keras adapter adds ``call_tensor``, ``function``, ``output_shape``, ``tracing_count``,
    ``variable``, ``config``, ``from_config``.
    """

    framework = "keras"
    modes = MODES
    dtypes = ("float32", "float64", "mixed_float16", "mixed_bfloat16")

    def __init__(self, name, origin):
        self.spec = registry.get(name)
        self.origin = origin

    @property
    def contract(self):
        """The layer's spec: its constructor, weights and optional methods (the contract)."""
        return self.spec

    @property
    def name(self):
        return self.spec.name

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, {self.origin})"

    def method(self, layer, method_name):
        """A bound optional method of the contract, or a :class:`MissingAPI` failure."""
        bound = getattr(layer, method_name, None)
        if not callable(bound):
            raise MissingAPI(
                f"missing API: {type(layer).__name__} has no method {method_name!r}, which the "
                f"{self.name} contract lists ({', '.join(self.contract.methods)}) and this property needs"
            )
        return bound

    def variable(self, layer, weight_name):
        """The variable behind the contract's weight ``weight_name``."""
        if weight_name not in self.contract.weights:
            raise ValueError(f"{weight_name!r} is not a weight of {self.name}: {self.contract.weights}")
        variable = getattr(layer, weight_name, None)
        if variable is None:
            raise MissingAPI(
                f"missing API: {type(layer).__name__} has no weight attribute {weight_name!r} "
                f"(the {self.name} contract has {', '.join(self.contract.weights)}); build it first?"
            )
        return variable

    def check_mode(self, mode):
        if mode not in self.modes:
            raise MissingAPI(f"missing API: the {self.framework} adapter runs modes {self.modes}, not {mode!r}")


#: The environment variable that names implementations, as ``--layer-impl`` does.
LAYER_IMPL_ENV = "LAYERCHECK_LAYER_IMPL"


def impl_specs_from_environment():
    """The ``NAME=module:attr`` specs of :data:`LAYER_IMPL_ENV` (separated by spaces or commas)."""
    return os.environ.get(LAYER_IMPL_ENV, "").replace(",", " ").split()


def parse_impl_specs(specs):
    """``{layer name: "module:attr"}`` from ``NAME=module:attr`` strings (the later wins)."""
    chosen = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        known = registry.known()
        if not sep or name not in known:
            raise ValueError(f"expected NAME=module:attr with NAME one of {', '.join(known)}, got {spec!r}")
        chosen[name] = target
    return chosen


def adapter_for_implementation(name, factory, origin):
    """The adapter of ``factory`` for layer ``name``: ``factory`` itself if it is an
    :class:`Adapter`; a :class:`~layercheck.torch_adapter.TorchAdapter` for a
    ``torch.nn.Module`` subclass; else a :class:`KerasAdapter`."""
    if isinstance(factory, Adapter):
        if factory.name != name:
            raise ValueError(f"{origin} is an adapter for layer {factory.name!r}, not {name!r}")
        return factory
    from layercheck.torch_adapter import TorchAdapter, is_torch_module_factory

    if is_torch_module_factory(factory):
        return TorchAdapter(name, factory, origin=f"{origin} (PyTorch)")
    return KerasAdapter(name, factory, origin=origin)


def load_adapter(name, spec):
    """:func:`adapter_for_implementation` of ``module:attr``."""
    return adapter_for_implementation(name, load_factory(spec), spec)


class KerasAdapter(Adapter):
    """Build, call, weights, gradients and config of one Keras implementation of a layer."""

    def __init__(self, name, factory=None, origin=None):
        super().__init__(name, origin or f"{registry.get(name).class_name} (production)")
        self.factory = factory if factory is not None else production_factory(name)
        self._functions = weakref.WeakKeyDictionary()

    # -- construction -------------------------------------------------------------------

    def seed(self, seed):
        """Seed the framework's RNGs (Keras, TensorFlow, NumPy, Python) before making a layer."""
        import keras

        keras.utils.set_random_seed(seed)

    def make(self, *args, **kwargs):
        """A new, unbuilt instance: ``factory(*args, **kwargs)``."""
        return self.factory(*args, **kwargs)

    def build(self, layer, input_shape):
        """Build eagerly (XLA needs variables created before it compiles)."""
        if not layer.built:
            layer.build(tuple(input_shape))
        return layer

    # -- calls ----------------------------------------------------------------------------

    def call(self, layer, inputs, mode="eager"):
        """``layer(inputs)`` in ``mode`` ("eager", "function" or "xla"), as a NumPy array
        (float16 and bfloat16 widened to float32; :meth:`call_tensor` keeps the dtype)."""
        return _numpy(self.call_tensor(layer, inputs, mode))

    def call_tensor(self, layer, inputs, mode="eager"):
        """``layer(inputs)`` in ``mode``, as the tensor the implementation returned."""
        import tensorflow as tf

        inputs = tf.convert_to_tensor(inputs)
        self.build(layer, inputs.shape)
        if mode == "eager":
            return layer(inputs)
        return self.function(layer, mode)(inputs)

    def function(self, layer, mode):
        """The traced call of ``layer`` in ``mode``, made once per layer and mode.

        ``reduce_retracing`` lets a second input shape generalise the trace instead of adding
        one per shape.
        """
        import tensorflow as tf

        if mode not in ("function", "xla"):
            raise ValueError(f"mode must be 'function' or 'xla' here, got {mode!r}")
        per_layer = self._functions.setdefault(layer, {})
        if mode not in per_layer:
            per_layer[mode] = tf.function(
                lambda inputs: layer(inputs), reduce_retracing=True, jit_compile=(mode == "xla")
            )
        return per_layer[mode]

    def output_shape(self, layer, input_shape):
        """What the implementation says its output shape is for ``input_shape``: its
        ``compute_output_shape``, or, for an implementation that does not define one (it is
        optional in Keras 3), the shape of a symbolic call: what a functional model infers,
        after Keras's checks of the ``input_spec``."""
        import keras

        if type(layer).compute_output_shape is not keras.layers.Layer.compute_output_shape:
            return tuple(layer.compute_output_shape(tuple(input_shape)))
        return tuple(layer(keras.KerasTensor(tuple(input_shape), dtype=layer.compute_dtype)).shape)

    def tracing_count(self, layer, mode):
        """How often the traced call of ``layer`` in ``mode`` has been traced."""
        return self.function(layer, mode).experimental_get_tracing_count()

    # -- weights --------------------------------------------------------------------------

    def weight(self, layer, weight_name):
        """The value of a weight as a NumPy array."""
        return _numpy(self.variable(layer, weight_name))

    def assign(self, layer, weight_name, value):
        """Give the weight ``weight_name`` the value ``value`` (cast to the variable's dtype)."""
        variable = self.variable(layer, weight_name)
        # Keras variables give their dtype as a string, tf.Variables as a tf.DType.
        variable.assign(np.asarray(value).astype(getattr(variable.dtype, "name", variable.dtype)))

    # -- gradients ------------------------------------------------------------------------

    def gradients(self, layer, inputs, cotangent, mode="eager"):
        """VJP of ``sum(layer(inputs) * cotangent)`` for the inputs and every trainable weight.

        Returns ``{"inputs": ..., <trainable weight name>: ...}`` as NumPy arrays; a weight that
        gets no gradient (``None`` from the tape) maps to ``None``.
        """
        import tensorflow as tf

        inputs = tf.convert_to_tensor(inputs)
        self.build(layer, inputs.shape)
        variables = [self.variable(layer, name) for name in self.contract.trainable]

        def vjp(inputs, cotangent):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                outputs = layer(inputs)
                loss = tf.reduce_sum(tf.cast(outputs, cotangent.dtype) * cotangent)
            return tape.gradient(loss, [inputs, *variables])

        if mode != "eager":
            vjp = tf.function(vjp, jit_compile=(mode == "xla"))
        results = vjp(inputs, tf.convert_to_tensor(cotangent))
        names = ("inputs", *self.contract.trainable)
        return {name: None if value is None else _numpy(value) for name, value in zip(names, results)}

    # -- config ---------------------------------------------------------------------------

    def config(self, layer):
        return layer.get_config()

    def from_config(self, layer, config):
        return type(layer).from_config(config)


_numpy = dtypes.to_numpy
