"""A PyTorch port of layercheck's three layers, checked by the same gate (see README.md)."""

from torch_port.layers import MemoryCellLayer, NonNegativeProjection, TemperatureSoftmax

__all__ = ["MemoryCellLayer", "NonNegativeProjection", "TemperatureSoftmax"]
