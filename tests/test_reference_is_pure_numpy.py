"""The references never import TensorFlow or Keras, directly or indirectly."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter: this test process may already have TensorFlow loaded.  The
# repository root comes first on sys.path, so it is this checkout's `reference` that is checked.
PROGRAM = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import reference
names = ["reference"] + [m.name for m in pkgutil.walk_packages(reference.__path__, "reference.")]
for name in names:
    importlib.import_module(name)
assert reference.__file__.startswith(sys.argv[1]), reference.__file__
print("\\n".join(names))
print("---")
print("\\n".join(sorted(sys.modules)))
"""


def test_importing_every_reference_module_loads_neither_tensorflow_nor_keras():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(REPO_ROOT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported, loaded = (part.split() for part in result.stdout.split("---"))
    assert {"reference.temperature_softmax", "reference.nonnegative_projection", "reference.memory_cell"} <= set(imported)
    assert "tensorflow" not in loaded and "keras" not in loaded
    offending = [m for m in loaded if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
    assert not offending, offending
