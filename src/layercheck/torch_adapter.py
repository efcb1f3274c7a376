"""The adapter of a PyTorch port: the same properties, run on ``torch.nn.Module`` layers.

``--layer-impl NAME=module:Class`` with ``Class`` a ``torch.nn.Module`` subclass gets a
:class:`TorchAdapter` instead of a Keras one (a factory function returning a module says so
with an attribute ``layercheck_framework = "torch"``). What a port
provides (docs/checking-a-port.md):

* the layer's constructor arguments (the contract's), plus ``dtype=torch.float32`` or
  ``torch.float64``;
* the contract's weights as attributes: trainable ones as ``nn.Parameter``, the others as
  tensors (buffers); weights whose shape depends on the inputs may be created by a
  ``build(input_shape)`` method, with a ``built`` attribute saying whether that happened;
* ``forward`` for the call and the contract's methods (``coefficients``, ``reset_state``).

What it runs: eager calls only (``modes == ("eager",)``), float32 and float64, on the CPU.
Properties marked ``keras_only`` (tf.function, XLA, dtype policies, Keras serialization,
tf.distribute, Keras optimizers and constraints) are skipped with their reason.

torch is imported on first use: layercheck does not depend on it.
"""

import numpy as np

from layercheck.adapters import Adapter, MissingAPI


def is_torch_module_factory(factory):
    """Whether ``factory`` is a ``torch.nn.Module`` subclass (without importing torch)."""
    if not isinstance(factory, type):
        return bool(getattr(factory, "layercheck_framework", None) == "torch")
    return any(cls.__module__.startswith("torch.nn") and cls.__name__ == "Module" for cls in factory.__mro__)


class TorchAdapter(Adapter):
    """Build, call, weights and gradients of one PyTorch implementation of a layer."""

    framework = "torch"
    modes = ("eager",)
    dtypes = ("float32", "float64")

    def __init__(self, name, factory, origin=None):
        super().__init__(name, origin or f"{factory.__module__}:{factory.__qualname__} (PyTorch)")
        self.factory = factory

    # -- construction -------------------------------------------------------------------

    def seed(self, seed):
        import torch

        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)

    def make(self, *args, dtype="float32", **kwargs):
        if dtype not in self.dtypes:
            raise MissingAPI(f"missing API: the torch adapter supports dtypes {self.dtypes}, not {dtype!r}")
        return self.factory(*args, dtype=_torch_dtype(dtype), **kwargs)

    def build(self, layer, input_shape):
        if not getattr(layer, "built", True):
            builder = getattr(layer, "build", None)
            if not callable(builder):
                raise MissingAPI(f"missing API: {type(layer).__name__} is not built and has no build(input_shape)")
            builder(tuple(input_shape))
        return layer

    # -- calls ----------------------------------------------------------------------------

    def call(self, layer, inputs, mode="eager"):
        return _numpy(self.call_tensor(layer, inputs, mode))

    def call_tensor(self, layer, inputs, mode="eager"):
        """``layer(inputs)`` as the torch tensor it returned (no autograd graph recorded)."""
        import torch

        self.check_mode(mode)
        inputs = _tensor(inputs)
        self.build(layer, inputs.shape)
        with torch.no_grad():
            return layer(inputs)

    def method(self, layer, method_name):
        """The contract's method, taking and returning NumPy arrays (tensors of any framework in)."""
        bound = super().method(layer, method_name)

        def converted(*args, **kwargs):
            import torch

            args = [_tensor(arg) if _is_array(arg) else arg for arg in args]
            with torch.no_grad():
                result = bound(*args, **kwargs)
            return None if result is None else _numpy(result)

        return converted

    # -- weights --------------------------------------------------------------------------

    def weight(self, layer, weight_name):
        return _numpy(self.variable(layer, weight_name))

    def assign(self, layer, weight_name, value):
        import torch

        tensor = self.variable(layer, weight_name)
        with torch.no_grad():
            tensor.copy_(torch.as_tensor(np.asarray(value)).to(tensor.dtype).reshape(tensor.shape))

    # -- gradients ------------------------------------------------------------------------

    def gradients(self, layer, inputs, cotangent, mode="eager"):
        """VJP of ``sum(layer(inputs) * cotangent)`` for the inputs and every trainable weight
        of the contract (``None`` where autograd gives none): one call of
        :meth:`several_calls_gradients`."""
        _, found, _ = self.several_calls_gradients(layer, _tensor(inputs)[None], _tensor(cotangent)[None], mode)
        found["inputs"] = found["inputs"][0]
        return found

    def several_calls_gradients(self, layer, calls, cotangents, mode="eager"):
        """Several calls in one autograd graph: ``L = sum_t sum(layer(calls[t]) * v[t])``.

        Returns ``(outputs (T, ...), {"inputs": (T, ...), <trainable weight>: ...}, watched)``
        like :func:`layercheck.gradients.several_calls_gradients`; ``watched`` is empty (autograd
        has no tape that watches variables on its own).
        """
        import torch

        self.check_mode(mode)
        calls = _tensor(calls).clone().requires_grad_(True)
        cotangents = _tensor(cotangents).to(torch.float64)
        self.build(layer, calls.shape[1:])
        variables = [self.variable(layer, name) for name in self.contract.trainable]
        outputs = [layer(calls[t]) for t in range(calls.shape[0])]
        loss = sum((y.to(torch.float64) * cotangents[t]).sum() for t, y in enumerate(outputs))
        wanted = [calls, *(v for v in variables if v.requires_grad)]
        found = iter(torch.autograd.grad(loss, wanted, allow_unused=True))
        results = [next(found)] + [next(found) if v.requires_grad else None for v in variables]
        names = ("inputs", *self.contract.trainable)
        gradients = {name: None if value is None else _numpy(value) for name, value in zip(names, results)}
        return _numpy(torch.stack(outputs)), gradients, []


def _torch_dtype(name):
    import torch

    return {"float32": torch.float32, "float64": torch.float64}[name]


def _is_array(value):
    return isinstance(value, np.ndarray) or hasattr(value, "numpy") or hasattr(value, "__array__")


def _tensor(value):
    """A torch tensor of ``value`` (a NumPy array, a torch tensor, or a TensorFlow tensor)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return torch.as_tensor(np.array(value))


def _numpy(value):
    return value.detach().cpu().numpy().copy()
