"""The property suite: layercheck's gate.

Installed with layercheck as the package ``layercheck_properties``, so a project runs it against
its own registered layers with ``pytest --pyargs layercheck_properties`` (or, declaring its specs
in ``layercheck_specs``, with plain ``pytest``): see docs/checking-your-own-layer.md.
"""
