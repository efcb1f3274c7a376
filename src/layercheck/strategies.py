"""Hypothesis strategies for the layercheck properties.

Small, composable strategies built on :mod:`hypothesis.strategies` and
:mod:`hypothesis.extra.numpy`.  Every public function validates its arguments
*eagerly* (when the strategy is built, not when it is drawn from) and raises
:class:`InvalidStrategyArgument` (a :class:`ValueError`) whose message names the
offending argument.

This module does not import TensorFlow.  Dtypes are named by strings.

Dtypes
------
Value-generating strategies take ``dtype`` as one of ``"float16"``,
``"bfloat16"``, ``"float32"``, ``"float64"`` or one of the Keras dtype policy
names ``"mixed_float16"`` / ``"mixed_bfloat16"`` (which mean their *compute*
dtype, float16 / bfloat16, because that is what a layer's inputs are cast to).

* ``"float64"`` values are returned as ``numpy.float64`` arrays (Python floats
  for scalars).
* every other dtype is returned as ``numpy.float32`` arrays (Python floats for
  scalars) whose values are **exactly representable in the named dtype**, so
  the caller may cast them (``tf.cast``, ``ml_dtypes``) without rounding:
  float16 values are drawn as float16 and widened; bfloat16 values are drawn as
  float32 and truncated to their top 16 bits (rounding towards zero, so bounds
  are never exceeded).

Bounds and why
--------------
* **No NaN, no infinities, no subnormals** in any strategy.  TensorFlow runs
  its kernels with flush-to-zero / denormals-are-zero, so a subnormal float32
  input would make a NumPy reference and the layer disagree for reasons
  unrelated to the layer.  "Subnormal" is judged in the named dtype (float16 subnormals are
  below 6.1e-5).
* **Magnitudes are capped**: ``logits`` at 30 (``exp(30) ~ 1e13``, so float32
  softmax sums cannot overflow even without max-subtraction), ``kernels`` /
  ``projection_weights`` at 2, ``memory_cell_sequences`` at 3, basis entries at
  4 (small families; see each family for its exact bound).  ``extreme_logits``
  is the *separate, labelled* family that deliberately goes to the largest
  finite value of the dtype (6e4 for float16; ``EXTREME_LOGIT_MAGNITUDE``).
* **Sizes are capped** so one example is cheap: ``input_shapes`` has at most
  ``max_elements=4096`` elements, ``memory_cell_sequences`` at most
  8 x 8 x 64 = 4096, the small basis families at most 16 x 16, and
  ``large_bases`` (the only big family) at most ``max_k x max_d`` (256 x 256 by
  default) generated in one vectorised NumPy call.

Strategies
----------
Sizes and shapes:
    ``feature_sizes``, ``units``, ``batch_shapes``, ``input_shapes``, ``seeds``
Values:
    ``finite_floats``, ``logits``, ``extreme_logits``, ``temperatures``,
    ``kernels``, ``projection_weights``, ``memory_cell_sequences``
Bases of NonNegativeProjection (each family labelled with
``hypothesis.event("basis family: <name>")``):
    ``bases`` (all families), ``generic_bases``, ``square_bases``,
    ``rank_deficient_bases``, ``ill_conditioned_bases``,
    ``bases_with_duplicate_rows``, ``bases_with_zero_rows``, ``large_bases``
Dtypes:
    ``DTYPES_BY_DEVICE_TYPE``, ``dtypes``
Helpers:
    ``compute_dtype``, ``array_dtype``

Use ``feature_sizes`` for TemperatureSoftmax's ``num_classes`` and ``units`` for
MemoryCellLayer's ``units``.

Several strategies draw a seed from Hypothesis and fill an array with a seeded
NumPy generator (the ill-conditioned and large bases, and any basis whose
dense entries would take more than 256 Hypothesis draws).  Such examples replay exactly, but shrink only as far as the
seed and the sizes do; this is the price of keeping large examples cheap.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import currently_in_test_context, event, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "BASIS_FAMILIES",
    "DTYPES_BY_DEVICE_TYPE",
    "EXTREME_LOGIT_FAMILIES",
    "EXTREME_LOGIT_MAGNITUDE",
    "INITIALIZER_CLASSES",
    "InvalidStrategyArgument",
    "MAX_INPUT_ELEMENTS",
    "array_dtype",
    "bases",
    "bases_with_duplicate_rows",
    "bases_with_zero_rows",
    "batch_shapes",
    "compute_dtype",
    "dtypes",
    "extreme_logits",
    "feature_sizes",
    "finite_floats",
    "generic_bases",
    "initializer_configs",
    "ill_conditioned_bases",
    "input_shapes",
    "kernels",
    "large_bases",
    "logits",
    "memory_cell_sequences",
    "projection_weights",
    "rank_deficient_bases",
    "seeds",
    "square_bases",
    "temperatures",
    "units",
]


class InvalidStrategyArgument(ValueError):
    """A strategy was built with an invalid argument; the message names it."""


# --------------------------------------------------------------------------- #
# Constants
# --------------------------------------------------------------------------- #

#: Default bound on the number of elements of an ``input_shapes`` shape.
MAX_INPUT_ELEMENTS = 4096

#: Largest side of the small basis families when drawn through ``bases()``.
SMALL_BASIS_SIDE = 16

#: ``large_bases`` has at least one side of at least this length.
LARGE_BASIS_MIN_SIDE = 64

#: Bound on the entries of the generic / square / duplicate / zero-row / large
#: basis families.
BASIS_MAX_MAGNITUDE = 4.0

#: Bound on ``kernels`` / ``projection_weights`` entries.
WEIGHT_MAX_MAGNITUDE = 2.0

#: Bound on ``memory_cell_sequences`` entries.
SEQUENCE_MAX_MAGNITUDE = 3.0

#: Arrays with more elements than this are filled from a seeded NumPy generator
#: instead of one Hypothesis draw per element.
_DENSE_DRAW_LIMIT = 256

#: Basis families, in the order ``bases()`` lists them.
BASIS_FAMILIES = (
    "generic",
    "square",
    "rank-deficient",
    "ill-conditioned",
    "duplicate-rows",
    "zero-rows",
    "large",
)

#: Families of ``extreme_logits``.
EXTREME_LOGIT_FAMILIES = ("wide-range", "huge-and-small", "all-equal-huge")

_POLICY_COMPUTE = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_COMPUTE_DTYPES = ("float16", "bfloat16", "float32", "float64")

#: Smallest positive normal and largest finite value of each compute dtype.
_TINY = {
    "float16": float(np.finfo(np.float16).tiny),
    "bfloat16": float(np.finfo(np.float32).tiny),  # same exponent range as float32
    "float32": float(np.finfo(np.float32).tiny),
    "float64": float(np.finfo(np.float64).tiny),
}
_MAX = {
    "float16": float(np.finfo(np.float16).max),
    "bfloat16": float(np.array([0x7F7F0000], dtype=np.uint32).view(np.float32)[0]),
    "float32": float(np.finfo(np.float32).max),
    "float64": float(np.finfo(np.float64).max),
}

_FLOAT_TOOLS = {
    "float16": (np.float16, 16),
    "float32": (np.float32, 32),
    "float64": (np.float64, 64),
}

DTYPES_BY_DEVICE_TYPE: dict[str, tuple[str, ...]] = {
    "CPU": ("float32", "float64", "mixed_float16", "mixed_bfloat16"),
    "GPU": ("float32", "float64", "mixed_float16", "mixed_bfloat16"),
}


# --------------------------------------------------------------------------- #
# Argument validation
# --------------------------------------------------------------------------- #


def _check_int(name: str, value: Any, *, min_value: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidStrategyArgument(f"{name}={value!r} must be an integer")
    value = operator.index(value)
    if min_value is not None and value < min_value:
        raise InvalidStrategyArgument(f"{name}={value!r} must be at least {min_value}")
    return value


def _check_order(lo_name: str, lo: Any, hi_name: str, hi: Any) -> None:
    if lo > hi:
        raise InvalidStrategyArgument(
            f"{lo_name}={lo!r} must not exceed {hi_name}={hi!r}"
        )


def _check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidStrategyArgument(f"{name}={value!r} must be a real number")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidStrategyArgument(f"{name}={value!r} must be finite and positive")
    return value


def _check_shape(name: str, shape: Any, *, min_rank: int = 0) -> Any:
    """Validate a concrete shape (int or sequence of ints) or pass a strategy."""
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise InvalidStrategyArgument(
            f"{name}={shape!r} must be a tuple of ints or a strategy of them"
        )
    shape = tuple(_check_int(f"{name}[{i}]", side, min_value=0) for i, side in enumerate(shape))
    if len(shape) < min_rank:
        raise InvalidStrategyArgument(f"{name}={shape!r} must have rank at least {min_rank}")
    return shape


def compute_dtype(dtype: Any) -> str:
    """The dtype in which values for ``dtype`` must be representable.

    ``"mixed_float16"`` -> ``"float16"``, ``"mixed_bfloat16"`` -> ``"bfloat16"``;
    ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"`` map to
    themselves.  NumPy dtypes are accepted by name.  Anything else raises
    :class:`InvalidStrategyArgument`.
    """
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    if name is None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    name = _POLICY_COMPUTE.get(name, name)
    if name not in _COMPUTE_DTYPES:
        raise InvalidStrategyArgument(
            f"dtype={dtype!r} must be one of {_COMPUTE_DTYPES + tuple(_POLICY_COMPUTE)}"
        )
    return name


def array_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of arrays generated for ``dtype``: float64 for
    ``"float64"``, float32 for everything else."""
    return np.dtype(np.float64 if compute_dtype(dtype) == "float64" else np.float32)


# --------------------------------------------------------------------------- #
# Internal float helpers
# --------------------------------------------------------------------------- #


def _label(kind: str, name: str) -> None:
    """``hypothesis.event(f"{kind}: {name}")`` when inside a test."""
    if currently_in_test_context():
        event(f"{kind}: {name}")


def _note(text: str) -> None:
    if currently_in_test_context():
        note(text)


def _truncate_to_bfloat16(values: Any) -> Any:
    """Round float32 values towards zero to bfloat16-representable float32."""
    arr = np.array(values, dtype=np.float32, copy=True)
    bits = arr.view(np.uint32) & np.uint32(0xFFFF0000)
    out = bits.view(np.float32)
    return out if out.ndim else float(out)


def _bound_at_most(value: float, compute: str) -> float:
    """The largest number representable in ``compute`` that is <= ``value``
    (for ``value`` >= 0).  bfloat16 uses the float32 grid (the caller truncates
    afterwards, which only shrinks magnitudes)."""
    value = min(value, _MAX[compute])
    np_type = np.float64 if compute == "float64" else (
        np.float16 if compute == "float16" else np.float32
    )
    rounded = np_type(value)
    if float(rounded) > value:
        rounded = np.nextafter(rounded, np_type(0))
    return float(rounded)


def _magnitude_bound(name: str, max_magnitude: Any, compute: str) -> float:
    """Validate ``max_magnitude`` and clip it onto the dtype's grid."""
    value = _check_positive_float(name, max_magnitude)
    if value < _TINY[compute]:
        raise InvalidStrategyArgument(
            f"{name}={value!r} is below the smallest normal {compute} "
            f"({_TINY[compute]!r}); only zero would remain"
        )
    return _bound_at_most(value, compute)


def _scalar_floats(compute: str, lo: float, hi: float) -> st.SearchStrategy[float]:
    width = 32 if compute == "bfloat16" else _FLOAT_TOOLS[compute][1]
    base = st.floats(
        min_value=lo,
        max_value=hi,
        width=width,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    return base.map(_truncate_to_bfloat16) if compute == "bfloat16" else base


def _float_arrays(
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
        elements = _scalar_floats("float32", lo, hi)
        return hnp.arrays(np.float32, shape, elements=elements, fill=fill).map(
            _truncate_to_bfloat16
        )
    np_type, _ = _FLOAT_TOOLS[compute]
    strategy = hnp.arrays(np_type, shape, elements=_scalar_floats(compute, lo, hi), fill=fill)
    if compute == "float16":
        strategy = strategy.map(lambda a: a.astype(np.float32))
    return strategy


def _flush_subnormals(arr: np.ndarray, compute: str) -> np.ndarray:
    arr = np.asarray(arr)
    arr[np.abs(arr) < _TINY[compute]] = 0
    return arr


def _rng(draw: Callable[..., Any]) -> np.random.Generator:
    return np.random.default_rng(draw(seeds()))


def _dense_float32(
    draw: Callable[..., Any], shape: tuple[int, ...], bound: float, *, budget: int | None = None
) -> np.ndarray:
    """A float32 array in ``[-bound, bound]`` (no subnormals) where *every*
    entry is drawn (no background fill value, which would make matrices
    low-rank).  Up to ``_DENSE_DRAW_LIMIT`` elements (or ``budget``, the
    elements the caller draws in all): one Hypothesis draw per entry (shrinks
    to zeros); beyond: a seeded NumPy generator."""
    bound = _bound_at_most(bound, "float32")
    if (math.prod(shape) if budget is None else budget) <= _DENSE_DRAW_LIMIT:
        return draw(_float_arrays("float32", shape, -bound, bound, fill=st.nothing()))
    values = _rng(draw).uniform(-bound, bound, size=shape).astype(np.float32)
    return _flush_subnormals(np.clip(values, -bound, bound), "float32")


def _dense_ints(
    draw: Callable[..., Any],
    shape: tuple[int, ...],
    lo: int,
    hi: int,
    *,
    budget: int | None = None,
) -> np.ndarray:
    """Like :func:`_dense_float32` for integers in ``[lo, hi]`` (int64)."""
    if (math.prod(shape) if budget is None else budget) <= _DENSE_DRAW_LIMIT:
        return draw(
            hnp.arrays(np.int64, shape, elements=st.integers(lo, hi), fill=st.nothing())
        )
    return _rng(draw).integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)


# --------------------------------------------------------------------------- #
# Sizes and shapes
# --------------------------------------------------------------------------- #


def feature_sizes(min_size: int = 1, max_size: int = 256) -> st.SearchStrategy[int]:
    """Python ints in ``[min_size, max_size]`` (feature counts, ``num_classes``).

    Shrinks towards ``min_size``.  Requires ``1 <= min_size <= max_size``.
    """
    min_size = _check_int("min_size", min_size, min_value=1)
    max_size = _check_int("max_size", max_size, min_value=1)
    _check_order("min_size", min_size, "max_size", max_size)
    return st.integers(min_size, max_size)


def units(max_units: int = 64, *, min_units: int = 1) -> st.SearchStrategy[int]:
    """Python ints in ``[min_units, max_units]`` (MemoryCellLayer ``units``).

    Shrinks towards ``min_units``.  Requires ``1 <= min_units <= max_units``.
    """
    max_units = _check_int("max_units", max_units, min_value=1)
    min_units = _check_int("min_units", min_units, min_value=1)
    _check_order("min_units", min_units, "max_units", max_units)
    return st.integers(min_units, max_units)


def seeds() -> st.SearchStrategy[int]:
    """Python ints in ``[0, 2**31 - 1]`` for seeding Keras / TF / NumPy RNGs.

    Shrinks towards 0.
    """
    return st.integers(0, 2**31 - 1)


#: Keras initializers a round trip may be given, none of them a layer's default for every
#: weight: with a non-default initializer, a config that drops the argument shows as
#: different initial weights. "identity" is left out: it needs a square shape.
INITIALIZER_CLASSES = ("Zeros", "Ones", "GlorotNormal", "HeUniform", "LecunNormal", "Orthogonal")


def initializer_configs() -> st.SearchStrategy[dict]:
    """Keras initializers as their serialized configs (plain JSON, the form ``get_config``
    stores them in): a parameter-free class, or ``RandomNormal`` / ``RandomUniform`` with
    drawn parameters; ``seed`` is always ``None`` (the layer's RNG is seeded per example).

    ``keras.initializers.serialize(keras.initializers.get(config)) == config``.
    Shrinks towards ``Zeros``.
    """

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
        st.sampled_from(INITIALIZER_CLASSES).map(parameter_free),
        st.builds(lambda mean, stddev: serialized("RandomNormal", {"seed": None, "mean": mean, "stddev": stddev}),
                  st.floats(-1.0, 1.0, allow_nan=False), scales),
        scales.map(lambda bound: serialized("RandomUniform", {"seed": None, "minval": -bound, "maxval": bound})),
    )


def batch_shapes(
    min_rank: int = 1, max_rank: int = 1, min_side: int = 1, max_side: int = 8
) -> st.SearchStrategy[tuple[int, ...]]:
    """Tuples of leading (batch) dimensions: rank in ``[min_rank, max_rank]``,
    every side in ``[min_side, max_side]``.

    E.g. ``(4,)``, or ``(2, 3)`` when ``max_rank=2``; ``()`` when ``min_rank=0``.
    Batch size 1 is included whenever ``min_side == 1``.  Shrinks towards
    ``(min_side,) * min_rank``.  Requires ``0 <= min_rank <= max_rank`` and
    ``1 <= min_side <= max_side``.
    """
    min_rank = _check_int("min_rank", min_rank, min_value=0)
    max_rank = _check_int("max_rank", max_rank, min_value=0)
    _check_order("min_rank", min_rank, "max_rank", max_rank)
    min_side = _check_int("min_side", min_side, min_value=1)
    max_side = _check_int("max_side", max_side, min_value=1)
    _check_order("min_side", min_side, "max_side", max_side)
    return hnp.array_shapes(
        min_dims=min_rank, max_dims=max_rank, min_side=min_side, max_side=max_side
    )


def input_shapes(
    min_rank: int = 2,
    max_rank: int = 3,
    feature_size: int | None = None,
    max_batch_side: int = 8,
    max_features: int = 256,
    *,
    max_elements: int = MAX_INPUT_ELEMENTS,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Full input shapes ``(*batch, features)`` with rank in ``[min_rank, max_rank]``.

    * ``features`` is ``feature_size`` if given, else drawn from
      ``[1, min(max_features, max_elements)]``;
    * every batch side is in ``[1, max_batch_side]`` (so batch 1 is included);
    * the element count ``prod(shape)`` is at most ``max_elements`` (default
      4096) so one TensorFlow call stays cheap: batch sides are drawn left to
      right, each capped by the budget the earlier ones left.

    Shrinks towards ``(1,) * (min_rank - 1) + (features,)`` with ``features``
    shrinking towards 1 (when drawn).  Requires ``1 <= min_rank <= max_rank``,
    ``max_batch_side >= 1``, ``max_features >= 1``, ``max_elements >= 1`` and
    ``1 <= feature_size <= max_elements``.
    """
    min_rank = _check_int("min_rank", min_rank, min_value=1)
    max_rank = _check_int("max_rank", max_rank, min_value=1)
    _check_order("min_rank", min_rank, "max_rank", max_rank)
    max_batch_side = _check_int("max_batch_side", max_batch_side, min_value=1)
    max_elements = _check_int("max_elements", max_elements, min_value=1)
    if feature_size is None:
        max_features = _check_int("max_features", max_features, min_value=1)
        features_strategy = st.integers(1, min(max_features, max_elements))
    else:
        feature_size = _check_int("feature_size", feature_size, min_value=1)
        _check_order("feature_size", feature_size, "max_elements", max_elements)
        features_strategy = st.just(feature_size)
    return _input_shapes(min_rank, max_rank, features_strategy, max_batch_side, max_elements)


@st.composite
def _input_shapes(draw, min_rank, max_rank, features_strategy, max_batch_side, max_elements):
    features = draw(features_strategy)
    rank = draw(st.integers(min_rank, max_rank))
    sides: list[int] = []
    used = features
    for _ in range(rank - 1):
        side = draw(st.integers(1, min(max_batch_side, max_elements // used)))
        sides.append(side)
        used *= side
    return (*sides, features)


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #


def finite_floats(
    dtype: Any = "float32", max_magnitude: float | None = None
) -> st.SearchStrategy[float]:
    """Python floats ``x`` with ``|x| <= max_magnitude``, exactly representable
    in ``compute_dtype(dtype)``: no NaN, no infinities, no subnormals (in that
    dtype).

    ``max_magnitude=None`` means the dtype's largest finite value; a larger
    bound is clipped to it, and a bound off the dtype's grid is rounded
    inwards.  Widths: float64 -> 64-bit, float32 -> 32-bit, float16 -> 16-bit;
    bfloat16 values are float32 draws truncated towards zero to 16 bits.
    Shrinks towards 0.0.
    """
    compute = compute_dtype(dtype)
    bound = (
        _MAX[compute]
        if max_magnitude is None
        else _magnitude_bound("max_magnitude", max_magnitude, compute)
    )
    return _scalar_floats(compute, -bound, bound)


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
    shape = _check_shape("shape", shape)
    compute = compute_dtype(dtype)
    bound = _magnitude_bound("max_magnitude", max_magnitude, compute)
    return _float_arrays(compute, shape, -bound, bound)


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
    bound = _bound_at_most(EXTREME_LOGIT_MAGNITUDE[compute], compute)
    return _truncate_to_bfloat16(bound) if compute == "bfloat16" else bound


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
    shape = _check_shape("shape", shape, min_rank=1)
    compute = compute_dtype(dtype)
    huge = _extreme_magnitude(compute)
    return st.one_of(
        _wide_range_logits(shape, compute, huge),
        _huge_and_small_logits(shape, compute, huge),
        _all_equal_huge_logits(shape, compute, huge),
    )


def _draw_shape(draw, shape, *, min_rank=0):
    if isinstance(shape, st.SearchStrategy):
        shape = _check_shape("drawn shape", draw(shape), min_rank=min_rank)
    return shape


@st.composite
def _wide_range_logits(draw, shape, compute, huge):
    shape = _draw_shape(draw, shape, min_rank=1)
    _label("extreme logits family", "wide-range")
    return draw(_float_arrays(compute, shape, -huge, huge))


@st.composite
def _huge_and_small_logits(draw, shape, compute, huge):
    shape = _draw_shape(draw, shape, min_rank=1)
    _label("extreme logits family", "huge-and-small")
    dtype = array_dtype(compute)
    small = draw(_float_arrays(compute, shape, -1.0, 1.0))
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
    _label("extreme logits family", "all-equal-huge")
    dtype = array_dtype(compute)
    low = huge / 1024  # an exact power-of-two scaling: still on the grid
    magnitudes = draw(_float_arrays(compute, shape[:-1], low, huge))
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
    lo = _check_positive_float("min_temperature", min_temperature)
    hi = _check_positive_float("max_temperature", max_temperature)
    _check_order("min_temperature", lo, "max_temperature", hi)
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


def kernels(shape: Any, dtype: Any = "float32") -> st.SearchStrategy[np.ndarray]:
    """Weight arrays of ``shape`` (tuple or strategy) with finite,
    non-subnormal entries, ``|x| <= 2``.

    Arrays are float64 for ``"float64"``, else float32 (values representable
    in ``compute_dtype(dtype)``).  Large arrays use Hypothesis's sparse fill.
    Shrinks towards all zeros.
    """
    shape = _check_shape("shape", shape)
    compute = compute_dtype(dtype)
    bound = _bound_at_most(WEIGHT_MAX_MAGNITUDE, compute)
    return _float_arrays(compute, shape, -bound, bound)


def projection_weights(n: int, k: int, dtype: Any = "float32") -> st.SearchStrategy[np.ndarray]:
    """The ``(n, k)`` input weights ``W`` of NonNegativeProjection:
    ``kernels((n, k), dtype)`` (finite, no subnormals, ``|x| <= 2``).
    Requires ``n, k >= 1``."""
    n = _check_int("n", n, min_value=1)
    k = _check_int("k", k, min_value=1)
    return kernels((n, k), dtype)


def memory_cell_sequences(
    max_length: int = 8,
    batch_size: int | None = None,
    input_dim: int | None = None,
    max_batch: int = 8,
    max_input_dim: int = 64,
    *,
    dtype: Any = "float32",
) -> st.SearchStrategy[np.ndarray]:
    """Input sequences for MemoryCellLayer: arrays of shape
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
    max_length = _check_int("max_length", max_length, min_value=1)
    if batch_size is None:
        batch_strategy = st.integers(1, _check_int("max_batch", max_batch, min_value=1))
    else:
        batch_strategy = st.just(_check_int("batch_size", batch_size, min_value=1))
    if input_dim is None:
        dim_strategy = st.integers(1, _check_int("max_input_dim", max_input_dim, min_value=1))
    else:
        dim_strategy = st.just(_check_int("input_dim", input_dim, min_value=1))
    compute = compute_dtype(dtype)
    bound = _bound_at_most(SEQUENCE_MAX_MAGNITUDE, compute)
    shapes = st.tuples(st.integers(1, max_length), batch_strategy, dim_strategy)
    return shapes.flatmap(lambda shape: _float_arrays(compute, shape, -bound, bound))


# --------------------------------------------------------------------------- #
# Bases of NonNegativeProjection
# --------------------------------------------------------------------------- #
#
# Every family takes (min_k, max_k, min_d, max_d, dtype), returns arrays of
# shape (k, d) with min_k <= k <= max_k and min_d <= d <= max_d, whose values
# are finite, non-subnormal float32 values (so they round-trip bit-exactly
# through a float32 variable and a JSON config), as float32 arrays, or float64
# arrays holding the same values when dtype="float64".  A family whose
# defining property cannot be met within the bounds raises
# InvalidStrategyArgument when built; `bases()` silently skips such families.


def _basis_args(min_k, max_k, min_d, max_d, dtype):
    min_k = _check_int("min_k", min_k, min_value=1)
    max_k = _check_int("max_k", max_k, min_value=1)
    _check_order("min_k", min_k, "max_k", max_k)
    min_d = _check_int("min_d", min_d, min_value=1)
    max_d = _check_int("max_d", max_d, min_value=1)
    _check_order("min_d", min_d, "max_d", max_d)
    if dtype not in ("float32", "float64"):
        raise InvalidStrategyArgument(
            f"dtype={dtype!r} must be 'float32' or 'float64' (basis values are float32)"
        )
    return min_k, max_k, min_d, max_d, np.dtype(dtype)


def _basis_unfit(
    family: str, reason: str, bounds: tuple[int, int, int, int]
) -> InvalidStrategyArgument:
    min_k, max_k, min_d, max_d = bounds
    return InvalidStrategyArgument(
        f"{family} bases need {reason}; got min_k={min_k}, max_k={max_k}, "
        f"min_d={min_d}, max_d={max_d}"
    )


def _finish_basis(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = _flush_subnormals(np.asarray(arr, dtype=np.float32).copy(), "float32")
    assert np.all(np.isfinite(out)), "basis strategy produced a non-finite value"
    return out.astype(dtype)


def _generic_fits(min_k, max_k, min_d, max_d):
    return min_k < max_d or max_k > min_d


def _square_fits(min_k, max_k, min_d, max_d):
    return max(min_k, min_d) <= min(max_k, max_d)


def _rank_deficient_fits(min_k, max_k, min_d, max_d):
    return max_k >= 2 and max_d >= 2


def _duplicate_rows_fits(min_k, max_k, min_d, max_d):
    return max_k >= 2


def _large_fits(min_k, max_k, min_d, max_d):
    return max(max_k, max_d) >= LARGE_BASIS_MIN_SIDE


def generic_bases(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Non-square bases (``k < d`` or ``k > d``, both reachable when the bounds
    allow) with no imposed structure: every entry is an independent draw in
    ``[-4, 4]`` (so they are full rank with high probability, but shrink
    towards the zero matrix).  Needs the bounds to admit ``k != d``.
    Label: ``"basis family: generic"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _generic_fits(*args[:4]):
        raise _basis_unfit("generic (non-square)", "room for k != d", args[:4])
    return _generic_bases(*args)


@st.composite
def _generic_bases(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "generic")
    orientations = []
    if min_k < max_d:
        orientations.append("wide")  # k < d
    if max_k > min_d:
        orientations.append("tall")  # k > d
    if draw(st.sampled_from(orientations)) == "wide":
        d = draw(st.integers(max(min_d, min_k + 1), max_d))
        k = draw(st.integers(min_k, min(max_k, d - 1)))
    else:
        k = draw(st.integers(max(min_k, min_d + 1), max_k))
        d = draw(st.integers(min_d, min(max_d, k - 1)))
    return _finish_basis(_dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE), dtype)


def square_bases(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Square bases ``(k, k)``, ``k`` in ``[max(min_k, min_d), min(max_k,
    max_d)]``, with independent entries in ``[-4, 4]`` (shrinks towards the
    1 x 1 zero matrix).  Label: ``"basis family: square"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _square_fits(*args[:4]):
        raise _basis_unfit("square", "overlapping k and d ranges", args[:4])
    return _square_bases(*args)


@st.composite
def _square_bases(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "square")
    k = draw(st.integers(max(min_k, min_d), min(max_k, max_d)))
    return _finish_basis(_dense_float32(draw, (k, k), BASIS_MAX_MAGNITUDE), dtype)


def rank_deficient_bases(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Bases of *exact* rank below ``min(k, d)`` (with ``k, d >= 2``).

    ``B = C @ R`` with ``R`` an ``(r, d)`` matrix of multiples of 1/32 in
    ``[-4, 4]``, ``C`` a ``(k, r)`` matrix of integers in ``[-2, 2]`` and
    ``1 <= r < min(k, d)``: every row is an integer combination of ``r`` fewer
    rows.  All products and sums are exact in float32, so
    ``np.linalg.matrix_rank(B) <= r < min(k, d)`` holds exactly, and
    ``|B| <= 8 r``.  Shrinks towards the zero matrix.
    Label: ``"basis family: rank-deficient"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _rank_deficient_fits(*args[:4]):
        raise _basis_unfit("rank-deficient", "max_k >= 2 and max_d >= 2", args[:4])
    return _rank_deficient_bases(*args)


@st.composite
def _rank_deficient_bases(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "rank-deficient")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(max(min_d, 2), max_d))
    r = draw(st.integers(1, min(k, d) - 1))
    budget = r * d + k * r  # both factors drawn densely, or both from a seed
    hidden = _dense_ints(draw, (r, d), -128, 128, budget=budget).astype(np.float64) / 32
    coefficients = _dense_ints(draw, (k, r), -2, 2, budget=budget).astype(np.float64)
    _note(f"rank-deficient basis: {k}x{d} built from r={r} rows")
    return _finish_basis(coefficients @ hidden, dtype)


def ill_conditioned_bases(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Ill-conditioned bases, ``k, d >= 2``: ``B = U diag(s) V^T`` with
    ``U, V`` random orthonormal (from a drawn seed), ``max(s) = 1`` and
    ``min(s) = 10**-c``, ``c`` drawn from ``[4, 6]``, in one of two variants:

    * ``"graded"``: singular values log-spaced from 1 down to ``10**-c``;
    * ``"nearly-parallel"``: ``s = (1, 10**-c, ..., 10**-c)``, so all rows are
      nearly multiples of one direction.

    Entries are at most 1 in magnitude.  After rounding to float32 the
    condition number (computed in float64) still exceeds ``10**3`` (it is about
    ``10**c``, or larger).  Label: ``"basis family: ill-conditioned"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _rank_deficient_fits(*args[:4]):
        raise _basis_unfit("ill-conditioned", "max_k >= 2 and max_d >= 2", args[:4])
    return _ill_conditioned_bases(*args)


@st.composite
def _ill_conditioned_bases(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "ill-conditioned")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(max(min_d, 2), max_d))
    variant = draw(st.sampled_from(("graded", "nearly-parallel")))
    c = draw(st.floats(4.0, 6.0, allow_nan=False))
    rng = _rng(draw)
    m = min(k, d)
    u, _ = np.linalg.qr(rng.standard_normal((k, m)))
    v, _ = np.linalg.qr(rng.standard_normal((d, m)))
    if variant == "graded":
        s = np.logspace(0.0, -c, m)
    else:
        s = np.full(m, 10.0**-c)
        s[0] = 1.0
    _note(f"ill-conditioned basis: {k}x{d}, variant={variant}, cond~1e{c:.2f}")
    return _finish_basis((u * s) @ v.T, dtype)


def bases_with_duplicate_rows(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Bases (``k >= 2``) with at least one pair of bit-identical rows: a
    generic basis (entries in ``[-4, 4]``) in which between 1 and ``k - 1``
    rows are overwritten by copies of rows that are not overwritten.
    Shrinks towards one copied row.  Label: ``"basis family: duplicate-rows"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _duplicate_rows_fits(*args[:4]):
        raise _basis_unfit("duplicate-row", "max_k >= 2", args[:4])
    return _bases_with_duplicate_rows(*args)


@st.composite
def _bases_with_duplicate_rows(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "duplicate-rows")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(min_d, max_d))
    basis = _dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE)
    order = draw(st.permutations(range(k)))
    copies = draw(st.integers(1, k - 1))
    targets, sources = order[:copies], order[copies:]
    for target in targets:
        basis[target] = basis[draw(st.sampled_from(sources))]
    return _finish_basis(basis, dtype)


def bases_with_zero_rows(
    min_k: int = 1, max_k: int = 16, min_d: int = 1, max_d: int = 16, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Bases with at least one all-zero row (between 1 and ``k`` of them, so a
    ``k = 1`` basis is the zero row); other rows are generic (entries in
    ``[-4, 4]``).  Fits any bounds.  Shrinks towards one zero row.
    Label: ``"basis family: zero-rows"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    return _bases_with_zero_rows(*args)


@st.composite
def _bases_with_zero_rows(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "zero-rows")
    k = draw(st.integers(min_k, max_k))
    d = draw(st.integers(min_d, max_d))
    basis = _dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE)
    order = draw(st.permutations(range(k)))
    zeros = draw(st.integers(1, k))
    basis[list(order[:zeros])] = 0.0
    return _finish_basis(basis, dtype)


def large_bases(
    min_k: int = 1, max_k: int = 256, min_d: int = 1, max_d: int = 256, dtype: str = "float32"
) -> st.SearchStrategy[np.ndarray]:
    """Large bases: at least one of ``k``, ``d`` is ``>= 64``
    (``LARGE_BASIS_MIN_SIDE``), up to ``max_k x max_d`` (256 x 256 by
    default); entries uniform in ``[-4, 4]`` from a seeded NumPy generator
    (cheap at any size; shrinks only through the sizes and the seed).
    Needs ``max(max_k, max_d) >= 64``.  Label: ``"basis family: large"``.
    """
    args = _basis_args(min_k, max_k, min_d, max_d, dtype)
    if not _large_fits(*args[:4]):
        raise _basis_unfit("large", f"max_k or max_d >= {LARGE_BASIS_MIN_SIDE}", args[:4])
    return _large_bases(*args)


@st.composite
def _large_bases(draw, min_k, max_k, min_d, max_d, dtype):
    _label("basis family", "large")
    axes = [axis for axis, top in (("k", max_k), ("d", max_d)) if top >= LARGE_BASIS_MIN_SIDE]
    if draw(st.sampled_from(axes)) == "k":
        k = draw(st.integers(max(min_k, LARGE_BASIS_MIN_SIDE), max_k))
        d = draw(st.integers(min_d, max_d))
    else:
        d = draw(st.integers(max(min_d, LARGE_BASIS_MIN_SIDE), max_d))
        k = draw(st.integers(min_k, max_k))
    values = _rng(draw).uniform(-BASIS_MAX_MAGNITUDE, BASIS_MAX_MAGNITUDE, size=(k, d))
    return _finish_basis(values, dtype)


_FAMILY_BUILDERS = {
    "generic": (_generic_fits, generic_bases),
    "square": (_square_fits, square_bases),
    "rank-deficient": (_rank_deficient_fits, rank_deficient_bases),
    "ill-conditioned": (_rank_deficient_fits, ill_conditioned_bases),
    "duplicate-rows": (_duplicate_rows_fits, bases_with_duplicate_rows),
    "zero-rows": (lambda *bounds: True, bases_with_zero_rows),
    "large": (_large_fits, large_bases),
}


def bases(
    min_k: int = 1,
    max_k: int = 256,
    min_d: int = 1,
    max_d: int = 256,
    dtype: str = "float32",
) -> st.SearchStrategy[np.ndarray]:
    """Bases ``B`` of shape ``(k, d)`` for NonNegativeProjection, drawn from
    every family in :data:`BASIS_FAMILIES` that fits the bounds (each labelled
    with ``hypothesis.event("basis family: <name>")``).

    The ``"large"`` family uses the full bounds; the others are drawn with
    each side capped at ``max(min, min(max, 16))`` so that they stay cheap.
    Families that cannot meet their defining property within the (capped)
    bounds are skipped, e.g. ``bases(max_k=1, max_d=1)`` draws only from
    ``"square"`` and ``"zero-rows"``.  Values are finite, non-subnormal
    float32 values; arrays are float32, or float64 for ``dtype="float64"``.
    Shrinks towards small shapes and zero entries, in whichever family yields
    the simplest example (typically a 1 x 1 ``"square"`` zero basis).
    """
    min_k, max_k, min_d, max_d, _ = _basis_args(min_k, max_k, min_d, max_d, dtype)
    small = (
        min_k,
        max(min_k, min(max_k, SMALL_BASIS_SIDE)),
        min_d,
        max(min_d, min(max_d, SMALL_BASIS_SIDE)),
    )
    full = (min_k, max_k, min_d, max_d)
    strategies = []
    for name in BASIS_FAMILIES:
        fits, build = _FAMILY_BUILDERS[name]
        bounds = full if name == "large" else small
        if fits(*bounds):
            strategies.append(build(*bounds, dtype=dtype))
    return st.one_of(strategies)  # "zero-rows" always fits: never empty


# --------------------------------------------------------------------------- #
# Dtypes
# --------------------------------------------------------------------------- #


def dtypes(device_type: str = "CPU") -> st.SearchStrategy[str]:
    """Dtype / Keras dtype-policy names supported on ``device_type``
    (``"CPU"`` or ``"GPU"``, case-insensitive): sampled from
    ``DTYPES_BY_DEVICE_TYPE[device_type]``.  Shrinks towards ``"float32"``.
    """
    key = device_type.upper() if isinstance(device_type, str) else device_type
    if key not in DTYPES_BY_DEVICE_TYPE:
        raise InvalidStrategyArgument(
            f"device_type={device_type!r} must be one of {tuple(DTYPES_BY_DEVICE_TYPE)}"
        )
    return st.sampled_from(DTYPES_BY_DEVICE_TYPE[key])
