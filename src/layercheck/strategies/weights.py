"""Weights: dense kernels, weight matrices, and Keras initializers as serialized configs."""

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._numbers import bound_at_most, float_arrays
from ._validation import check_int, check_shape
from .floats import compute_dtype


#: Bound on ``kernels`` / ``projection_weights`` entries.
WEIGHT_MAX_MAGNITUDE = 2.0


def kernels(shape: Any, dtype: Any = "float32") -> st.SearchStrategy[np.ndarray]:
    """Weight arrays of ``shape`` (tuple or strategy) with finite,
    non-subnormal entries, ``|x| <= 2``.

    Arrays are float64 for ``"float64"``, else float32 (values representable
    in ``compute_dtype(dtype)``).  Large arrays use Hypothesis's sparse fill.
    Shrinks towards all zeros.
    """
    shape = check_shape("shape", shape)
    compute = compute_dtype(dtype)
    bound = bound_at_most(WEIGHT_MAX_MAGNITUDE, compute)
    return float_arrays(compute, shape, -bound, bound)


def projection_weights(n: int, k: int, dtype: Any = "float32") -> st.SearchStrategy[np.ndarray]:
    """An ``(n, k)`` weight matrix ``W`` (projecting ``n`` features onto ``k``):
    ``kernels((n, k), dtype)`` (finite, no subnormals, ``|x| <= 2``).
    Requires ``n, k >= 1``."""
    n = check_int("n", n, min_value=1)
    k = check_int("k", k, min_value=1)
    return kernels((n, k), dtype)


#: Keras initializers a round trip may be given, none of them a layer's default for every
#: weight: with a non-default initializer, a config that drops the argument shows as
#: different initial weights. "identity" is left out: it needs a square shape.
INITIALIZER_CLASSES = ("Zeros", "Ones", "GlorotNormal", "HeUniform", "LecunNormal", "Orthogonal")


def initializer_configs(min_rank=2) -> st.SearchStrategy[dict]:
    """Keras initializers as their serialized configs (plain JSON, the form ``get_config``
    stores them in): a parameter-free class, or ``RandomNormal`` / ``RandomUniform`` with
    drawn parameters; ``seed`` is always ``None`` (the layer's RNG is seeded per example).

    ``min_rank``: the smallest rank of the weights they initialize; below 2, ``Orthogonal``
    (which refuses vectors) is left out.

    ``keras.initializers.serialize(keras.initializers.get(config)) == config``.
    Shrinks towards ``Zeros``.
    """
    if isinstance(min_rank, bool) or not isinstance(min_rank, int) or min_rank < 1:
        raise ValueError(f"min_rank must be an integer >= 1, got {min_rank!r}")
    classes = INITIALIZER_CLASSES if min_rank >= 2 else tuple(name for name in INITIALIZER_CLASSES if name != "Orthogonal")

    def serialized(class_name, config):
        return {"module": "keras.initializers", "class_name": class_name, "config": config, "registered_name": None}

    def parameter_free(class_name):
        config = {}
        if class_name in ("GlorotNormal", "HeUniform", "LecunNormal"):
            config = {"seed": None, "input_axes": None, "output_axes": None}
        elif class_name == "Orthogonal":
            config = {"seed": None, "gain": 1.0}
        return serialized(class_name, config)

    scales = st.floats(1e-3, 10.0, allow_nan=False, allow_infinity=False)
    return st.one_of(
        st.sampled_from(classes).map(parameter_free),
        st.builds(lambda mean, stddev: serialized("RandomNormal", {"seed": None, "mean": mean, "stddev": stddev}),
                  st.floats(-1.0, 1.0, allow_nan=False), scales),
        scales.map(lambda bound: serialized("RandomUniform", {"seed": None, "minval": -bound, "maxval": bound})),
    )
