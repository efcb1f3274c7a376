"""Strategies the three specs share (on top of ``layercheck.strategies``)."""

import numpy as np
from hypothesis import strategies as st

from layercheck import strategies as lcst


def initializers_of_vectors():
    """Initializers of the weights here, all vectors over a single axis (``Orthogonal``, which
    refuses them, left out)."""
    return lcst.initializer_configs(min_rank=1)


def log_uniform(low_exponent, high_exponent):
    """Python floats ``10**e``, ``e`` uniform in the range, rounded to float32 (so the value the
    layer holds in a float32 computation is the value a config stores)."""
    return st.floats(low_exponent, high_exponent, allow_nan=False).map(lambda e: float(np.float32(10.0**e)))


@st.composite
def valued_inputs(draw, shape, families):
    """Inputs of ``shape`` from one of ``families`` ({label: max magnitude}), labelled."""
    family = draw(st.sampled_from(sorted(families)), label="input family")
    lcst_event(f"inputs: {family}")
    return draw(lcst.logits(shape, max_magnitude=families[family]))


def lcst_event(text):
    from layercheck.gradients import event

    event(text)
