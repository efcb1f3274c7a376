"""The layercheck specs of ``my_layers``: register them with
``--layercheck-spec=my_layers.specs:SPECS`` (or ``LAYERCHECK_SPECS``, or the package's
``layercheck.specs`` entry point)."""

from my_layers.channel_prelu_spec import SPEC as CHANNEL_PRELU
from my_layers.rms_norm_spec import SPEC as RMS_NORM
from my_layers.running_standardize_spec import SPEC as RUNNING_STANDARDIZE

SPECS = [CHANNEL_PRELU, RMS_NORM, RUNNING_STANDARDIZE]
