"""Sizes, shapes and seeds."""

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ._validation import check_int, check_order


#: Default bound on the number of elements of an ``input_shapes`` shape.
MAX_INPUT_ELEMENTS = 4096


def feature_sizes(min_size: int = 1, max_size: int = 256) -> st.SearchStrategy[int]:
    """Python ints in ``[min_size, max_size]`` (feature counts, ``num_classes``).

    Shrinks towards ``min_size``.  Requires ``1 <= min_size <= max_size``.
    """
    min_size = check_int("min_size", min_size, min_value=1)
    max_size = check_int("max_size", max_size, min_value=1)
    check_order("min_size", min_size, "max_size", max_size)
    return st.integers(min_size, max_size)


def units(max_units: int = 64, *, min_units: int = 1) -> st.SearchStrategy[int]:
    """Python ints in ``[min_units, max_units]`` (a layer's ``units``).

    Shrinks towards ``min_units``.  Requires ``1 <= min_units <= max_units``.
    """
    max_units = check_int("max_units", max_units, min_value=1)
    min_units = check_int("min_units", min_units, min_value=1)
    check_order("min_units", min_units, "max_units", max_units)
    return st.integers(min_units, max_units)


def seeds() -> st.SearchStrategy[int]:
    """Python ints in ``[0, 2**31 - 1]`` for seeding Keras / TF / NumPy RNGs.

    Shrinks towards 0.
    """
    return st.integers(0, 2**31 - 1)


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
    min_rank = check_int("min_rank", min_rank, min_value=0)
    max_rank = check_int("max_rank", max_rank, min_value=0)
    check_order("min_rank", min_rank, "max_rank", max_rank)
    min_side = check_int("min_side", min_side, min_value=1)
    max_side = check_int("max_side", max_side, min_value=1)
    check_order("min_side", min_side, "max_side", max_side)
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
    min_rank = check_int("min_rank", min_rank, min_value=1)
    max_rank = check_int("max_rank", max_rank, min_value=1)
    check_order("min_rank", min_rank, "max_rank", max_rank)
    max_batch_side = check_int("max_batch_side", max_batch_side, min_value=1)
    max_elements = check_int("max_elements", max_elements, min_value=1)
    if feature_size is None:
        max_features = check_int("max_features", max_features, min_value=1)
        features_strategy = st.integers(1, min(max_features, max_elements))
    else:
        feature_size = check_int("feature_size", feature_size, min_value=1)
        check_order("feature_size", feature_size, "max_elements", max_elements)
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
