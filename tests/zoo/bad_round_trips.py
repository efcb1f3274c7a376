"""Known-bad layers for the round-trip properties: each loses or alters something on its way
through a config, a file or a load. Each subclasses a production layer and breaks one thing,
so the production layer run through the same check is the control.

Config:

* ``DroppedMinTemperatureSoftmax``: ``get_config`` drops ``min_temperature``, so a restored
  layer has the default floor of 1e-3 instead of the one it was given.
* ``DroppedInitialTemperatureSoftmax``: ``get_config`` drops ``initial_temperature``, so an
  unbuilt layer restored from its config starts at T = 1.
* ``NumpyScalarSoftmax``: ``get_config`` returns NumPy float32 scalars, which ``json.dumps``
  refuses: the config is not plain JSON.
* ``SixDigitBasisProjection``: ``get_config`` writes the basis rounded to 6 significant digits
  (``f"{x:.6g}"``, a common way to "tidy" a config); float32 needs 9.
* ``Float16BasisProjection``: ``get_config`` writes the basis through float16.

State lost or altered through a save and a load (the documented decision: the memory cell's
state does not travel, and a loaded layer starts from zeros; its weights do travel):

* ``PersistentStateMemoryCell``: writes the state into ``.keras`` and weights files beside the
  kernels and restores it on load, so a loaded model continues the saved sequence instead of
  starting from zeros.
* ``ReinitialisingMemoryCell``: ignores the stored variables on load, so the kernels keep the
  values they were initialised with.
* ``ForgetfulProjection``: loads the basis but not ``projection_weights``.
"""

import keras
import numpy as np
import tensorflow as tf

from layercheck.layers import MemoryCellLayer, NonNegativeProjection, TemperatureSoftmax


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class DroppedMinTemperatureSoftmax(TemperatureSoftmax):
    """Bug: ``get_config`` drops ``min_temperature``."""

    def get_config(self):
        config = super().get_config()
        del config["min_temperature"]
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class DroppedInitialTemperatureSoftmax(TemperatureSoftmax):
    """Bug: ``get_config`` drops ``initial_temperature``."""

    def get_config(self):
        config = super().get_config()
        del config["initial_temperature"]
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class NumpyScalarSoftmax(TemperatureSoftmax):
    """Bug: ``get_config`` holds NumPy float32 scalars (not plain JSON)."""

    def get_config(self):
        config = super().get_config()
        config["initial_temperature"] = np.float32(config["initial_temperature"])
        config["min_temperature"] = np.float32(config["min_temperature"])
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class SixDigitBasisProjection(NonNegativeProjection):
    """Bug: ``get_config`` rounds the basis to 6 significant digits."""

    def get_config(self):
        config = super().get_config()
        config["basis_vectors"] = [[float(f"{value:.6g}") for value in row] for row in config["basis_vectors"]]
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class Float16BasisProjection(NonNegativeProjection):
    """Bug: ``get_config`` rounds the basis through float16."""

    def get_config(self):
        config = super().get_config()
        config["basis_vectors"] = np.asarray(config["basis_vectors"]).astype(np.float16).astype(np.float64).tolist()
        return config


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class PersistentStateMemoryCell(MemoryCellLayer):
    """Bug: the state travels through ``.keras`` and weights files (stored as a third entry)."""

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.state is not None:
            store["state"] = self.state.numpy()

    def load_own_variables(self, store):
        self.kernel.assign(store["0"])
        self.recurrent_kernel.assign(store["1"])
        if "state" in list(store.keys()):
            saved = np.asarray(store["state"])
            self.reset_state(batch_size=saved.shape[0])
            self.state.assign(tf.constant(saved, self.state.dtype))


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class ReinitialisingMemoryCell(MemoryCellLayer):
    """Bug: loading ignores the stored kernels; the layer keeps its initial ones."""

    def load_own_variables(self, store):
        del store  # the bug


@keras.saving.register_keras_serializable(package="layercheck_zoo")
class ForgetfulProjection(NonNegativeProjection):
    """Bug: loading restores the basis but not ``projection_weights``."""

    def load_own_variables(self, store):
        self.basis_vectors.assign(store["1"])
