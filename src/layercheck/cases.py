"""Drawn examples of each layer, their reference outputs, and how to run them.

An :class:`Example` is everything one property example needs: the constructor arguments,
the trainable weights to assign after build (drawn, so the reference knows them), the inputs,
and a seed for Keras's RNG. :func:`examples` draws them; :func:`run` runs one through an
adapter; :func:`reference_outputs` gives the float64 reference on the very values the layer
saw (inputs and weights rounded to its variable and compute dtypes).

For the memory cell, ``inputs`` is a sequence of shape (T, batch, n): one call per step.
"""

import dataclasses

import numpy as np
from hypothesis import strategies as st

from layercheck import strategies as lcst
from layercheck import tolerances
from reference import memory_cell as memory_cell_reference
from reference import nonnegative_projection as projection_reference
from reference import temperature_softmax as softmax_reference


@dataclasses.dataclass
class Example:
    """One drawn instance of a layer and its inputs."""

    layer: str
    args: tuple
    kwargs: dict
    inputs: np.ndarray
    weights: dict
    seed: int

    def params(self):
        """The parameters a failure report prints."""
        described = {"constructor": _describe_call(self.args, self.kwargs), "inputs": self.inputs}
        described.update(self.weights)
        described["seed"] = self.seed
        return described

    @property
    def call_inputs(self):
        """The inputs of each call: one array, or one per step for the memory cell."""
        return list(self.inputs) if self.layer == "memory_cell" else [self.inputs]


# -- drawing ----------------------------------------------------------------------------------


@st.composite
def temperature_softmax_examples(draw, *, max_rank=3, logits=None):
    shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank))
    values = draw(logits(shape) if logits is not None else lcst.logits(shape))
    temperature = draw(lcst.temperatures())
    return Example(
        layer="temperature_softmax",
        args=(shape[-1],),
        kwargs={"initial_temperature": temperature},
        inputs=values,
        weights={},
        seed=draw(lcst.seeds()),
    )


@st.composite
def nonnegative_projection_examples(draw, *, max_rank=3, basis=None):
    basis_vectors = draw(basis if basis is not None else lcst.bases(max_k=64, max_d=64))
    shape = draw(lcst.input_shapes(min_rank=2, max_rank=max_rank, max_features=64))
    inputs = draw(lcst.logits(shape, max_magnitude=3.0))
    weights = draw(lcst.projection_weights(shape[-1], basis_vectors.shape[0]))
    return Example(
        layer="nonnegative_projection",
        args=(basis_vectors.tolist(),),
        kwargs={},
        inputs=inputs,
        weights={"projection_weights": weights},
        seed=draw(lcst.seeds()),
    )


@st.composite
def memory_cell_examples(draw, *, max_length=6, sequences=None):
    sequence = draw(sequences if sequences is not None else lcst.memory_cell_sequences(max_length=max_length))
    units = draw(lcst.units(max_units=32))
    kernel = draw(lcst.kernels((sequence.shape[-1], units)))
    recurrent_kernel = draw(lcst.kernels((units, units)))
    # A contractive recurrence (spectral norm <= 1; tanh' <= 1) keeps rounding errors from
    # growing along the sequence, so float32 can be compared with the float64 recurrence at a
    # fixed tolerance. Expansive kernels are covered step by step (teacher forcing).
    norm = np.linalg.norm(recurrent_kernel.astype(np.float64), 2)
    if norm > 1.0:
        recurrent_kernel = (recurrent_kernel / np.float32(norm * 1.0001)).astype(recurrent_kernel.dtype)
    return Example(
        layer="memory_cell",
        args=(units,),
        kwargs={},
        inputs=sequence,
        weights={"kernel": kernel, "recurrent_kernel": recurrent_kernel},
        seed=draw(lcst.seeds()),
    )


EXAMPLES = {
    "temperature_softmax": temperature_softmax_examples,
    "nonnegative_projection": nonnegative_projection_examples,
    "memory_cell": memory_cell_examples,
}


def examples(layer, **kwargs):
    """The strategy of :class:`Example` for ``layer`` (one of the adapter's layer names)."""
    return EXAMPLES[layer](**kwargs)


# -- running ----------------------------------------------------------------------------------


def mode_for(adapter, drawn):
    """The drawn execution mode if the adapter runs it, else the adapter's first mode.

    Properties draw from all of :data:`layercheck.adapters.MODES` whatever the adapter, so a
    Keras run draws the same examples whichever ports exist; a port that runs eagerly only
    runs every example eagerly (and its failure reports say so).
    """
    return drawn if drawn in adapter.modes else adapter.modes[0]


def make_layer(adapter, example, dtype="float32", input_shape=None):
    """Construct, build and load the drawn weights; seeds Keras's RNG from the example.

    ``input_shape`` defaults to the first call's shape; pass ``(None, ...)`` to build with an
    unknown batch size (the memory cell then sizes its state at the first call).
    """
    adapter.seed(example.seed)
    layer = adapter.make(*example.args, dtype=dtype, **example.kwargs)
    adapter.build(layer, input_shape if input_shape is not None else example.call_inputs[0].shape)
    for name, value in example.weights.items():
        adapter.assign(layer, name, value)
    return layer


def run(adapter, example, mode="eager", dtype="float32", layer=None):
    """Outputs of ``example`` in ``mode``: an array, or (T, batch, units) for the memory cell.

    Returns ``(outputs, layer)``; ``layer`` is made with :func:`make_layer` unless given.
    """
    if layer is None:
        layer = make_layer(adapter, example, dtype)
    input_dtype = np.float64 if dtype == "float64" else np.float32
    outputs = [adapter.call(layer, np.asarray(x, dtype=input_dtype), mode) for x in example.call_inputs]
    if example.layer == "memory_cell":
        return np.stack(outputs), layer
    return outputs[0], layer


# -- the reference on what the layer saw -------------------------------------------------------


def as_seen(array, dtype):
    """``array`` rounded as a layer of dtype policy ``dtype`` sees it, as float64.

    Weights are stored in the variable dtype (float32 for the mixed policies) and cast to the
    compute dtype inside the call; inputs are cast to the compute dtype.
    """
    array = np.asarray(array)
    if dtype == "float64":
        return array.astype(np.float64)
    rounded = array.astype(np.float32)
    compute = tolerances.COMPUTE_DTYPES[dtype]
    if compute != "float32":
        rounded = rounded.astype(_numpy_dtype(compute))
    return rounded.astype(np.float64)


def reference_outputs(example, dtype="float32"):
    """The float64 reference output of ``example`` for a layer of dtype policy ``dtype``."""
    inputs = as_seen(example.inputs, dtype)
    if example.layer == "temperature_softmax":
        # The temperature is not autocast: it is held and used in the variable dtype.
        temperature = as_seen(np.float64(example.kwargs["initial_temperature"]), "float64" if dtype == "float64" else "float32")
        return softmax_reference.temperature_softmax(inputs, temperature)
    if example.layer == "nonnegative_projection":
        basis = as_seen(np.asarray(example.args[0]), dtype)
        weights = as_seen(example.weights["projection_weights"], dtype)
        return projection_reference.nonnegative_projection(inputs, weights, basis)
    kernel = as_seen(example.weights["kernel"], dtype)
    recurrent_kernel = as_seen(example.weights["recurrent_kernel"], dtype)
    outputs, _ = memory_cell_reference.memory_cell_sequence(inputs, kernel, recurrent_kernel)
    return outputs


def error_scale(example, dtype="float32"):
    """The magnitude of the terms each output is summed from (see :mod:`layercheck.tolerances`)."""
    inputs = np.abs(as_seen(example.inputs, dtype))
    if example.layer == "temperature_softmax":
        return 1.0
    if example.layer == "nonnegative_projection":
        basis = np.abs(as_seen(np.asarray(example.args[0]), dtype))
        weights = np.abs(as_seen(example.weights["projection_weights"], dtype))
        return np.maximum((inputs @ weights) @ basis, 1.0)
    kernel = np.abs(as_seen(example.weights["kernel"], dtype))
    recurrent_kernel = np.abs(as_seen(example.weights["recurrent_kernel"], dtype))
    # |state| <= 1, so |x| @ |K| + 1 @ |R| bounds the pre-activation's terms at every step.
    return np.maximum(inputs @ kernel + recurrent_kernel.sum(axis=0), 1.0)


def _numpy_dtype(name):
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return np.dtype(name)


def _describe_call(args, kwargs):
    parts = [_short(value) for value in args] + [f"{key}={_short(value)}" for key, value in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _short(value):
    """A basis list as its shape (it can be 256 x 256), anything else as its repr."""
    if isinstance(value, list):
        return f"<{'x'.join(str(side) for side in np.shape(value))} list>"
    return repr(value)
