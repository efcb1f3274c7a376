"""A fourth layer, written for a test: ``GainedSwish``, its NumPy reference and its spec.

It exists to show that a layer gets the generic property battery from its spec and reference
alone (``tests/test_a_fourth_layer.py``), and that a broken copy of it is caught.
"""
