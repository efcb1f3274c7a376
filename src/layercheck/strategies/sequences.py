"""Sequences of calls for layers that keep a state across calls: one input per step."""

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._numbers import bound_at_most, float_arrays
from ._validation import check_int
from .floats import compute_dtype


#: Bound on ``step_sequences`` entries.
SEQUENCE_MAX_MAGNITUDE = 3.0


def step_sequences(
    max_length: int = 8,
    batch_size: int | None = None,
    input_dim: int | None = None,
    max_batch: int = 8,
    max_input_dim: int = 64,
    *,
    dtype: Any = "float32",
) -> st.SearchStrategy[np.ndarray]:
    """Input sequences for a layer called once per step: arrays of shape
    ``(length, batch, input_dim)``, one ``(batch, input_dim)`` call per step.

    * ``length`` in ``[1, max_length]``;
    * ``batch`` is ``batch_size`` if given, else drawn from ``[1, max_batch]``,
      and is the same for every step;
    * ``input_dim`` is ``input_dim`` if given, else drawn from
      ``[1, max_input_dim]``;
    * entries are finite, non-subnormal, ``|x| <= 3``; float64 arrays for
      ``"float64"``, else float32 representable in ``compute_dtype(dtype)``.

    With the defaults, at most 8 x 8 x 64 = 4096 elements.  Shrinks towards
    one step of shape ``(1, 1)`` of zeros.
    """
    max_length = check_int("max_length", max_length, min_value=1)
    if batch_size is None:
        batch_strategy = st.integers(1, check_int("max_batch", max_batch, min_value=1))
    else:
        batch_strategy = st.just(check_int("batch_size", batch_size, min_value=1))
    if input_dim is None:
        dim_strategy = st.integers(1, check_int("max_input_dim", max_input_dim, min_value=1))
    else:
        dim_strategy = st.just(check_int("input_dim", input_dim, min_value=1))
    compute = compute_dtype(dtype)
    bound = bound_at_most(SEQUENCE_MAX_MAGNITUDE, compute)
    shapes = st.tuples(st.integers(1, max_length), batch_strategy, dim_strategy)
    return shapes.flatmap(lambda shape: float_arrays(compute, shape, -bound, bound))
