"""Hypothesis strategies for layer properties: small, composable, and validated eagerly.

Built on :mod:`hypothesis.strategies` and :mod:`hypothesis.extra.numpy`. Every public function
checks its arguments when the strategy is *built* (not when drawn from) and raises
:class:`InvalidStrategyArgument` (a :class:`ValueError`) whose message names the argument and
the value. Nothing here imports TensorFlow; dtypes are named by strings.

One module per concept:

* :mod:`~layercheck.strategies.sizes`: ``feature_sizes``, ``units``, ``batch_shapes``,
  ``input_shapes``, ``seeds``;
* :mod:`~layercheck.strategies.floats`: ``compute_dtype``, ``array_dtype``, ``finite_floats``,
  ``dtypes`` and ``DTYPES_BY_DEVICE_TYPE``;
* :mod:`~layercheck.strategies.logits`: ``logits``, ``extreme_logits`` (a separate, labelled
  family), ``temperatures``;
* :mod:`~layercheck.strategies.weights`: ``kernels``, ``projection_weights``,
  ``initializer_configs``;
* :mod:`~layercheck.strategies.sequences`: ``step_sequences`` (one input per call, for a layer
  that keeps a state across calls);
* :mod:`~layercheck.strategies.bases`: ``bases`` and its labelled families.

Dtypes
------
Value strategies take ``dtype`` as ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``
or a Keras mixed policy name (``"mixed_float16"`` / ``"mixed_bfloat16"`` mean their *compute*
dtype, since that is what a layer casts its inputs to); the facts come from the one table in
:mod:`layercheck.dtypes`. ``"float64"`` values come as float64 arrays; every other dtype as
float32 arrays whose values are **exactly representable in the named dtype**, so casting them
does not round: float16 values are drawn as float16 and widened, bfloat16 values are float32
draws truncated to their top 16 bits (towards zero, so bounds are never exceeded).

Bounds and why
--------------
* **No NaN, no infinities, no subnormals** (judged in the named dtype: float16 subnormals lie
  below 6.1e-5). TensorFlow runs its kernels with flush-to-zero, so a subnormal input would make
  a NumPy reference and the layer disagree for reasons unrelated to the layer.
* **Magnitudes are capped**: ``logits`` at 30 (``exp(30) ~ 1e13``: float32 softmax sums cannot
  overflow even without max-subtraction), ``kernels`` / ``projection_weights`` at 2,
  ``step_sequences`` at 3, basis entries at 4 (each family states its bound).
  ``extreme_logits`` is the separate, labelled family that goes to the largest finite value of
  the dtype (``EXTREME_LOGIT_MAGNITUDE``).
* **Sizes are capped** so one example is cheap: ``input_shapes`` at ``max_elements=4096``,
  ``step_sequences`` at 8 x 8 x 64 = 4096, the small basis families at 16 x 16, ``large_bases``
  at ``max_k x max_d`` (256 x 256 by default), generated in one vectorised NumPy call.

Strategies that would need more than 256 Hypothesis draws for one array (and the
ill-conditioned and large bases) draw a seed and fill the array from a seeded NumPy generator:
such examples replay exactly but shrink only as far as the seed and the sizes do, the price of
keeping large examples cheap.
"""

from ._validation import InvalidStrategyArgument
from .bases import (
    BASIS_FAMILIES,
    LARGE_BASIS_MIN_SIDE,
    bases,
    bases_with_duplicate_rows,
    bases_with_zero_rows,
    generic_bases,
    ill_conditioned_bases,
    large_bases,
    rank_deficient_bases,
    square_bases,
)
from .floats import DTYPES_BY_DEVICE_TYPE, array_dtype, compute_dtype, dtypes, finite_floats
from .logits import EXTREME_LOGIT_FAMILIES, EXTREME_LOGIT_MAGNITUDE, extreme_logits, logits, temperatures
from .sequences import step_sequences
from .sizes import MAX_INPUT_ELEMENTS, batch_shapes, feature_sizes, input_shapes, seeds, units
from .weights import INITIALIZER_CLASSES, initializer_configs, kernels, projection_weights

__all__ = [
    "BASIS_FAMILIES",
    "DTYPES_BY_DEVICE_TYPE",
    "EXTREME_LOGIT_FAMILIES",
    "EXTREME_LOGIT_MAGNITUDE",
    "INITIALIZER_CLASSES",
    "InvalidStrategyArgument",
    "LARGE_BASIS_MIN_SIDE",
    "MAX_INPUT_ELEMENTS",
    "array_dtype",
    "bases",
    "bases_with_duplicate_rows",
    "bases_with_zero_rows",
    "batch_shapes",
    "compute_dtype",
    "dtypes",
    "extreme_logits",
    "feature_sizes",
    "finite_floats",
    "generic_bases",
    "ill_conditioned_bases",
    "initializer_configs",
    "input_shapes",
    "kernels",
    "large_bases",
    "logits",
    "projection_weights",
    "rank_deficient_bases",
    "seeds",
    "square_bases",
    "step_sequences",
    "temperatures",
    "units",
]
