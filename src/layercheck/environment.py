"""What must be set before TensorFlow is imported, and TensorFlow's quiet start.

:func:`prepare` is called by the root ``conftest.py`` and by the pytest plugin; it only sets
environment variables that the user has not set already. :func:`start_tensorflow` imports
TensorFlow and finds its devices with the start-up lines that TensorFlow's C++ runtime writes
straight to file descriptor 2 (absl's "All log messages before absl::InitializeLog()", oneDNN,
"failed call to cuInit" on a machine without a GPU...) held back: a correctness gate that
opens with ``E0000 ... CUDA error`` alarms its readers for nothing. Any other line TensorFlow
writes then is passed through; ``show=True`` (the plugin's ``--layercheck-tf-log``, ``-vv``,
or ``LAYERCHECK_TF_LOG=1``) passes everything.
"""

import contextlib
import logging
import os
import re
import sys
import tempfile

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


#: Set to 1 to see TensorFlow's start-up log (as ``--layercheck-tf-log``).
TF_LOG_ENV = "LAYERCHECK_TF_LOG"

#: Lines of TensorFlow's start-up that say nothing about the layers under test.
STARTUP_NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            r"oneDNN custom operations are on",
            r"Could not find cuda drivers on your machine",
            r"failed call to cuInit",
            r"This TensorFlow binary is optimized to use available CPU instructions",
            r"To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation placer already registered",
            r"TF-TRT Warning: Could not find TensorRT",
        ]
    )
)

#: TensorFlow's Python warning when a ``tf.function`` retraces often: the harness traces a fresh
#: function per example on purpose (and checks retracing itself, in the retracing property).
RETRACING_WARNING = re.compile(r"triggered tf\.function retracing")

_started = False


def tf_log_requested():
    return os.environ.get(TF_LOG_ENV, "").lower() not in ("", "0", "false", "no")


def start_tensorflow(show=False):
    """Import TensorFlow and list its physical devices (where CUDA is probed), with the
    start-up noise held back unless ``show``; filter the retracing warning from TensorFlow's
    logger. Idempotent."""
    global _started
    if _started:
        return
    _started = True
    show = show or tf_log_requested()
    with _start_up_lines_held_back(enabled=not show):
        import tensorflow as tf

        tf.config.list_physical_devices()
    if not show:
        tf.get_logger().addFilter(_DropRetracingWarning())


class _DropRetracingWarning(logging.Filter):
    def filter(self, record):
        return not RETRACING_WARNING.search(record.getMessage())


@contextlib.contextmanager
def _start_up_lines_held_back(enabled=True):
    """Send file descriptor 2 to a temporary file while the body runs, then write back every
    line that is not :data:`STARTUP_NOISE`."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not STARTUP_NOISE.search(line)]
            if kept:
                os.write(2, ("\n".join(kept) + "\n").encode())
