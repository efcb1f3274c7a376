"""Reference for ``TemperatureSoftmax``: a softmax over the last axis with a trainable temperature.

Layer: ``TemperatureSoftmax(num_classes, initial_temperature=1.0, min_temperature=1e-3)``.

Shapes
    inputs ``x``: ``(..., num_classes)``, rank >= 2.  temperature ``T``: a scalar.
    output: same shape as ``x``.

Forward
    T_eff = max(T, min_temperature)                      (the temperature floor)
    y     = softmax(x / T_eff, axis=-1)
    computed stably as  z = (x - max(x, axis=-1, keepdims=True)) / T_eff,
                        y = exp(z) / sum(exp(z), axis=-1, keepdims=True).
    Softmax is invariant to shifting a row by a constant, so the shift changes nothing
    mathematically; it keeps every ``z <= 0`` with one ``z == 0`` per row, so ``exp`` never
    overflows and the denominator is >= 1: rows are finite and sum to 1 for any finite logits
    (e.g. +-1e30) and any T down to the floor (as long as ``x - max(x)`` is representable).

The floor
    The production layer keeps its trainable ``T >= min_temperature`` with a constraint and
    also clamps in the forward pass, so the reference clamps too.  Tie convention at the floor:
    ``d T_eff / d T = 1`` when ``T >= min_temperature`` (including ``T == min_temperature``
    exactly: the gradient still flows to T there) and ``0`` when ``T < min_temperature``.

The smallest floor
    ``min_temperature`` must be a normal number of the layer's dtypes and, for the dtype the
    softmax is computed in (float64 for float64, float32 otherwise), at least
    ``sqrt(L / largest)``, with ``L = 2 * 149 * ln 2`` (float32) or ``2 * 1074 * ln 2``
    (float64), the depth below which ``z`` is clamped (``exp(-L)`` is 0). ``dL/dT`` divides by
    ``T**2``; an XLA-compiled gradient forms ``T * T``, which underflows below that floor, and an
    underflowed probability's gradient, 0, times inf is NaN. ``smallest_floor`` gives it:
    7.8e-19 in float32, 2.9e-153 in float64, 2**-14 for a pure float16 variable.

Ties among logits
    Softmax is symmetric: equal logits get exactly equal probabilities, at every temperature.
    There is no argmax-style tie breaking; as ``T_eff -> 0`` the mass is split equally among
    the maximal logits of a row.

Extremes
    T huge:       z -> 0, the output tends to uniform, 1 / num_classes.
    T at floor:   the output is near one-hot on each row's maximum (split among ties).

Gradients (vector-Jacobian products), with p = y, g the cotangent (same shape as x),
T meaning T_eff and sums over the last axis unless stated:
    dL/dx = p * (g - sum(g * p, keepdims=True)) / T
    dL/dT = -sum_{all elements}(dL/dx * x) / T * [T >= min_temperature]
    Derivation: with z = x / T, dL/dz = p * (g - sum(g * p)) and dz/dT = -x / T**2.
    Each row of dL/dz sums to zero, so x may be replaced by x - max(x) in dL/dT (done here:
    it keeps the product finite when the logits are huge).
"""

import numpy as np

MIN_TEMPERATURE = 1e-3


#: Smallest normal numbers, and the clamp depth L of each math dtype (see "The smallest floor").
SMALLEST_NORMAL = {"float16": 2.0**-14, "bfloat16": 2.0**-126, "float32": 2.0**-126, "float64": 2.0**-1022}
CLAMP_DEPTH = {"float32": 2 * 149 * np.log(2.0), "float64": 2 * 1074 * np.log(2.0)}


def smallest_floor(dtype):
    """The smallest ``min_temperature`` a layer accepts in a variable or math dtype."""
    if dtype not in CLAMP_DEPTH:
        return SMALLEST_NORMAL[dtype]
    return max(SMALLEST_NORMAL[dtype], float(np.sqrt(CLAMP_DEPTH[dtype] / np.finfo(dtype).max)))


def _check(inputs, temperature, min_temperature):
    if inputs.ndim < 2:
        raise ValueError(f"inputs must have rank >= 2 (..., num_classes), got shape {inputs.shape}")
    if temperature.ndim != 0:
        raise ValueError(f"temperature must be a scalar, got shape {temperature.shape}")
    if not (np.isfinite(min_temperature) and min_temperature > 0):
        raise ValueError(f"min_temperature must be positive and finite, got {min_temperature!r}")


def effective_temperature(temperature, min_temperature=MIN_TEMPERATURE):
    """T_eff = max(T, min_temperature), as a float64 scalar."""
    return np.maximum(np.asarray(temperature, dtype=np.float64), np.float64(min_temperature))


def temperature_softmax(inputs, temperature, min_temperature=MIN_TEMPERATURE):
    """softmax(inputs / max(temperature, min_temperature)) over the last axis; float64."""
    x = np.asarray(inputs, dtype=np.float64)
    t = np.asarray(temperature, dtype=np.float64)
    _check(x, t, min_temperature)
    z = (x - np.max(x, axis=-1, keepdims=True)) / effective_temperature(t, min_temperature)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def temperature_softmax_vjp(inputs, temperature, cotangent, min_temperature=MIN_TEMPERATURE):
    """Returns ``(d_inputs, d_temperature)``: the cotangent pulled back through the layer.

    ``d_inputs`` has the shape of ``inputs``; ``d_temperature`` is a float64 scalar, zero when
    ``temperature < min_temperature``.
    """
    x = np.asarray(inputs, dtype=np.float64)
    t = np.asarray(temperature, dtype=np.float64)
    g = np.asarray(cotangent, dtype=np.float64)
    _check(x, t, min_temperature)
    if g.shape != x.shape:
        raise ValueError(f"cotangent must have the shape of inputs {x.shape}, got shape {g.shape}")
    t_eff = effective_temperature(t, min_temperature)
    p = temperature_softmax(x, t, min_temperature)
    d_inputs = p * (g - np.sum(g * p, axis=-1, keepdims=True)) / t_eff
    shifted = x - np.max(x, axis=-1, keepdims=True)
    floor_mask = np.float64(t >= min_temperature)
    d_temperature = np.float64(-np.sum(d_inputs * shifted) / t_eff * floor_mask)
    return d_inputs, d_temperature
