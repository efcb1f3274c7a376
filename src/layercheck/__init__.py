"""layercheck: a property-based verification harness for custom Keras layers.

The production layers live in :mod:`layercheck.layers`; the NumPy references they are
checked against live in the top-level :mod:`reference` package.
"""

__version__ = "0.1.0"
