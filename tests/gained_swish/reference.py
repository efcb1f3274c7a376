"""Reference for ``GainedSwish``: ``y = g * x * sigmoid(x)`` over the last axis.

Shapes: ``x`` (..., n); the trainable gain ``g`` (n,); ``y`` (..., n).

VJP of ``L = sum(v * y)``::

    dL/dx = v * g * (s + x * s * (1 - s)),     s = sigmoid(x)
    dL/dg = sum over the leading axes of v * x * s

Pure NumPy, float64.
"""

import numpy as np


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow of exp(-x) for large |x|


def gained_swish(inputs, gain):
    x = np.asarray(inputs, dtype=np.float64)
    return np.asarray(gain, dtype=np.float64) * x * sigmoid(x)


def gained_swish_vjp(inputs, gain, cotangent):
    x = np.asarray(inputs, dtype=np.float64)
    g = np.asarray(gain, dtype=np.float64)
    v = np.asarray(cotangent, dtype=np.float64)
    s = sigmoid(x)
    d_inputs = v * g * (s + x * s * (1.0 - s))
    d_gain = (v * x * s).reshape(-1, x.shape[-1]).sum(axis=0)
    return d_inputs, d_gain
