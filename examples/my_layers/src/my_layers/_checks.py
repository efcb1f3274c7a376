"""Constructor-argument checks shared by the layers: every error names the argument and the value."""

import math
import numbers

import keras


def finite_real(name, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a finite{' positive' if positive else ''} real number, got {value!r}")
    return value


def initializer(name, value):
    """A Keras initializer from ``value`` (a name, a serialized config, an instance); None and
    what Keras cannot interpret are a ValueError naming ``name``."""
    if value is None or isinstance(value, bool):
        raise ValueError(f"{name} must be a Keras initializer (a name, a config or an instance), got {value!r}")
    try:
        found = keras.initializers.get(value)
    except (ValueError, TypeError, KeyError):
        found = None
    if found is None or not callable(found):
        text = repr(value)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise ValueError(f"{name} must be a Keras initializer (a name, a config or an instance), got {text}")
    return found


def short_shape(shape):
    return tuple(None if side is None else int(side) for side in shape)
