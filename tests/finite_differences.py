"""Directional central differences in float64, shared by the reference tests.

The check compares ``v . (J u)`` from a VJP (``sum(grad * u)``) with a central difference of
``f`` along ``u``: two evaluations of ``f`` whatever the size of ``x``.
"""

import numpy as np
from hypothesis import strategies as st

TINY = np.finfo(np.float64).tiny


def floats(lo, hi):
    """Finite float64 values in [lo, hi], no subnormals."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def unit_direction(u):
    """``u`` scaled so that max |u| = 1 (all ones if ``u`` is zero)."""
    size = np.max(np.abs(u))
    return u / size if size > 0 else np.ones_like(u)


def relative_step(x):
    """A step of 1e-6 relative to the size of ``x`` (at least 1e-6)."""
    return 1e-6 * max(1.0, float(np.max(np.abs(x))))


def check_directional_derivative(f, x, u, h, v, grad, noise, rtol):
    """Assert ``v . (J u)``, as ``sum(grad * u)``, equals a central difference of ``f``.

    ``noise`` bounds the rounding error of one evaluation of ``f``, elementwise; ``rtol`` covers
    the truncation error of the difference (the caller states why its value fits). The
    direction actually realised in float64, ``((x + h u) - (x - h u)) / 2h``, replaces ``u`` on
    the VJP side, so rounding ``x + h u`` does not count against the check.
    """
    plus, minus = x + h * u, x - h * u
    realised = (plus - minus) / (2 * h)
    f_plus, f_minus = f(plus), f(minus)
    fd = np.sum(v * (f_plus - f_minus)) / (2 * h)
    exact = np.sum(grad * realised)
    magnitude = np.sum(np.abs(v * (f_plus - f_minus))) / (2 * h) + np.sum(np.abs(grad * realised))
    rounding = np.sum(np.abs(v) * noise) / h
    # TINY: tiny cotangents make products underflow to subnormals, exact only to ~1e-323.
    assert abs(fd - exact) <= rtol * magnitude + rounding + TINY, (fd, exact, magnitude, rounding)
