"""What the layer-specific property files share: calls with ``training=`` in every mode."""

import numpy as np

from layercheck import dtypes

MODES = ("eager", "function", "xla")


def call(layer, inputs, *, training=None, mode="eager"):
    """``layer(inputs, training=training)`` in ``mode``, as a float64 array, and the tensor's
    dtype name. A traced mode traces a fresh function (the layer is built already)."""
    import tensorflow as tf

    tensor = tf.convert_to_tensor(inputs)
    if mode == "eager":
        output = layer(tensor, training=training)
    else:
        output = tf.function(lambda x: layer(x, training=training), jit_compile=(mode == "xla"))(tensor)
    return np.asarray(dtypes.to_numpy(output), dtype=np.float64), dtypes.name_of(output.dtype)


def bits(array):
    """A copy to compare bit for bit."""
    return np.array(array, copy=True).view(np.uint8)
