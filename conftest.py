"""Set up what must be in place before anything imports TensorFlow.

The pytest plugin (``layercheck.pytest_plugin``, registered as a ``pytest11`` entry point)
does the rest: devices, Hypothesis profiles, options. This file only makes the environment
right for a checkout that runs pytest without the plugin's entry point loaded.
"""

from layercheck import environment

environment.prepare()
