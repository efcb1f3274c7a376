"""The production layers' specs: the first entries of :mod:`layercheck.registry`."""

from layercheck.layers.memory_cell_spec import SPEC as MEMORY_CELL
from layercheck.layers.nonnegative_projection_spec import SPEC as NONNEGATIVE_PROJECTION
from layercheck.layers.temperature_softmax_spec import SPEC as TEMPERATURE_SOFTMAX

SPECS = (TEMPERATURE_SOFTMAX, NONNEGATIVE_PROJECTION, MEMORY_CELL)
