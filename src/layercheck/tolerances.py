"""The tolerance table: one entry per dtype, for forward values and for gradients.

A comparison passes where, elementwise,

    |actual - expected| <= atol * scale + rtol * |expected|

``expected`` comes from the float64 reference evaluated on the very values the layer saw
(inputs and weights rounded to the compute dtype), so a tolerance only has to cover the
rounding inside the layer's own computation. ``scale`` is 1 for bounded outputs (probabilities,
tanh). For sums of products it is the same sum over absolute values
(``|x| @ |W|``...): the rounding error of a dot product is bounded by eps times that sum
(Higham, *Accuracy and Stability of Numerical Algorithms*, 3.1), and without it a purely
relative test fails wherever terms cancel.

Every entry is here, in one place, with its reason. A property that needs another tolerance
for every layer adds an entry to :data:`PROPERTY_OVERRIDES`, keyed by (property, dtype); one
layer's exception goes into its spec (``LayerSpec.tolerance_overrides``), scoped to a property,
a device and a dtype, with its reason.
"""

import dataclasses

from layercheck import dtypes


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str


#: Forward comparisons against the float64 reference, by dtype policy name.
FORWARD = {
    "float64": Tolerance(
        rtol=1e-12,
        atol=1e-13,
        reason="float64 rounding (eps 2.2e-16) over at most a few hundred terms",
    ),
    "float32": Tolerance(
        rtol=1e-5,
        atol=1e-6,
        reason="float32 rounding (eps 1.2e-7) over at most a few hundred terms, with headroom "
        "for oneDNN's and XLA's summation orders",
    ),
    "mixed_float16": Tolerance(
        rtol=1e-2,
        atol=4e-3,
        reason="float16 compute (eps 9.8e-4): inputs and weights are rounded before the call, "
        "then each intermediate (matmul, shift, exp, sum, divide) rounds again",
    ),
    "mixed_bfloat16": Tolerance(
        rtol=6e-2,
        atol=3e-2,
        reason="bfloat16 compute (eps 7.8e-3, 8 mantissa bits): several roundings in a row",
    ),
}

#: Gradient comparisons (tape against reference VJP), by dtype policy name.
GRADIENT = {
    "float64": Tolerance(rtol=1e-10, atol=1e-12, reason="float64 rounding through a backward pass"),
    "float32": Tolerance(
        rtol=1e-4,
        atol=1e-5,
        reason="the backward pass compounds float32 rounding of the forward one (JAX uses 2e-3)",
    ),
    "mixed_float16": Tolerance(rtol=5e-2, atol=1e-2, reason="float16 forward and backward"),
    "mixed_bfloat16": Tolerance(rtol=2e-1, atol=5e-2, reason="bfloat16 forward and backward"),
}

# -- finite differences in float64 (layercheck.finite_differences) -------------------------------
# The float64 gradient tolerance above covers rounding in a backward pass; a difference quotient
# also carries truncation error and rounding amplified by 1 / step. layercheck.finite_differences
# scales every direction so that a unit step moves the layer's inner variable by at most 1, and
# compares with ``scale`` = sum |v| * the outputs' float64 error scale
# (GradientModel.difference_scale). Measured over 300 examples per production layer: the
# directional check errs by at most 1.4e-12 of that scale, the full Jacobian by 4e-11.

#: (property, dtype) -> Tolerance: properties whose comparison is not the table's, for every
#: layer. A layer's own overrides (scoped to a property, a device and a dtype, each with its
#: reason) live in its spec (``LayerSpec.tolerance_overrides``) and win over these.
PROPERTY_OVERRIDES = {
    ("the directional derivative equals central differences", "float64"): Tolerance(
        rtol=1e-8,
        atol=1e-10,
        reason="4-point central differences, step 1e-4 of the inner variable's scale: truncation "
        "~h**4/30 * f^(5) ~ 1e-15 and rounding ~1.5 / h * eps ~ 3e-12 of the outputs' error scale "
        "(measured: at most 1.4e-12); a wrong gradient errs by a fraction of the derivative itself",
    ),
    ("the full Jacobian equals tf.test.compute_gradient's numerical Jacobian", "float64"): Tolerance(
        rtol=1e-7,
        atol=1e-8,
        reason="tf.test.compute_gradient's 2-point central differences, element steps of 1e-5 of the "
        "inner variable's scale: truncation ~d**2/6 * f''' ~ 2e-11 and rounding ~eps / d ~ 2e-11 "
        "(measured: at most 4e-11) of the outputs' error scale times the step's rate",
    ),
    ("rows wider than 256 features equal the reference", "float32"): Tolerance(
        rtol=1e-5,
        atol=6.2e-5,
        reason="rows of 257 to 1024 features: the table's float32 entry is sized for a few hundred terms, "
        "and recursive summation errs by up to (n - 1) u sum |terms| (Higham 3.1; u = 2**-24, 6.1e-5 of "
        "the error scale at n = 1024). Measured 1.1e-5 of the scale at n = 766 (PyTorch's CPU matmul, "
        "766 equal same-sign terms: the port under examples/ports) and 1.8e-6 at n = 333 (its "
        "memory cell); the shape defects this property is for err by O(1)",
    ),
    ("one-sided differences at a one-sided kink", "float64"): Tolerance(
        rtol=1e-7,
        atol=1e-8,
        reason="4-point forward differences at a floor (the function is flat to the left), step 1e-4 of "
        "the argument's scale: truncation ~h**3/4 * f'''' ~ 3e-13 and rounding ~(40 / 6) / h * eps ~ "
        "1.5e-11 of sum |v| times the inner variable's rate",
    ),
}

#: The numpy dtype a policy computes in (from the one table of policies).
COMPUTE_DTYPES = {name: dtypes.POLICIES[name].compute for name in dtypes.GATE_POLICIES}


def forward(dtype, spec=None, prop=None, device=None):
    """The forward tolerance of ``prop`` for ``dtype`` (a policy name) on ``device``: the
    layer's own override (``spec``: a :class:`~layercheck.spec.LayerSpec` or its name), else
    :data:`PROPERTY_OVERRIDES`, else :data:`FORWARD`."""
    return _lookup(FORWARD, dtype, spec, prop, device)


def gradient(dtype, spec=None, prop=None, device=None):
    """The gradient tolerance, looked up as :func:`forward` does, else :data:`GRADIENT`."""
    return _lookup(GRADIENT, dtype, spec, prop, device)


def _lookup(table, dtype, spec, prop, device):
    if isinstance(spec, str):
        from layercheck import registry

        spec = registry.get(spec)
    if spec is not None and prop is not None:
        override = spec.tolerance_override(prop, device, dtype)
        if override is not None:
            return override.tolerance
    override = PROPERTY_OVERRIDES.get((prop, dtype))
    if override is not None:
        return override
    try:
        return table[dtype]
    except KeyError:
        raise ValueError(f"no tolerance for dtype {dtype!r}; known: {sorted(table)}") from None
