"""Dtypes and scalar floats: which dtype a value must be representable in, and the dtypes
a device runs."""

from typing import Any

import numpy as np
from hypothesis import strategies as st

from layercheck import dtypes as policies

from ._numbers import MAX, magnitude_bound, scalar_floats
from ._validation import InvalidStrategyArgument


#: The dtype policies drawn on each device type: the gate's policies on both.
DTYPES_BY_DEVICE_TYPE: dict[str, tuple[str, ...]] = {
    "CPU": policies.GATE_POLICIES,
    "GPU": policies.GATE_POLICIES,
}

#: Dtypes values are drawn in (the compute dtypes), and the mixed policy names that mean one.
_COMPUTE_DTYPES = tuple(policies.LIMITS)
_MIXED_POLICIES = tuple(name for name in policies.POLICIES if name.startswith("mixed_"))


def compute_dtype(dtype: Any) -> str:
    """The dtype in which values for ``dtype`` must be representable.

    ``"mixed_float16"`` -> ``"float16"``, ``"mixed_bfloat16"`` -> ``"bfloat16"``;
    ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"`` map to
    themselves.  NumPy dtypes are accepted by name.  Anything else raises
    :class:`InvalidStrategyArgument`.
    """
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    if name is None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    if name not in _COMPUTE_DTYPES + _MIXED_POLICIES:
        raise InvalidStrategyArgument(f"dtype={dtype!r} must be one of {_COMPUTE_DTYPES + _MIXED_POLICIES}")
    return policies.policy(name).compute


def array_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of arrays generated for ``dtype``: float64 for
    ``"float64"``, float32 for everything else."""
    return np.dtype(np.float64 if compute_dtype(dtype) == "float64" else np.float32)


def finite_floats(
    dtype: Any = "float32", max_magnitude: float | None = None
) -> st.SearchStrategy[float]:
    """Python floats ``x`` with ``|x| <= max_magnitude``, exactly representable
    in ``compute_dtype(dtype)``: no NaN, no infinities, no subnormals (in that
    dtype).

    ``max_magnitude=None`` means the dtype's largest finite value; a larger
    bound is clipped to it, and a bound off the dtype's grid is rounded
    inwards.  Widths: float64 -> 64-bit, float32 -> 32-bit, float16 -> 16-bit;
    bfloat16 values are float32 draws truncated towards zero to 16 bits.
    Shrinks towards 0.0.
    """
    compute = compute_dtype(dtype)
    bound = (
        MAX[compute]
        if max_magnitude is None
        else magnitude_bound("max_magnitude", max_magnitude, compute)
    )
    return scalar_floats(compute, -bound, bound)


def dtypes(device_type: str = "CPU") -> st.SearchStrategy[str]:
    """Dtype / Keras dtype-policy names supported on ``device_type``
    (``"CPU"`` or ``"GPU"``, case-insensitive): sampled from
    ``DTYPES_BY_DEVICE_TYPE[device_type]``.  Shrinks towards ``"float32"``.
    """
    key = device_type.upper() if isinstance(device_type, str) else device_type
    if key not in DTYPES_BY_DEVICE_TYPE:
        raise InvalidStrategyArgument(
            f"device_type={device_type!r} must be one of {tuple(DTYPES_BY_DEVICE_TYPE)}"
        )
    return st.sampled_from(DTYPES_BY_DEVICE_TYPE[key])
