"""The one table of dtype-policy facts, and the array helpers that follow from it.

A Keras dtype policy names two dtypes: the *variable* dtype weights are stored in, and the
*compute* dtype inputs and weights are cast to inside the call. The gate runs every layer in
:data:`GATE_POLICIES`; the pure 16-bit policies appear where a property checks limits.
Imports NumPy only (bfloat16 through ``ml_dtypes``, which TensorFlow depends on).
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Policy:
    name: str
    variable: str
    compute: str


POLICIES = {
    "float32": Policy("float32", "float32", "float32"),
    "float64": Policy("float64", "float64", "float64"),
    "mixed_float16": Policy("mixed_float16", "float32", "float16"),
    "mixed_bfloat16": Policy("mixed_bfloat16", "float32", "bfloat16"),
    "float16": Policy("float16", "float16", "float16"),
    "bfloat16": Policy("bfloat16", "bfloat16", "bfloat16"),
}

#: The policies every forward property runs in (the tolerance table has one entry each).
GATE_POLICIES = ("float32", "float64", "mixed_float16", "mixed_bfloat16")

#: Smallest positive normal number and largest finite value of each floating dtype.
LIMITS = {
    "float16": (2.0**-14, 65504.0),
    "bfloat16": (2.0**-126, 3.3895313892515355e38),
    "float32": (2.0**-126, 3.4028234663852886e38),
    "float64": (2.0**-1022, 1.7976931348623157e308),
}


def policy(name):
    """The :class:`Policy` named ``name``; a ``ValueError`` names the known ones otherwise."""
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown dtype policy {name!r}; known: {', '.join(POLICIES)}") from None


def numpy_dtype(name):
    """The NumPy dtype named ``name`` (``"bfloat16"`` through ml_dtypes)."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def working_dtype(policy_name):
    """The NumPy dtype the harness hands a layer of ``policy_name`` and draws cotangents in:
    float64 for float64, float32 otherwise (a 16-bit layer casts its inputs itself)."""
    return np.dtype(np.float64 if policy_name == "float64" else np.float32)


def as_input(array, policy_name):
    return np.asarray(array, dtype=working_dtype(policy_name))


def as_seen(array, policy_name):
    """``array`` rounded as a layer of dtype policy ``policy_name`` sees it, as float64:
    stored in the variable dtype (float32 for the mixed policies), then cast to the compute
    dtype inside the call."""
    array = np.asarray(array)
    if policy_name == "float64":
        return array.astype(np.float64)
    rounded = array.astype(np.float32)
    compute = policy(policy_name).compute
    if compute != "float32":
        rounded = rounded.astype(numpy_dtype(compute))
    return rounded.astype(np.float64)


def held(policy_name):
    """The policy whose rounding a weight that is *not* autocast sees (it is used in the
    variable dtype): ``"float64"`` for float64, ``"float32"`` for the others."""
    return "float64" if policy_name == "float64" else "float32"


def to_numpy(value):
    """A NumPy copy of a tensor, variable or array; 16-bit floats widened to float32."""
    array = np.array(value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype.kind == "V" or array.dtype.name in ("bfloat16", "float16"):
        return array.astype(np.float32)
    return array


def rows(array):
    """``array`` as a 2-D array of its last-axis rows."""
    array = np.asarray(array)
    return array.reshape(-1, array.shape[-1])


def name_of(dtype):
    """``"float32"`` for a TensorFlow or Keras dtype, a dtype string, or a ``torch.float32``."""
    return str(getattr(dtype, "name", dtype)).removeprefix("torch.")
