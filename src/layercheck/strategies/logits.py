"""Logits (bounded, and the separate labelled family of extreme magnitudes) and temperatures."""

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._numbers import bound_at_most, float_arrays, label, magnitude_bound, truncate_to_bfloat16
from ._validation import check_order, check_positive_float, check_shape
from .floats import array_dtype, compute_dtype


#: Families of ``extreme_logits``.
EXTREME_LOGIT_FAMILIES = ("wide-range", "huge-and-small", "all-equal-huge")


def logits(
    shape: Any, dtype: Any = "float32", max_magnitude: float = 30.0
) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of ``shape`` (a tuple of ints, or a strategy of them) whose
    entries are :func:`finite_floats` with ``|x| <= max_magnitude`` (30 by
    default: ``exp(30) ~ 1e13``, so float32 softmax sums never overflow).

    dtype: ``numpy.float64`` for ``"float64"``, else ``numpy.float32`` holding
    values exactly representable in ``compute_dtype(dtype)``.  Large arrays
    use Hypothesis's sparse fill (a background value plus scattered draws).
    Shrinks towards all zeros.
    """
    shape = check_shape("shape", shape)
    compute = compute_dtype(dtype)
    bound = magnitude_bound("max_magnitude", max_magnitude, compute)
    return float_arrays(compute, shape, -bound, bound)


#: The "huge" magnitude H of ``extreme_logits``: the largest finite value of each compute
#: dtype, since the layers promise stability for *any* finite logits and only near the top of
#: the range does a naive ``x / T`` overflow at a valid temperature (3e38 / 1e-3 = inf in
#: float32, 1e30 / 1e-3 does not). float16 uses 6e4 (its max is 65504).
EXTREME_LOGIT_MAGNITUDE = {
    "float16": 6.0e4,
    "bfloat16": 3.3895313892515355e38,
    "float32": 3.4028234663852886e38,
    "float64": 1.7976931348623157e308,
}


def _extreme_magnitude(compute: str) -> float:
    """The "huge" logit magnitude of ``extreme_logits`` for each dtype."""
    bound = bound_at_most(EXTREME_LOGIT_MAGNITUDE[compute], compute)
    return truncate_to_bfloat16(bound) if compute == "bfloat16" else bound


def extreme_logits(shape: Any, dtype: Any = "float32") -> st.SearchStrategy[np.ndarray]:
    """Finite logits of extreme magnitude, from labelled families
    (``hypothesis.event("extreme logits family: <name>")``).

    With ``H`` the largest finite value of the compute dtype (float32's 3.4e38,
    bfloat16's 3.38e38, float64's 1.8e308; 6e4 for float16), every entry satisfies
    ``|x| <= H``, is finite and not subnormal.  "Rows" are the slices along the
    last axis (``shape`` must have rank >= 1).  Families:

    * ``"wide-range"``: entries drawn from ``[-H, H]`` (magnitudes spanning
      the whole exponent range).
    * ``"huge-and-small"``: every row holds at least one entry ``+H`` or
      ``-H``; other entries are ``+-H`` or small (``|x| <= 1``).
    * ``"all-equal-huge"``: every row is constant, with a value of magnitude in
      ``[H / 1024, H]``.

    Arrays are float64 for ``"float64"``, else float32 (values representable in
    ``compute_dtype(dtype)``).  Shrinks towards small magnitudes within
    whichever family yields the simplest example (typically ``"wide-range"``
    zeros).
    """
    shape = check_shape("shape", shape, min_rank=1)
    compute = compute_dtype(dtype)
    huge = _extreme_magnitude(compute)
    return st.one_of(
        _wide_range_logits(shape, compute, huge),
        _huge_and_small_logits(shape, compute, huge),
        _all_equal_huge_logits(shape, compute, huge),
    )


def _draw_shape(draw, shape, *, min_rank=0):
    if isinstance(shape, st.SearchStrategy):
        shape = check_shape("drawn shape", draw(shape), min_rank=min_rank)
    return shape


@st.composite
def _wide_range_logits(draw, shape, compute, huge):
    shape = _draw_shape(draw, shape, min_rank=1)
    label("extreme logits family", "wide-range")
    return draw(float_arrays(compute, shape, -huge, huge))


@st.composite
def _huge_and_small_logits(draw, shape, compute, huge):
    shape = _draw_shape(draw, shape, min_rank=1)
    label("extreme logits family", "huge-and-small")
    dtype = array_dtype(compute)
    small = draw(float_arrays(compute, shape, -1.0, 1.0))
    if small.size == 0:
        return small
    is_huge = draw(hnp.arrays(np.bool_, shape))
    positive = draw(hnp.arrays(np.bool_, shape))
    forced = draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    np.put_along_axis(is_huge, np.asarray(forced)[..., None], True, axis=-1)
    signed_huge = np.where(positive, huge, -huge).astype(dtype)
    return np.where(is_huge, signed_huge, small).astype(dtype)


@st.composite
def _all_equal_huge_logits(draw, shape, compute, huge):
    shape = _draw_shape(draw, shape, min_rank=1)
    label("extreme logits family", "all-equal-huge")
    dtype = array_dtype(compute)
    low = huge / 1024  # an exact power-of-two scaling: still on the grid
    magnitudes = draw(float_arrays(compute, shape[:-1], low, huge))
    positive = draw(hnp.arrays(np.bool_, shape[:-1]))
    row_values = np.where(positive, magnitudes, -magnitudes).astype(dtype)
    return np.broadcast_to(row_values[..., None], shape).astype(dtype)


def temperatures(
    min_temperature: float = 1e-3, max_temperature: float = 1e3
) -> st.SearchStrategy[float]:
    """Python floats ``t`` with ``min_temperature <= t <= max_temperature``,
    log-uniform: an exponent ``e`` is drawn from
    ``[log10(min_temperature), log10(max_temperature)]`` and ``t = 10**e``,
    clipped into the range (the endpoints of ``e`` map to the endpoints
    exactly).  About one example in ten is exactly ``min_temperature`` (the
    layer's floor).

    Shrinks towards 1.0 when ``min_temperature <= 1 <= max_temperature`` (the
    exponent shrinks to 0); otherwise towards ``10**e`` for the simplest
    exponent in range.  Requires ``0 < min_temperature <= max_temperature``,
    both finite.
    """
    lo = check_positive_float("min_temperature", min_temperature)
    hi = check_positive_float("max_temperature", max_temperature)
    check_order("min_temperature", lo, "max_temperature", hi)
    if lo == hi:
        return st.just(lo)
    return _temperatures(lo, hi)


@st.composite
def _temperatures(draw, lo, hi):
    # Branch 0..8 (shrinks to 0): log-uniform; branch 9: exactly the floor.
    # The exponent is drawn on both branches: Hypothesis prefers shorter choice
    # sequences, so a branch that skipped it would become the shrink target.
    at_floor = draw(st.integers(0, 9)) == 9
    lo_e, hi_e = math.log10(lo), math.log10(hi)
    e = draw(st.floats(lo_e, hi_e, allow_nan=False, allow_infinity=False))
    if at_floor or e <= lo_e:
        return lo
    if e >= hi_e:
        return hi
    return min(max(10.0**e, lo), hi)
