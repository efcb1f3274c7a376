"""Float helpers shared by the value strategies: the dtype grids, exact rounding onto them,
and dense arrays filled from Hypothesis draws or, beyond a budget, from a drawn seed."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import currently_in_test_context, event, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layercheck import dtypes

from ._validation import InvalidStrategyArgument, check_positive_float
from .sizes import seeds


#: Arrays with more elements than this are filled from a seeded NumPy generator
#: instead of one Hypothesis draw per element.
DENSE_DRAW_LIMIT = 256


#: Smallest positive normal and largest finite value of each compute dtype (the one table in
#: :mod:`layercheck.dtypes`; bfloat16 has float32's exponent range).
TINY = {name: tiny for name, (tiny, _) in dtypes.LIMITS.items()}
MAX = {name: largest for name, (_, largest) in dtypes.LIMITS.items()}

#: The NumPy type and the ``st.floats`` width each compute dtype is drawn with (bfloat16 is
#: drawn as float32 and truncated).
FLOAT_TOOLS = {
    "float16": (np.float16, 16),
    "float32": (np.float32, 32),
    "float64": (np.float64, 64),
}


def label(kind: str, name: str) -> None:
    """``hypothesis.event(f"{kind}: {name}")`` when inside a test."""
    if currently_in_test_context():
        event(f"{kind}: {name}")


def note_in_test(text: str) -> None:
    if currently_in_test_context():
        note(text)


def truncate_to_bfloat16(values: Any) -> Any:
    """Round float32 values towards zero to bfloat16-representable float32."""
    arr = np.array(values, dtype=np.float32, copy=True)
    bits = arr.view(np.uint32) & np.uint32(0xFFFF0000)
    out = bits.view(np.float32)
    return out if out.ndim else float(out)


def bound_at_most(value: float, compute: str) -> float:
    """The largest number representable in ``compute`` that is <= ``value``
    (for ``value`` >= 0).  bfloat16 uses the float32 grid (the caller truncates
    afterwards, which only shrinks magnitudes)."""
    value = min(value, MAX[compute])
    np_type = np.float64 if compute == "float64" else (
        np.float16 if compute == "float16" else np.float32
    )
    rounded = np_type(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, np_type(0))
    return float(rounded)


def magnitude_bound(name: str, max_magnitude: Any, compute: str) -> float:
    """Validate ``max_magnitude`` and clip it onto the dtype's grid."""
    value = check_positive_float(name, max_magnitude)
    if value < TINY[compute]:
        raise InvalidStrategyArgument(
            f"{name}={value!r} is below the smallest normal {compute} "
            f"({TINY[compute]!r}); only zero would remain"
        )
    return bound_at_most(value, compute)


def scalar_floats(compute: str, lo: float, hi: float) -> st.SearchStrategy[float]:
    width = 32 if compute == "bfloat16" else FLOAT_TOOLS[compute][1]
    base = st.floats(
        min_value=lo,
        max_value=hi,
        width=width,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    return base.map(truncate_to_bfloat16) if compute == "bfloat16" else base


def float_arrays(
    compute: str,
    shape: Any,
    lo: float,
    hi: float,
    *,
    fill: st.SearchStrategy[Any] | None = None,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of finite, non-subnormal values in ``[lo, hi]`` (on the
    ``compute`` grid; both bounds already representable), as float32 arrays
    unless ``compute == "float64"``."""
    if compute == "bfloat16":
        elements = scalar_floats("float32", lo, hi)
        return hnp.arrays(np.float32, shape, elements=elements, fill=fill).map(
            truncate_to_bfloat16
        )
    np_type, _ = FLOAT_TOOLS[compute]
    strategy = hnp.arrays(np_type, shape, elements=scalar_floats(compute, lo, hi), fill=fill)
    if compute == "float16":
        strategy = strategy.map(lambda a: a.astype(np.float32))
    return strategy


def flush_subnormals(arr: np.ndarray, compute: str) -> np.ndarray:
    arr = np.asarray(arr)
    arr[np.abs(arr) < TINY[compute]] = 0
    return arr


def seeded_rng(draw: Callable[..., Any]) -> np.random.Generator:
    return np.random.default_rng(draw(seeds()))


def dense_float32(
    draw: Callable[..., Any], shape: tuple[int, ...], bound: float, *, budget: int | None = None
) -> np.ndarray:
    """A float32 array in ``[-bound, bound]`` (no subnormals) where *every*
    entry is drawn (no background fill value, which would make matrices
    low-rank).  Up to ``DENSE_DRAW_LIMIT`` elements (or ``budget``, the
    elements the caller draws in all): one Hypothesis draw per entry (shrinks
    to zeros); beyond: a seeded NumPy generator."""
    bound = bound_at_most(bound, "float32")
    if (math.prod(shape) if budget is None else budget) <= DENSE_DRAW_LIMIT:
        return draw(float_arrays("float32", shape, -bound, bound, fill=st.nothing()))
    values = seeded_rng(draw).uniform(-bound, bound, size=shape).astype(np.float32)
    return flush_subnormals(np.clip(values, -bound, bound), "float32")


def dense_ints(
    draw: Callable[..., Any],
    shape: tuple[int, ...],
    lo: int,
    hi: int,
    *,
    budget: int | None = None,
) -> np.ndarray:
    """Like :func:`dense_float32` for integers in ``[lo, hi]`` (int64)."""
    if (math.prod(shape) if budget is None else budget) <= DENSE_DRAW_LIMIT:
        return draw(
            hnp.arrays(np.int64, shape, elements=st.integers(lo, hi), fill=st.nothing())
        )
    return seeded_rng(draw).integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
