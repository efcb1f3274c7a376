"""What must be set before TensorFlow is imported. Imports nothing heavy.

:func:`prepare` is called by the root ``conftest.py`` and by the pytest plugin; it only sets
environment variables that the user has not set already.
"""

import os

#: Defaults applied by :func:`prepare`, each with the reason it is there.
DEFAULTS = {
    # The harness targets Keras 3 on TensorFlow; another backend would test something else.
    "KERAS_BACKEND": "tensorflow",
    # Keep TF's C++ start-up chatter out of test reports; errors still show.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # Several xdist workers share one GPU: without growth the first grabs all its memory.
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",
}


def prepare():
    """Apply :data:`DEFAULTS` where unset. Returns the names it set."""
    applied = []
    for name, value in DEFAULTS.items():
        if name not in os.environ:
            os.environ[name] = value
            applied.append(name)
    return applied
