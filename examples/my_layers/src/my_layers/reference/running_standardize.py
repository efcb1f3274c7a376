"""Reference for ``RunningStandardize``: standardization with running statistics.

Shapes: ``x`` (..., n); the non-trainable ``moving_mean`` and ``moving_variance`` (n,); ``y``
(..., n). The statistics of a batch are over every axis but the last, with the BIASED
(population) variance, divided by the number of rows ``m``, not ``m - 1``::

    mean     = sum over rows of x / m
    variance = sum over rows of (x - mean)**2 / m

Inference (``training=False`` or ``None``): the moving statistics, nothing changes::

    y = (x - moving_mean) / sqrt(moving_variance + epsilon)

Training (``training=True``): the BATCH statistics normalize, and the moving statistics move
towards them (``momentum`` is the weight of the old value)::

    y               = (x - mean) / sqrt(variance + epsilon)
    moving_mean     <- momentum * moving_mean     + (1 - momentum) * mean
    moving_variance <- momentum * moving_variance + (1 - momentum) * variance

VJP of ``L = sum(v * y)`` in inference (the statistics are constants)::

    dL/dx = v / sqrt(moving_variance + epsilon)

and in training (through the batch statistics, ``s = sqrt(variance + epsilon)``, ``y`` the
output, sums over the rows)::

    dL/dx = (v - sum(v) / m - y * sum(v * y) / m) / s

Pure NumPy, float64.
"""

import numpy as np


def rows(x):
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, x.shape[-1])


def batch_moments(inputs):
    """``(mean, variance)`` over every axis but the last; the variance is the biased one."""
    x = rows(inputs)
    mean = x.sum(axis=0) / x.shape[0]
    variance = ((x - mean) ** 2).sum(axis=0) / x.shape[0]
    return mean, variance


def inference(inputs, moving_mean, moving_variance, epsilon):
    x = np.asarray(inputs, dtype=np.float64)
    return (x - np.asarray(moving_mean, np.float64)) / np.sqrt(np.asarray(moving_variance, np.float64) + float(epsilon))


def inference_vjp(inputs, moving_mean, moving_variance, epsilon, cotangent):
    v = np.asarray(cotangent, dtype=np.float64)
    return v / np.sqrt(np.asarray(moving_variance, np.float64) + float(epsilon))


def training(inputs, moving_mean, moving_variance, momentum, epsilon):
    """``(y, new moving_mean, new moving_variance)`` of one training call."""
    x = np.asarray(inputs, dtype=np.float64)
    mean, variance = batch_moments(x)
    y = (x - mean) / np.sqrt(variance + float(epsilon))
    momentum = float(momentum)
    new_mean = momentum * np.asarray(moving_mean, np.float64) + (1.0 - momentum) * mean
    new_variance = momentum * np.asarray(moving_variance, np.float64) + (1.0 - momentum) * variance
    return y, new_mean, new_variance


def training_vjp(inputs, epsilon, cotangent):
    x = rows(inputs)
    v = rows(cotangent)
    m = x.shape[0]
    mean, variance = batch_moments(x)
    s = np.sqrt(variance + float(epsilon))
    y = (x - mean) / s
    d = (v - v.sum(axis=0) / m - y * (v * y).sum(axis=0) / m) / s
    return d.reshape(np.shape(inputs))
