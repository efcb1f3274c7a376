"""Strategies the three specs share (on top of ``layercheck.strategies``)."""

import numpy as np
from hypothesis import strategies as st

from layercheck import strategies as lcst


def initializers_of_vectors():
    """``lcst.initializer_configs()`` without ``Orthogonal``, which refuses 1-D shapes (every
    weight here is a vector for a single axis)."""
    return lcst.initializer_configs().filter(lambda config: config["class_name"] != "Orthogonal")


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
