"""Argument checks shared by the layers: each error names the argument and the value."""

import math
import numbers
import reprlib


def positive_int(name, value):
    """Return ``value`` if it is a positive integer (not a bool), else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def finite_real(name, value):
    """Return ``value`` as a float if it is a finite real number (not a bool), else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def input_shape_with_known_last_dim(layer, input_shape, *, min_rank, max_rank=None):
    """Check an input shape at build: its rank and a known last dimension.

    Returns the shape as a tuple. ``layer`` gives the layer's class and name for the message.
    """
    shape = tuple(input_shape)
    who = f"{type(layer).__name__} {layer.name!r}"
    rank_text = f"rank {min_rank}" if max_rank == min_rank else f"rank >= {min_rank}"  # pragma: no mutate (message wording only)
    if len(shape) < min_rank or (max_rank is not None and len(shape) > max_rank):
        raise ValueError(f"{who} expects inputs of {rank_text}, got input shape {shape}")
    if shape[-1] is None:
        raise ValueError(f"{who} needs a known last dimension of its inputs, got input shape {shape}")
    return shape


def short_repr(value, limit=80):
    """``repr(value)`` cut to ``limit`` characters, without building the whole repr of a large
    nested list first (``reprlib`` elides long lists and deep nesting as it goes): a basis can
    be millions of Python floats, and its full repr alone took minutes."""
    shortener = reprlib.Repr()
    shortener.maxlist = shortener.maxtuple = 6
    shortener.maxlevel = 3
    shortener.maxstring = shortener.maxother = limit
    text = shortener.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
