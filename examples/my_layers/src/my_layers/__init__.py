"""my_layers: three custom Keras layers gated by layercheck.

* :class:`~my_layers.channel_prelu.ChannelPReLU`: a per-channel parametric ReLU (a kink at 0);
* :class:`~my_layers.rms_norm.RMSNorm`: RMS normalization with a configurable axis, epsilon,
  center and initializers;
* :class:`~my_layers.running_standardize.RunningStandardize`: standardization by running
  statistics that only training updates.

Each has a NumPy reference in :mod:`my_layers.reference` and a layercheck spec
(``my_layers.<layer>_spec``); :data:`my_layers.specs.SPECS` lists the three specs.
"""

from my_layers.channel_prelu import ChannelPReLU
from my_layers.rms_norm import RMSNorm
from my_layers.running_standardize import RunningStandardize

__all__ = ["ChannelPReLU", "RMSNorm", "RunningStandardize"]
