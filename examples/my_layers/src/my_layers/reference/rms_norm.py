"""Reference for ``RMSNorm``: root-mean-square normalization over ``axes``.

Shapes: ``x`` of rank R; ``axes`` a tuple of distinct non-negative axes (none of them 0, the
batch axis); the trainable ``scale`` and, with ``center``, ``bias`` have the shape of ``x``
along ``axes`` (in increasing axis order) and broadcast over the other axes. With ``N`` the
number of elements of ``x`` along ``axes``::

    ms = sum over axes of x**2 / N                  (kept as a broadcastable axis)
    r  = sqrt(ms + epsilon)
    y  = x / r * scale (+ bias)

VJP of ``L = sum(v * y)``, with ``g = v * scale``::

    dL/dx     = g / r - x * (sum over axes of g * x) / (N * r**3)
    dL/dscale = sum over the other axes of v * x / r
    dL/dbias  = sum over the other axes of v

Pure NumPy, float64.
"""

import numpy as np


def normalize_axes(axis, rank):
    """``axis`` (an int or a sequence of ints, negative from the end) as sorted non-negative axes."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % rank for a in axes))


def broadcast_shape(shape, axes):
    """The shape ``scale`` and ``bias`` are reshaped to: their sides along ``axes``, 1 elsewhere."""
    return tuple(side if index in axes else 1 for index, side in enumerate(shape))


def param_shape(shape, axes):
    return tuple(shape[a] for a in axes)


def _params(x, axes, scale, bias):
    shape = broadcast_shape(x.shape, axes)
    s = np.asarray(scale, dtype=np.float64).reshape(shape)
    b = None if bias is None else np.asarray(bias, dtype=np.float64).reshape(shape)
    return s, b


def rms(x, axes, epsilon):
    x = np.asarray(x, dtype=np.float64)
    count = int(np.prod([x.shape[a] for a in axes]))
    return np.sqrt(np.sum(x * x, axis=axes, keepdims=True) / count + float(epsilon))


def rms_norm(inputs, axes, epsilon, scale, bias=None):
    x = np.asarray(inputs, dtype=np.float64)
    s, b = _params(x, axes, scale, bias)
    y = x / rms(x, axes, epsilon) * s
    return y if b is None else y + b


def rms_norm_vjp(inputs, axes, epsilon, scale, cotangent, bias=None):
    """``{"inputs": dL/dx, "scale": dL/dscale, "bias": dL/dbias (only with a bias)}``."""
    x = np.asarray(inputs, dtype=np.float64)
    v = np.asarray(cotangent, dtype=np.float64)
    s, _ = _params(x, axes, scale, None)
    r = rms(x, axes, epsilon)
    count = int(np.prod([x.shape[a] for a in axes]))
    g = v * s
    others = tuple(a for a in range(x.ndim) if a not in axes)
    result = {
        "inputs": g / r - x * np.sum(g * x, axis=axes, keepdims=True) / (count * r**3),
        "scale": np.sum(v * x / r, axis=others).reshape(param_shape(x.shape, axes)),
    }
    if bias is not None:
        result["bias"] = np.sum(v, axis=others).reshape(param_shape(x.shape, axes))
    return result
