"""Reference for ``ChannelPReLU``: a parametric ReLU with one slope per channel (last axis).

Shapes: ``x`` (..., n); the trainable slope ``alpha`` (n,); ``y`` (..., n)::

    y = x           where x > 0
    y = alpha * x   where x <= 0

The kink is at ``x = 0``; ``y(0) = 0`` on both sides. Convention at exactly ``x = 0`` (the
negative branch, ``x <= 0``)::

    dy/dx     = 1 where x > 0, alpha where x <= 0     (so alpha at x == 0)
    dy/dalpha = 0 where x > 0, x     where x <= 0     (so 0 at x == 0)

VJP of ``L = sum(v * y)``::

    dL/dx     = v * where(x > 0, 1, alpha)
    dL/dalpha = sum over the leading axes of v * where(x > 0, 0, x)

Pure NumPy, float64.
"""

import numpy as np


def channel_prelu(inputs, alpha):
    x = np.asarray(inputs, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    return np.where(x > 0, x, a * x)


def channel_prelu_vjp(inputs, alpha, cotangent, positive=None):
    """``(dL/dx, dL/dalpha)``. ``positive``: which entries take the ``x > 0`` branch (by
    default ``x > 0``); a gradient model passes the layer's own decisions here."""
    x = np.asarray(inputs, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    v = np.asarray(cotangent, dtype=np.float64)
    positive = x > 0 if positive is None else np.asarray(positive, dtype=bool)
    d_inputs = v * np.where(positive, 1.0, a)
    d_alpha = np.where(positive, 0.0, v * x).reshape(-1, x.shape[-1]).sum(axis=0)
    return d_inputs, d_alpha
