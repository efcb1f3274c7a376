"""Error inputs many layers share, for their specs: each an :class:`~layercheck.spec.ErrorInput`.

``arguments(features)`` is how a spec makes constructor arguments for inputs of ``features``
features: ``(args, kwargs)``. The property that runs them is
``properties/test_argument_checks.py``: every error must be a ``ValueError`` or ``TypeError``
naming the argument, never a silent NaN or a shape error from deep inside TensorFlow.
"""

import numpy as np
from hypothesis import strategies as st

from layercheck.spec import BadCall, ErrorInput

#: Counts a constructor must refuse: not positive, or not an int (a bool is not one either).
BAD_COUNTS = st.one_of(st.integers(max_value=0), st.sampled_from([2.5, True, "3", None]))


def _make(adapter, arguments, features, **extra):
    args, kwargs = arguments(features)
    return adapter.make(*args, **{**kwargs, **extra})


def bad_count(argument, arguments):
    """``argument`` (a count: classes, units) that is not a positive int, given as the first
    positional argument of ``arguments(features)``."""

    def bad(count):
        def action(adapter):
            args, kwargs = arguments(3)
            adapter.make(count, *args[1:], **kwargs)

        return BadCall({argument: count}, action)

    return ErrorInput(
        id=f"{argument} not a positive int",
        description=f"{argument} that is not a positive int",
        strategy=BAD_COUNTS.map(bad),
        names=(argument,),
    )


def rank_one_at_build(arguments, max_features=8):
    """Rank-1 inputs: the layer works on rows of a batch, so building for ``(n,)`` is an error,
    not a computation over the batch."""

    def bad(features):
        return BadCall({"input shape": (features,)}, lambda adapter: adapter.build(_make(adapter, arguments, features), (features,)))

    return ErrorInput(
        id="rank-1 inputs at build",
        description="building for rank-1 inputs",
        strategy=st.integers(1, max_features).map(bad),
        names=("rank",),
    )


def rank_one_after_build(arguments, max_features=8):
    """After a call on ``(2, n)``, a call on ``(n,)`` is an error."""

    def bad(features):
        def action(adapter):
            layer = _make(adapter, arguments, features)
            adapter.call(layer, np.zeros((2, features), np.float32))
            adapter.call(layer, np.zeros((features,), np.float32))

        return BadCall({"input shape": (features,), "after": (2, features)}, action)

    return ErrorInput(
        id="rank-1 inputs after build",
        description="a rank-1 call after a call on a batch",
        strategy=st.integers(1, max_features).map(bad),
        names=("rank", "ndim", "shape"),
    )


def unknown_last_dimension(arguments, leading=((2,), (None,), (2, 3), (None, 3)), max_features=8):
    """The weights' shapes come from the last dimension: building without it is an error,
    whatever the rank (the check must look at the last axis, not the second)."""

    def bad(features, lead):
        shape = (*lead, None)
        return BadCall({"input shape": shape}, lambda adapter: adapter.build(_make(adapter, arguments, features), shape))

    return ErrorInput(
        id="unknown last dimension",
        description="building with an unknown last dimension",
        strategy=st.builds(bad, st.integers(1, max_features), st.sampled_from(leading)),
        names=("last dimension",),
        keras_only="a symbolic shape with an unknown last dimension is Keras's build API",
    )
