"""Bases: ``(k, d)`` matrices whose rows span a subspace (for a projection onto it), from
labelled families that reach what a generic draw almost never does: square, exactly
rank-deficient, ill-conditioned, duplicated and zero rows, and large.

Every family takes ``(min_k, max_k, min_d, max_d, dtype)`` and returns arrays of shape
``(k, d)`` with ``min_k <= k <= max_k`` and ``min_d <= d <= max_d``, whose values are finite,
non-subnormal float32 values (so they round-trip bit-exactly through a float32 variable and a
JSON config), as float32 arrays, or float64 arrays holding the same values when
``dtype="float64"``. A family whose defining property cannot be met within the bounds raises
:class:`InvalidStrategyArgument` when built; :func:`bases` skips such families. Each draw is
labelled ``hypothesis.event("basis family: <name>")``.
"""

import numpy as np
from hypothesis import strategies as st

from ._numbers import dense_float32, dense_ints, flush_subnormals, label, note_in_test, seeded_rng
from ._validation import InvalidStrategyArgument, check_int, check_order


#: Largest side of the small basis families when drawn through ``bases()``.
SMALL_BASIS_SIDE = 16


#: ``large_bases`` has at least one side of at least this length.
LARGE_BASIS_MIN_SIDE = 64


#: Bound on the entries of the generic / square / duplicate / zero-row / large
#: basis families.
BASIS_MAX_MAGNITUDE = 4.0


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


def _basis_args(min_k, max_k, min_d, max_d, dtype):
    min_k = check_int("min_k", min_k, min_value=1)
    max_k = check_int("max_k", max_k, min_value=1)
    check_order("min_k", min_k, "max_k", max_k)
    min_d = check_int("min_d", min_d, min_value=1)
    max_d = check_int("max_d", max_d, min_value=1)
    check_order("min_d", min_d, "max_d", max_d)
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
    out = flush_subnormals(np.asarray(arr, dtype=np.float32).copy(), "float32")
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
    label("basis family", "generic")
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
    return _finish_basis(dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE), dtype)


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
    label("basis family", "square")
    k = draw(st.integers(max(min_k, min_d), min(max_k, max_d)))
    return _finish_basis(dense_float32(draw, (k, k), BASIS_MAX_MAGNITUDE), dtype)


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
    label("basis family", "rank-deficient")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(max(min_d, 2), max_d))
    r = draw(st.integers(1, min(k, d) - 1))
    budget = r * d + k * r  # both factors drawn densely, or both from a seed
    hidden = dense_ints(draw, (r, d), -128, 128, budget=budget).astype(np.float64) / 32
    coefficients = dense_ints(draw, (k, r), -2, 2, budget=budget).astype(np.float64)
    note_in_test(f"rank-deficient basis: {k}x{d} built from r={r} rows")
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
    label("basis family", "ill-conditioned")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(max(min_d, 2), max_d))
    variant = draw(st.sampled_from(("graded", "nearly-parallel")))
    c = draw(st.floats(4.0, 6.0, allow_nan=False))
    rng = seeded_rng(draw)
    m = min(k, d)
    u, _ = np.linalg.qr(rng.standard_normal((k, m)))
    v, _ = np.linalg.qr(rng.standard_normal((d, m)))
    if variant == "graded":
        s = np.logspace(0.0, -c, m)
    else:
        s = np.full(m, 10.0**-c)
        s[0] = 1.0
    note_in_test(f"ill-conditioned basis: {k}x{d}, variant={variant}, cond~1e{c:.2f}")
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
    label("basis family", "duplicate-rows")
    k = draw(st.integers(max(min_k, 2), max_k))
    d = draw(st.integers(min_d, max_d))
    basis = dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE)
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
    label("basis family", "zero-rows")
    k = draw(st.integers(min_k, max_k))
    d = draw(st.integers(min_d, max_d))
    basis = dense_float32(draw, (k, d), BASIS_MAX_MAGNITUDE)
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
    label("basis family", "large")
    axes = [axis for axis, top in (("k", max_k), ("d", max_d)) if top >= LARGE_BASIS_MIN_SIDE]
    if draw(st.sampled_from(axes)) == "k":
        k = draw(st.integers(max(min_k, LARGE_BASIS_MIN_SIDE), max_k))
        d = draw(st.integers(min_d, max_d))
    else:
        d = draw(st.integers(max(min_d, LARGE_BASIS_MIN_SIDE), max_d))
        k = draw(st.integers(min_k, max_k))
    values = seeded_rng(draw).uniform(-BASIS_MAX_MAGNITUDE, BASIS_MAX_MAGNITUDE, size=(k, d))
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
    """Bases ``B`` of shape ``(k, d)`` (``k`` vectors of ``d`` entries), drawn from
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
