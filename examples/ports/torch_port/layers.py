"""The three layers in PyTorch, written from docs/ (the porting guide) and reference/.

Each module follows the Keras layer's contract (constructor arguments, weight names,
``coefficients`` and ``reset_state``) in PyTorch's idiom:

* weights are ``nn.Parameter`` (trainable) or buffers (the basis, the state);
* ``dtype`` is ``torch.float32`` or ``torch.float64`` (PyTorch has no dtype policies);
* like Keras's ``build``, weights whose shape depends on the inputs are created by
  :meth:`build` from an input shape, or at the first call (``built`` says whether);
* the temperature floor is kept by :meth:`TemperatureSoftmax.apply_constraints`, which a
  training loop calls after ``optimizer.step()`` (what a Keras optimizer does with the
  weight's constraint), and by a clamp in the forward pass.

Errors are the same types with the same content as the Keras layers': they name the argument
and the value.
"""

import math
import numbers

import numpy as np
import torch
from torch import nn

#: ``exp(-L)`` is zero in the dtype: twice ``-log`` of the smallest subnormal (docs/temperature_softmax.md).
UNDERFLOW_EXPONENT = {torch.float32: 2 * 149 * math.log(2.0), torch.float64: 2 * 1074 * math.log(2.0)}
DTYPES = (torch.float32, torch.float64)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _finite_real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _checked_dtype(owner, dtype):
    if dtype not in DTYPES:
        raise ValueError(f"{owner} needs dtype torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def _checked_shape(owner, shape, *, min_rank, max_rank=None):
    shape = tuple(shape)
    rank_text = f"rank {min_rank}" if max_rank == min_rank else f"rank >= {min_rank}"
    if len(shape) < min_rank or (max_rank is not None and len(shape) > max_rank):
        raise ValueError(f"{owner} expects inputs of {rank_text}, got input shape {shape}")
    if shape[-1] is None:
        raise ValueError(f"{owner} needs a known last dimension of its inputs, got input shape {shape}")
    return shape


def _glorot_uniform(shape, dtype):
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return torch.empty(shape, dtype=dtype).uniform_(-limit, limit)


class TemperatureSoftmax(nn.Module):
    """``softmax((x - max(x)) / max(T, min_temperature))`` over the last axis."""

    def __init__(self, num_classes, initial_temperature=1.0, min_temperature=1e-3, *, dtype=torch.float32):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        self.min_temperature = _finite_real("min_temperature", min_temperature)
        if self.min_temperature <= 0.0:
            raise ValueError(f"min_temperature must be > 0, got {min_temperature!r}")
        self.initial_temperature = _finite_real("initial_temperature", initial_temperature)
        if self.initial_temperature <= 0.0:
            raise ValueError(f"initial_temperature must be > 0, got {initial_temperature!r}")
        if self.initial_temperature < self.min_temperature:
            raise ValueError(
                f"initial_temperature must be >= min_temperature, got "
                f"initial_temperature={initial_temperature!r} < min_temperature={min_temperature!r}"
            )
        self.dtype = _checked_dtype("TemperatureSoftmax", dtype)
        info = torch.finfo(dtype)
        if self.min_temperature < info.tiny:
            raise ValueError(
                f"min_temperature={self.min_temperature!r} is below the smallest normal {dtype} number ({info.tiny!r})"
            )
        # The contract's smallest floor (decision 7): below sqrt(L / largest), dL/dT divides by an
        # underflowed T**2 in a compiled graph.
        clamp_depth = -2.0 * math.log(float(info.smallest_normal) * info.eps)
        smallest_floor = math.sqrt(clamp_depth / info.max)
        if self.min_temperature < smallest_floor:
            raise ValueError(
                f"min_temperature={self.min_temperature!r} is below {smallest_floor!r}, the smallest floor "
                f"whose temperature gradient stays finite in {dtype}"
            )
        if self.initial_temperature > info.max:
            raise ValueError(f"initial_temperature={self.initial_temperature!r} overflows {dtype}")
        self.temperature = nn.Parameter(torch.tensor(self.initial_temperature, dtype=dtype))
        self.built = False

    def build(self, input_shape):
        """Check the input shape (rank >= 2, last dimension num_classes), as Keras's build does."""
        shape = _checked_shape("TemperatureSoftmax", input_shape, min_rank=2)
        if shape[-1] != self.num_classes:
            raise ValueError(
                f"TemperatureSoftmax has num_classes={self.num_classes} but its inputs have last "
                f"dimension {shape[-1]} (input shape {shape})"
            )
        self.built = True

    def forward(self, inputs):
        self.build(tuple(inputs.shape))
        largest = torch.finfo(self.dtype).max
        x = torch.clamp(inputs.to(self.dtype), -largest, largest)
        # clamp(min=) passes the gradient at a tie: at T == floor the gradient reaches T.
        temperature = torch.clamp(self.temperature, min=self.min_temperature)
        z = x - x.max(dim=-1, keepdim=True).values.detach()
        z = torch.maximum(z, -UNDERFLOW_EXPONENT[self.dtype] * temperature)
        return torch.softmax(z / temperature, dim=-1)

    @torch.no_grad()
    def apply_constraints(self):
        """Lift the temperature to the floor; call after every optimizer step."""
        self.temperature.clamp_(min=self.min_temperature)


def _validated_basis(basis_vectors):
    if basis_vectors is None:
        raise TypeError("basis_vectors must be a 2-D array of real numbers, got None")
    try:
        array = np.array(basis_vectors)
    except (ValueError, TypeError) as error:
        raise ValueError(f"basis_vectors must be a rectangular 2-D array of real numbers: {error}") from error
    if array.dtype.kind not in "iuf":
        raise TypeError(f"basis_vectors must be a 2-D array of real numbers, got an array of dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"basis_vectors must have rank 2 (shape (k, d)), got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"basis_vectors must hold at least one basis vector of dimension >= 1, got shape {array.shape}")
    with np.errstate(over="ignore"):
        array = array.astype(np.float64)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(f"basis_vectors must be finite, got basis_vectors[{i}][{j}] = {float(array[i, j])!r}")
    return array


class NonNegativeProjection(nn.Module):
    """``relu(x @ W) @ B``: a non-negative combination of the rows of a fixed basis ``B`` (k, d)."""

    def __init__(self, basis_vectors, *, dtype=torch.float32):
        super().__init__()
        self.dtype = _checked_dtype("NonNegativeProjection", dtype)
        basis = _validated_basis(basis_vectors)
        largest = float(np.abs(basis).max())
        if largest > torch.finfo(dtype).max:
            raise ValueError(f"basis_vectors has an entry of magnitude {largest!r}, which overflows {dtype}")
        self.num_basis_vectors, self.basis_dim = basis.shape
        self.register_buffer("basis_vectors", torch.tensor(basis, dtype=dtype))
        self.projection_weights = None
        self.built = False

    def build(self, input_shape):
        shape = _checked_shape("NonNegativeProjection", input_shape, min_rank=2)
        self.projection_weights = nn.Parameter(_glorot_uniform((shape[-1], self.num_basis_vectors), self.dtype))
        self.built = True

    def forward(self, inputs):
        return self.coefficients(inputs) @ self.basis_vectors

    def coefficients(self, inputs):
        """``relu(inputs @ projection_weights)``, shape (..., k); builds the layer if needed."""
        shape = _checked_shape("NonNegativeProjection", inputs.shape, min_rank=2)
        if not self.built:
            self.build(shape)
        if shape[-1] != self.projection_weights.shape[0]:
            raise ValueError(
                f"NonNegativeProjection was built for inputs with last dimension "
                f"{self.projection_weights.shape[0]}, got input shape {shape}"
            )
        # torch.relu: value 0 and gradient 0 at exactly 0, as the specification says.
        return torch.relu(inputs.to(self.dtype) @ self.projection_weights)


class MemoryCellLayer(nn.Module):
    """``tanh(inputs @ kernel + state @ recurrent_kernel)``, with the state kept across calls."""

    def __init__(self, units, *, dtype=torch.float32):
        super().__init__()
        self.units = _positive_int("units", units)
        self.dtype = _checked_dtype("MemoryCellLayer", dtype)
        self.kernel = None
        self.recurrent_kernel = None
        self.register_buffer("state", None)
        self.built = False

    def build(self, input_shape):
        shape = _checked_shape("MemoryCellLayer", input_shape, min_rank=2, max_rank=2)
        self.kernel = nn.Parameter(_glorot_uniform((shape[-1], self.units), self.dtype))
        recurrent = torch.empty((self.units, self.units), dtype=self.dtype)
        self.recurrent_kernel = nn.Parameter(nn.init.orthogonal_(recurrent))
        # A state sized by reset_state(batch_size=...) before the build is kept.
        if shape[0] is not None and self.state is None:
            self.reset_state(shape[0])
        self.built = True

    def forward(self, inputs):
        shape = _checked_shape("MemoryCellLayer", inputs.shape, min_rank=2, max_rank=2)
        if not self.built:
            self.build(shape)
        if shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"MemoryCellLayer was built for inputs of shape (batch, {self.kernel.shape[0]}), got input shape {shape}"
            )
        if self.state is None:
            self.reset_state(shape[0])
        if shape[0] != self.state.shape[0]:
            raise ValueError(
                f"MemoryCellLayer holds a state for batch size {self.state.shape[0]}, got inputs with "
                f"batch size {shape[0]}. The state is per sequence: call reset_state(batch_size=...) "
                "before feeding a different batch size."
            )
        # The state is a constant for autograd: truncated backprop with a window of one call.
        new_state = torch.tanh(inputs.to(self.dtype) @ self.kernel + self.state @ self.recurrent_kernel)
        self.state = new_state.detach().clone()
        return new_state

    def reset_state(self, batch_size=None):
        """Zeros; ``batch_size=None`` keeps the current batch size (or waits for the next call)."""
        if batch_size is not None:
            batch_size = _positive_int("batch_size", batch_size)
        elif self.state is None:
            return
        else:
            batch_size = self.state.shape[0]
        self.state = torch.zeros((batch_size, self.units), dtype=self.dtype)
