"""The production layers, registered with Keras under the package name ``layercheck``."""

from layercheck.layers.memory_cell import MemoryCellLayer
from layercheck.layers.nonnegative_projection import NonNegativeProjection
from layercheck.layers.temperature_softmax import TemperatureSoftmax

__all__ = ["MemoryCellLayer", "NonNegativeProjection", "TemperatureSoftmax"]
