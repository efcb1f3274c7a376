"""Eager argument checks: a strategy is validated when it is built, not when drawn from."""

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st


class InvalidStrategyArgument(ValueError):
    """A strategy was built with an invalid argument; the message names it."""


def check_int(name: str, value: Any, *, min_value: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidStrategyArgument(f"{name}={value!r} must be an integer")
    value = operator.index(value)
    if min_value is not None and value < min_value:
        raise InvalidStrategyArgument(f"{name}={value!r} must be at least {min_value}")
    return value


def check_order(lo_name: str, lo: Any, hi_name: str, hi: Any) -> None:
    if lo > hi:
        raise InvalidStrategyArgument(
            f"{lo_name}={lo!r} must not exceed {hi_name}={hi!r}"
        )


def check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidStrategyArgument(f"{name}={value!r} must be a real number")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidStrategyArgument(f"{name}={value!r} must be finite and positive")
    return value


def check_shape(name: str, shape: Any, *, min_rank: int = 0) -> Any:
    """Validate a concrete shape (int or sequence of ints) or pass a strategy."""
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence) or isinstance(shape, str):
        raise InvalidStrategyArgument(
            f"{name}={shape!r} must be a tuple of ints or a strategy of them"
        )
    shape = tuple(check_int(f"{name}[{i}]", side, min_value=0) for i, side in enumerate(shape))
    if len(shape) < min_rank:
        raise InvalidStrategyArgument(f"{name}={shape!r} must have rank at least {min_rank}")
    return shape
