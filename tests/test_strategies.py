"""Each strategy in layercheck.strategies produces exactly what it documents.

Pure NumPy + Hypothesis: no TensorFlow here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from layercheck import strategies as lcst
from layercheck.strategies import _numbers as numbers  # where every label is emitted

VALUE_DTYPES = ("float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16")

# Inner @given runs and find() calls: no example database, no deadline.
QUIET = settings(
    database=None,
    deadline=None,
    max_examples=2000,  # find() stops at the first hit; this is only a ceiling
    suppress_health_check=[HealthCheck.too_slow],
)
# Reachability only (the result need not be minimal): skip shrinking.
REACH = settings(QUIET, phases=[Phase.generate])


# --------------------------------------------------------------------------- #
# Checkers
# --------------------------------------------------------------------------- #


def representable(values, dtype) -> bool:
    """Every value is exactly representable in the compute dtype of ``dtype``."""
    compute = lcst.compute_dtype(dtype)
    arr = np.asarray(values)
    if compute == "float64":
        return True
    as32 = arr.astype(np.float32)
    if not np.array_equal(as32, arr):
        return False
    if compute == "float16":
        return np.array_equal(as32.astype(np.float16).astype(np.float32), as32)
    if compute == "bfloat16":
        return bool(np.all((np.ascontiguousarray(as32).view(np.uint32) & 0xFFFF) == 0))
    return True


def no_subnormals(values, dtype) -> bool:
    compute = lcst.compute_dtype(dtype)
    tiny = {
        "float16": np.finfo(np.float16).tiny,
        "bfloat16": np.finfo(np.float32).tiny,
        "float32": np.finfo(np.float32).tiny,
        "float64": np.finfo(np.float64).tiny,
    }[compute]
    arr = np.abs(np.asarray(values, dtype=np.float64))
    return bool(np.all((arr == 0) | (arr >= tiny)))


def check_float_array(arr, shape, dtype, bound):
    assert isinstance(arr, np.ndarray)
    assert arr.shape == tuple(shape)
    assert arr.dtype == lcst.array_dtype(dtype)
    assert arr.dtype == (np.float64 if dtype == "float64" else np.float32)
    assert np.all(np.isfinite(arr))
    assert np.all(np.abs(arr) <= bound)
    assert no_subnormals(arr, dtype)
    assert representable(arr, dtype)


def check_basis(b, min_k, max_k, min_d, max_d, dtype="float32"):
    assert isinstance(b, np.ndarray)
    assert b.ndim == 2
    k, d = b.shape
    assert min_k <= k <= max_k and min_d <= d <= max_d
    assert b.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(b))
    assert no_subnormals(b, "float32")
    b32 = b.astype(np.float32)
    assert np.array_equal(b32.astype(b.dtype), b), "values must be float32 values"
    # JSON-style config round trip (tolist -> Python floats -> float32) is bit-exact.
    back = np.array(b32.tolist(), dtype=np.float32).reshape(b32.shape)
    assert np.array_equal(back.view(np.uint32), b32.view(np.uint32))


def record_events(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(numbers, "event", lambda value, payload="": seen.append(value))
    return seen


def run_given(strategy, check=lambda x: None, max_examples=100):
    @settings(QUIET, max_examples=max_examples)
    @given(strategy)
    def inner(x):
        check(x)

    inner()


# --------------------------------------------------------------------------- #
# Sizes and shapes
# --------------------------------------------------------------------------- #


@given(lcst.feature_sizes())
def test_feature_sizes_default_range(n):
    assert isinstance(n, int) and 1 <= n <= 256


@given(lcst.feature_sizes(3, 7))
def test_feature_sizes_custom_range(n):
    assert 3 <= n <= 7


def test_feature_sizes_shrink_to_min_size():
    assert find(lcst.feature_sizes(), lambda n: True, settings=QUIET) == 1
    assert find(lcst.feature_sizes(5, 9), lambda n: True, settings=QUIET) == 5
    assert find(lcst.feature_sizes(), lambda n: n >= 10, settings=QUIET) == 10
    assert find(lcst.feature_sizes(), lambda n: n == 256, settings=QUIET) == 256


@given(lcst.units())
def test_units_range(u):
    assert isinstance(u, int) and 1 <= u <= 64


@given(lcst.units(max_units=5, min_units=2))
def test_units_custom_range(u):
    assert 2 <= u <= 5


@given(lcst.seeds())
def test_seeds_range(seed):
    assert isinstance(seed, int) and 0 <= seed <= 2**31 - 1


def test_seeds_extremes_reachable():
    assert find(lcst.seeds(), lambda s: True, settings=QUIET) == 0
    assert find(lcst.seeds(), lambda s: s > 2**30, settings=REACH) > 2**30


@given(lcst.batch_shapes())
def test_batch_shapes_default(shape):
    assert isinstance(shape, tuple) and len(shape) == 1
    assert 1 <= shape[0] <= 8


@given(lcst.batch_shapes(min_rank=0, max_rank=3, min_side=2, max_side=5))
def test_batch_shapes_custom(shape):
    assert 0 <= len(shape) <= 3
    assert all(2 <= side <= 5 for side in shape)


def test_batch_shapes_reachability():
    assert find(lcst.batch_shapes(), lambda s: True, settings=QUIET) == (1,)
    assert find(lcst.batch_shapes(), lambda s: s == (8,), settings=QUIET) == (8,)
    two = find(lcst.batch_shapes(max_rank=2), lambda s: len(s) == 2, settings=QUIET)
    assert two == (1, 1)
    assert find(lcst.batch_shapes(min_rank=0), lambda s: True, settings=QUIET) == ()


@given(lcst.input_shapes())
def test_input_shapes_default(shape):
    assert isinstance(shape, tuple)
    assert 2 <= len(shape) <= 3
    assert all(isinstance(side, int) for side in shape)
    assert 1 <= shape[-1] <= 256
    assert all(1 <= side <= 8 for side in shape[:-1])
    assert math.prod(shape) <= lcst.MAX_INPUT_ELEMENTS == 4096


@given(lcst.input_shapes(min_rank=1, max_rank=6, max_batch_side=50, max_elements=100))
def test_input_shapes_element_bound_custom(shape):
    assert 1 <= len(shape) <= 6
    assert math.prod(shape) <= 100
    assert shape[-1] <= 100  # max_features=256 is capped by max_elements
    assert all(1 <= side <= 50 for side in shape[:-1])


@given(lcst.input_shapes(feature_size=17))
def test_input_shapes_fixed_feature_size(shape):
    assert shape[-1] == 17
    assert math.prod(shape) <= 4096


def test_input_shapes_reachability():
    shapes = lcst.input_shapes()
    assert find(shapes, lambda s: True, settings=QUIET) == (1, 1)
    rank3 = find(shapes, lambda s: len(s) == 3, settings=QUIET)
    assert rank3 == (1, 1, 1)
    assert find(shapes, lambda s: len(s) == 3 and s[-1] >= 200, settings=REACH)[-1] >= 200
    assert find(shapes, lambda s: s[0] == 1 and s[-1] > 1, settings=REACH)[0] == 1
    assert find(shapes, lambda s: s[0] == 8, settings=REACH)[0] == 8
    # The budget binds: a shape near the element cap is reachable.
    big = find(shapes, lambda s: math.prod(s) >= 2048, settings=REACH)
    assert 2048 <= math.prod(big) <= 4096


# --------------------------------------------------------------------------- #
# Scalars
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@given(data=st.data())
def test_finite_floats_default_bound(dtype, data):
    x = data.draw(lcst.finite_floats(dtype))
    assert isinstance(x, float)
    assert math.isfinite(x)
    assert no_subnormals(x, dtype)
    assert representable(x, dtype)


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@given(data=st.data())
def test_finite_floats_bounded(dtype, data):
    x = data.draw(lcst.finite_floats(dtype, max_magnitude=0.1))
    assert abs(x) <= 0.1
    assert no_subnormals(x, dtype)
    assert representable(x, dtype)


@pytest.mark.parametrize(
    "dtype, width_max",
    [
        ("float16", float(np.finfo(np.float16).max)),
        ("float32", float(np.finfo(np.float32).max)),
        ("float64", float(np.finfo(np.float64).max)),
    ],
)
def test_finite_floats_reach_the_dtype_max(dtype, width_max):
    x = find(lcst.finite_floats(dtype), lambda v: abs(v) >= width_max, settings=QUIET)
    assert abs(x) == width_max


def test_finite_floats_width_matches_dtype():
    # float64 reaches values float32 cannot hold; float32 never does.
    x = find(
        lcst.finite_floats("float64"),
        lambda v: abs(v) < 1e30 and float(np.float32(v)) != v,
        settings=QUIET,
    )
    assert float(np.float32(x)) != x
    run_given(lcst.finite_floats("float32"), lambda v: float(np.float32(v)) == v)


def test_finite_floats_clip_large_bound_to_dtype():
    run_given(
        lcst.finite_floats("float16", max_magnitude=1e10),
        lambda v: abs(v) <= float(np.finfo(np.float16).max),
    )


# --------------------------------------------------------------------------- #
# Logits
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@given(data=st.data())
def test_logits(dtype, data):
    shape = data.draw(lcst.input_shapes(max_rank=3, max_features=32))
    arr = data.draw(lcst.logits(shape, dtype))
    check_float_array(arr, shape, dtype, 30.0)


@given(lcst.logits(lcst.input_shapes(), max_magnitude=2.5))
def test_logits_shape_strategy_and_bound(arr):
    assert 2 <= arr.ndim <= 3
    assert arr.size <= 4096
    check_float_array(arr, arr.shape, "float32", 2.5)


def test_logits_reach_the_bound():
    arr = find(lcst.logits((3,)), lambda a: np.any(np.abs(a) >= 30.0), settings=QUIET)
    assert np.max(np.abs(arr)) == 30.0


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@given(data=st.data())
def test_extreme_logits(dtype, data):
    shape = data.draw(lcst.input_shapes(max_features=16))
    arr = data.draw(lcst.extreme_logits(shape, dtype))
    huge = lcst.EXTREME_LOGIT_MAGNITUDE[lcst.compute_dtype(dtype)]
    check_float_array(arr, shape, dtype, huge)


def _has_mixed_row(a):
    rows = np.abs(a.reshape(-1, a.shape[-1]).astype(np.float64))
    return bool(np.any(np.any(rows >= HUGE32, axis=1) & np.any(rows <= 1.0, axis=1)))


def _has_equal_huge_row(a):
    rows = a.reshape(-1, a.shape[-1])
    return bool(np.any(np.all(rows == rows[:, :1], axis=1) & (np.abs(rows[:, 0]) >= 1e20)))


HUGE32 = float(np.finfo(np.float32).max)


def test_extreme_logits_reach_the_largest_finite_value():
    assert lcst.EXTREME_LOGIT_MAGNITUDE["float32"] == HUGE32
    assert lcst.EXTREME_LOGIT_MAGNITUDE["float64"] == float(np.finfo(np.float64).max)


def test_extreme_logits_families_reachable():
    strategy = lcst.extreme_logits((4, 6))
    huge = np.float32(HUGE32)
    mixed = find(
        strategy, lambda a: _has_mixed_row(a) and np.any(np.abs(a) == huge), settings=REACH
    )
    assert _has_mixed_row(mixed) and np.any(np.abs(mixed) == huge)
    equal = find(strategy, _has_equal_huge_row, settings=REACH)
    assert _has_equal_huge_row(equal)
    both_signs = find(strategy, lambda a: np.any(a >= 1e38) and np.any(a <= -1e38), settings=REACH)
    assert np.max(both_signs) >= 1e38 and np.min(both_signs) <= -1e38


def test_extreme_logits_families_are_labelled(monkeypatch):
    seen = record_events(monkeypatch)
    run_given(lcst.extreme_logits((3, 4)), max_examples=150)
    assert {e for e in seen} == {
        f"extreme logits family: {name}" for name in lcst.EXTREME_LOGIT_FAMILIES
    }


def test_extreme_logits_family_properties(monkeypatch):
    """Each labelled example has its family's property."""
    current: list[str] = []
    monkeypatch.setattr(numbers, "event", lambda value, payload="": current.append(value))

    def check(a):
        family = current[-1].split(": ")[1]
        current.clear()
        rows = a.reshape(-1, a.shape[-1]).astype(np.float64)
        if family == "huge-and-small":
            huge = HUGE32
            assert np.all(np.any(np.abs(rows) == huge, axis=1))
            assert np.all((np.abs(rows) == huge) | (np.abs(rows) <= 1.0))
        elif family == "all-equal-huge":
            assert np.all(rows == rows[:, :1])
            assert np.all(np.abs(rows) >= HUGE32 / 1024 * 0.999)

    run_given(lcst.extreme_logits(st.sampled_from([(1, 1), (2, 5), (3, 2, 7)])), check)


# --------------------------------------------------------------------------- #
# Temperatures
# --------------------------------------------------------------------------- #


@given(lcst.temperatures())
def test_temperatures_in_range(t):
    assert isinstance(t, float)
    assert 1e-3 <= t <= 1e3


@given(lcst.temperatures(0.0123, 4.56))
def test_temperatures_custom_range_clipped(t):
    assert 0.0123 <= t <= 4.56


def test_temperatures_floor_and_max_reachable():
    assert find(lcst.temperatures(), lambda t: t < 2e-3, settings=QUIET) < 2e-3
    assert find(lcst.temperatures(), lambda t: t == 1e-3, settings=QUIET) == 1e-3
    assert find(lcst.temperatures(), lambda t: t > 500, settings=QUIET) > 500
    assert find(lcst.temperatures(0.0123, 4.56), lambda t: t <= 0.0123, settings=QUIET) == 0.0123


def test_temperatures_log_uniform_coverage():
    # Every decade of [1e-3, 1e3] is reachable (a uniform draw would almost
    # never go below 1).
    for a in range(-3, 3):
        t = find(
            lcst.temperatures(), lambda t, a=a: 10.0**a < t < 10.0 ** (a + 1), settings=QUIET
        )
        assert 10.0**a < t < 10.0 ** (a + 1)


def test_temperatures_log_uniform_distribution():
    draws: list[float] = []
    run_given(lcst.temperatures(), draws.append, max_examples=300)
    exponents = np.log10(np.array(draws))
    # At least three orders of magnitude below 1 and above 1 both occur often.
    assert np.mean(exponents < -1) > 0.1
    assert np.mean(exponents > 1) > 0.1
    # The floor itself is hit exactly, sometimes.
    assert 1e-3 in draws


def test_temperatures_shrink_towards_one():
    assert find(lcst.temperatures(), lambda t: True, settings=QUIET) == 1.0
    assert find(lcst.temperatures(0.5, 2.0), lambda t: True, settings=QUIET) == 1.0
    # 1.0 outside the range: still in range, a power of ten.
    assert find(lcst.temperatures(2.0, 50.0), lambda t: True, settings=QUIET) == 10.0


def test_temperatures_degenerate_range():
    assert find(lcst.temperatures(0.5, 0.5), lambda t: True, settings=QUIET) == 0.5


# --------------------------------------------------------------------------- #
# Weights and sequences
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@given(data=st.data())
def test_kernels(dtype, data):
    shape = data.draw(st.tuples(st.integers(1, 20), st.integers(1, 20)))
    check_float_array(data.draw(lcst.kernels(shape, dtype)), shape, dtype, 2.0)


@given(n=st.integers(1, 30), k=st.integers(1, 30), data=st.data())
def test_projection_weights(n, k, data):
    w = data.draw(lcst.projection_weights(n, k))
    check_float_array(w, (n, k), "float32", 2.0)


def test_kernels_reach_the_bound():
    w = find(lcst.kernels((4, 4)), lambda a: np.any(np.abs(a) == 2.0), settings=QUIET)
    assert np.max(np.abs(w)) == 2.0


@given(lcst.step_sequences())
def test_step_sequences_default(seq):
    length, batch, dim = seq.shape
    assert 1 <= length <= 8 and 1 <= batch <= 8 and 1 <= dim <= 64
    assert seq.size <= 4096
    check_float_array(seq, seq.shape, "float32", 3.0)


@given(lcst.step_sequences(max_length=3, batch_size=5, input_dim=7, dtype="float64"))
def test_step_sequences_fixed_sizes(seq):
    assert 1 <= seq.shape[0] <= 3
    assert seq.shape[1:] == (5, 7)
    check_float_array(seq, seq.shape, "float64", 3.0)


def test_step_sequences_reachability():
    seqs = lcst.step_sequences()
    assert find(seqs, lambda s: True, settings=QUIET).shape == (1, 1, 1)
    assert find(seqs, lambda s: s.shape[0] == 8, settings=REACH).shape[0] == 8
    assert find(seqs, lambda s: s.shape[1] == 1 and s.shape[0] > 1, settings=REACH).shape[1] == 1
    assert np.max(np.abs(find(seqs, lambda s: np.any(np.abs(s) >= 3), settings=REACH))) == 3.0


# --------------------------------------------------------------------------- #
# Bases
# --------------------------------------------------------------------------- #


@given(lcst.generic_bases())
def test_generic_bases_are_non_square(b):
    check_basis(b, 1, 16, 1, 16)
    assert b.shape[0] != b.shape[1]
    assert np.all(np.abs(b) <= 4.0)


def test_generic_bases_both_orientations_reachable():
    wide = find(lcst.generic_bases(), lambda b: b.shape[0] < b.shape[1], settings=QUIET)
    tall = find(lcst.generic_bases(), lambda b: b.shape[0] > b.shape[1], settings=QUIET)
    assert wide.shape == (1, 2) and tall.shape == (2, 1)
    full = find(
        lcst.generic_bases(),
        lambda b: min(b.shape) >= 3 and np.linalg.matrix_rank(b) == min(b.shape),
        settings=REACH,
    )
    assert np.linalg.matrix_rank(full) == min(full.shape)


@given(lcst.square_bases(min_k=2, max_k=9, min_d=3, max_d=12))
def test_square_bases(b):
    check_basis(b, 2, 9, 3, 12)
    assert b.shape[0] == b.shape[1]
    assert 3 <= b.shape[0] <= 9


@given(lcst.rank_deficient_bases())
def test_rank_deficient_bases(b):
    check_basis(b, 2, 16, 2, 16)
    assert np.linalg.matrix_rank(b) < min(b.shape)
    b64 = b.astype(np.float64)
    smax = np.linalg.norm(b64, 2)
    assert np.linalg.matrix_rank(b64, tol=1e-8 * max(smax, 1e-300) * max(b.shape)) < min(b.shape)


def test_rank_deficient_bases_not_only_zero():
    b = find(
        lcst.rank_deficient_bases(),
        lambda b: min(b.shape) >= 4 and np.linalg.matrix_rank(b) >= 2,
        settings=REACH,
    )
    assert 2 <= np.linalg.matrix_rank(b) < min(b.shape)


@given(lcst.ill_conditioned_bases())
def test_ill_conditioned_bases(b):
    check_basis(b, 2, 16, 2, 16)
    assert np.all(np.abs(b) <= 1.0)
    assert np.linalg.cond(b.astype(np.float64)) > 1e3


@settings(max_examples=10, deadline=None)
@given(lcst.ill_conditioned_bases(min_k=40, max_k=80, min_d=40, max_d=80))
def test_ill_conditioned_bases_larger(b):
    check_basis(b, 40, 80, 40, 80)
    assert np.linalg.cond(b.astype(np.float64)) > 1e3


def _has_duplicate_rows(b):
    return any(
        np.array_equal(b[i], b[j]) for i in range(len(b)) for j in range(i + 1, len(b))
    )


@given(lcst.bases_with_duplicate_rows())
def test_bases_with_duplicate_rows(b):
    check_basis(b, 2, 16, 1, 16)
    assert _has_duplicate_rows(b)
    assert np.all(np.abs(b) <= 4.0)


@given(lcst.bases_with_zero_rows())
def test_bases_with_zero_rows(b):
    check_basis(b, 1, 16, 1, 16)
    assert np.any(np.all(b == 0, axis=1))


def test_bases_with_zero_rows_can_keep_nonzero_rows():
    b = find(
        lcst.bases_with_zero_rows(), lambda b: np.any(np.any(b != 0, axis=1)), settings=REACH
    )
    assert np.any(np.all(b == 0, axis=1)) and np.any(np.any(b != 0, axis=1))


@settings(max_examples=25, deadline=None)
@given(lcst.large_bases())
def test_large_bases(b):
    check_basis(b, 1, 256, 1, 256)
    assert max(b.shape) >= lcst.LARGE_BASIS_MIN_SIDE
    assert np.all(np.abs(b) <= 4.0)


@settings(max_examples=25, deadline=None)
@given(lcst.large_bases(max_k=70, min_d=65, max_d=80))
def test_large_bases_respect_caps(b):
    check_basis(b, 1, 70, 65, 80)


@settings(max_examples=200, deadline=None)
@given(lcst.bases())
def test_bases_default(b):
    check_basis(b, 1, 256, 1, 256)


@given(lcst.bases(max_k=6, max_d=5, dtype="float64"))
def test_bases_caps_and_float64(b):
    check_basis(b, 1, 6, 1, 5, dtype="float64")


@given(lcst.bases(min_k=3, max_k=3, min_d=20, max_d=24))
def test_bases_min_bounds_above_small_cap(b):
    check_basis(b, 3, 3, 20, 24)


def test_bases_large_family_reachable():
    b = find(lcst.bases(), lambda b: max(b.shape) >= 64, settings=QUIET)
    assert max(b.shape) >= 64


def test_bases_every_family_labelled(monkeypatch):
    seen = record_events(monkeypatch)
    run_given(lcst.bases(), max_examples=300)
    assert set(seen) == {f"basis family: {name}" for name in lcst.BASIS_FAMILIES}


def test_each_family_strategy_labels_itself(monkeypatch):
    seen = record_events(monkeypatch)
    strategies = {
        "generic": lcst.generic_bases(),
        "square": lcst.square_bases(),
        "rank-deficient": lcst.rank_deficient_bases(),
        "ill-conditioned": lcst.ill_conditioned_bases(),
        "duplicate-rows": lcst.bases_with_duplicate_rows(),
        "zero-rows": lcst.bases_with_zero_rows(),
        "large": lcst.large_bases(),
    }
    for name, strategy in strategies.items():
        seen.clear()
        run_given(strategy, max_examples=5)
        assert set(seen) == {f"basis family: {name}"}


def test_bases_skip_families_that_cannot_fit(monkeypatch):
    seen = record_events(monkeypatch)
    run_given(lcst.bases(max_k=1, max_d=1), lambda b: check_basis(b, 1, 1, 1, 1))
    assert set(seen) == {"basis family: square", "basis family: zero-rows"}

    seen.clear()
    run_given(lcst.bases(min_k=2, max_k=2, min_d=2, max_d=2), lambda b: check_basis(b, 2, 2, 2, 2))
    assert set(seen) == {
        f"basis family: {name}"
        for name in ("square", "rank-deficient", "ill-conditioned", "duplicate-rows", "zero-rows")
    }


@pytest.mark.parametrize(
    "build, needs",
    [
        (lambda: lcst.generic_bases(min_k=3, max_k=3, min_d=3, max_d=3), "k != d"),
        (lambda: lcst.square_bases(min_k=5, max_k=6, min_d=1, max_d=4), "overlapping"),
        (lambda: lcst.rank_deficient_bases(max_k=1), "max_k >= 2"),
        (lambda: lcst.rank_deficient_bases(max_d=1), "max_d >= 2"),
        (lambda: lcst.ill_conditioned_bases(max_k=1), "max_k >= 2"),
        (lambda: lcst.bases_with_duplicate_rows(max_k=1), "max_k >= 2"),
        (lambda: lcst.large_bases(max_k=63, max_d=63), "max_k or max_d >= 64"),
    ],
)
def test_family_that_cannot_fit_raises(build, needs):
    with pytest.raises(lcst.InvalidStrategyArgument, match=needs):
        build()


# --------------------------------------------------------------------------- #
# Dtypes
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("device_type", ["CPU", "GPU", "cpu"])
def test_dtypes_sample_the_table(device_type):
    seen: list[str] = []
    run_given(lcst.dtypes(device_type), seen.append, max_examples=60)
    assert set(seen) == set(lcst.DTYPES_BY_DEVICE_TYPE[device_type.upper()])


def test_dtype_table():
    expected = ("float32", "float64", "mixed_float16", "mixed_bfloat16")
    assert lcst.DTYPES_BY_DEVICE_TYPE == {"CPU": expected, "GPU": expected}
    assert find(lcst.dtypes("GPU"), lambda d: True, settings=QUIET) == "float32"


def test_compute_and_array_dtypes():
    assert lcst.compute_dtype("mixed_float16") == "float16"
    assert lcst.compute_dtype("mixed_bfloat16") == "bfloat16"
    assert lcst.compute_dtype(np.float32) == "float32"
    assert lcst.compute_dtype(np.dtype("float64")) == "float64"
    assert lcst.array_dtype("bfloat16") == np.float32
    assert lcst.array_dtype("float64") == np.float64


# --------------------------------------------------------------------------- #
# Invalid arguments: eager, clear, naming the argument
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "build, argument",
    [
        (lambda: lcst.feature_sizes(0), "min_size"),
        (lambda: lcst.feature_sizes(5, 4), "min_size=5 must not exceed max_size=4"),
        (lambda: lcst.feature_sizes(1.5), "min_size"),
        (lambda: lcst.feature_sizes(True), "min_size"),
        (lambda: lcst.units(0), "max_units"),
        (lambda: lcst.units(3, min_units=4), "min_units"),
        (lambda: lcst.batch_shapes(min_rank=-1), "min_rank"),
        (lambda: lcst.batch_shapes(min_rank=2, max_rank=1), "min_rank"),
        (lambda: lcst.batch_shapes(min_side=0), "min_side"),
        (lambda: lcst.batch_shapes(min_side=9), "min_side"),
        (lambda: lcst.input_shapes(min_rank=0), "min_rank"),
        (lambda: lcst.input_shapes(min_rank=3, max_rank=2), "min_rank"),
        (lambda: lcst.input_shapes(feature_size=0), "feature_size"),
        (lambda: lcst.input_shapes(feature_size=5000), "feature_size"),
        (lambda: lcst.input_shapes(max_features=0), "max_features"),
        (lambda: lcst.input_shapes(max_batch_side=0), "max_batch_side"),
        (lambda: lcst.input_shapes(max_elements=0), "max_elements"),
        (lambda: lcst.finite_floats("int32"), "dtype"),
        (lambda: lcst.finite_floats("float32", max_magnitude=-1.0), "max_magnitude"),
        (lambda: lcst.finite_floats("float32", max_magnitude=math.inf), "max_magnitude"),
        (lambda: lcst.finite_floats("float32", max_magnitude=math.nan), "max_magnitude"),
        (lambda: lcst.finite_floats("float16", max_magnitude=1e-6), "max_magnitude"),
        (lambda: lcst.logits((2, -1)), r"shape\[1\]"),
        (lambda: lcst.logits("abc"), "shape"),
        (lambda: lcst.logits((2, 3), "complex64"), "dtype"),
        (lambda: lcst.logits((2, 3), max_magnitude=0), "max_magnitude"),
        (lambda: lcst.extreme_logits(()), "shape"),
        (lambda: lcst.temperatures(0.0), "min_temperature"),
        (lambda: lcst.temperatures(-1.0), "min_temperature"),
        (lambda: lcst.temperatures(1e-3, math.inf), "max_temperature"),
        (lambda: lcst.temperatures(2.0, 1.0), "min_temperature=2.0 must not exceed"),
        (lambda: lcst.kernels((3, 3), "int8"), "dtype"),
        (lambda: lcst.projection_weights(0, 3), "n"),
        (lambda: lcst.projection_weights(3, 0), "k"),
        (lambda: lcst.step_sequences(max_length=0), "max_length"),
        (lambda: lcst.step_sequences(batch_size=0), "batch_size"),
        (lambda: lcst.step_sequences(input_dim=0), "input_dim"),
        (lambda: lcst.step_sequences(max_batch=0), "max_batch"),
        (lambda: lcst.step_sequences(max_input_dim=0), "max_input_dim"),
        (lambda: lcst.bases(min_k=0), "min_k"),
        (lambda: lcst.bases(min_k=5, max_k=4), "min_k"),
        (lambda: lcst.bases(min_d=3, max_d=2), "min_d"),
        (lambda: lcst.bases(dtype="float16"), "dtype"),
        (lambda: lcst.generic_bases(max_d=0), "max_d"),
        (lambda: lcst.dtypes("TPU"), "device_type"),
    ],
)
def test_invalid_arguments_raise_eagerly(build, argument):
    with pytest.raises(ValueError, match=argument):
        build()


def test_invalid_argument_error_type():
    assert issubclass(lcst.InvalidStrategyArgument, ValueError)
    with pytest.raises(lcst.InvalidStrategyArgument):
        lcst.feature_sizes(-3)


def test_invalid_drawn_shape_is_reported():
    strategy = lcst.extreme_logits(st.just(()))
    with pytest.raises(ValueError, match="drawn shape"):
        find(strategy, lambda a: True, settings=QUIET)


def test_package_does_not_import_tensorflow():
    """Imported in a fresh interpreter, the strategies pull in neither TensorFlow nor Keras:
    a porter's own suite can draw the same examples without them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import layercheck.strategies\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "sys.exit(f'imported {bad}' if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
