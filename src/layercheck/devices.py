"""TensorFlow's logical devices, as the harness runs properties on them.

:func:`configure` must run before TensorFlow initialises its runtime (the first op, or the
first device listing that initialises it): logical-device splits and memory growth cannot be
changed afterwards. The pytest plugin calls it once per process, in ``pytest_configure``, with
the same arguments on every xdist worker, so collection is identical everywhere.

* No GPU: the CPU is split into ``cpu_devices`` logical devices (2 by default), so the
  multi-device properties and ``MirroredStrategy`` run on an ordinary CI machine.
* GPUs: they join the CPUs; memory growth is on (several workers share a GPU) and TF32 is off
  (with it, float32 matmuls keep 10 mantissa bits and no float32 tolerance holds).
"""

import dataclasses
import os
import warnings

#: Environment variable restricting the devices, e.g. ``CPU:0,GPU:0``; same as the option.
DEVICES_ENV = "LAYERCHECK_DEVICES"
#: Environment variable setting how many logical CPUs to split the CPU into.
CPU_DEVICES_ENV = "LAYERCHECK_CPU_DEVICES"
DEFAULT_CPU_DEVICES = 2


@dataclasses.dataclass(frozen=True)
class Device:
    """A logical device: ``name`` as in test ids (``CPU:0``) and ``tf_name`` for ``tf.device``."""

    name: str
    device_type: str

    @property
    def tf_name(self):
        return f"/device:{self.name}"

    def __str__(self):
        return self.name


_configured = None


def configure(cpu_devices=None, selection=None):
    """Set up TF's devices (once per process) and return the selected :class:`Device` list.

    Args:
        cpu_devices: how many logical CPUs to create when there is no GPU. ``None`` reads
            ``LAYERCHECK_CPU_DEVICES`` or uses 2.
        selection: device names to keep (``["CPU:0", "GPU:0"]``), or a comma-separated
            string. ``None`` reads ``LAYERCHECK_DEVICES`` or keeps all. Unknown names raise.
    """
    global _configured
    if _configured is None:
        _configured = _set_up_tensorflow(_cpu_device_count(cpu_devices))
    return _select(_configured, selection if selection is not None else os.environ.get(DEVICES_ENV))


def _cpu_device_count(cpu_devices):
    raw = cpu_devices if cpu_devices is not None else os.environ.get(CPU_DEVICES_ENV, DEFAULT_CPU_DEVICES)
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{CPU_DEVICES_ENV} / cpu_devices must be a positive int, got {raw!r}") from None
    if count < 1:
        raise ValueError(f"{CPU_DEVICES_ENV} / cpu_devices must be a positive int, got {raw!r}")
    return count


def _set_up_tensorflow(cpu_devices):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    try:
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
        if not gpus and cpu_devices > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)]
            )
    except RuntimeError as error:
        # Something initialised TF before the harness could: run on what it has.
        warnings.warn(
            f"layercheck could not configure TensorFlow's devices ({error}); running on the "
            "devices TensorFlow already has. Import the layercheck plugin before TensorFlow.",
            RuntimeWarning,
            stacklevel=2,
        )
    tf.config.experimental.enable_tensor_float_32_execution(False)
    devices = []
    for logical in tf.config.list_logical_devices():
        if logical.device_type not in ("CPU", "GPU"):
            continue
        devices.append(Device(name=logical.name.replace("/device:", ""), device_type=logical.device_type))
    return tuple(devices)


def _select(devices, selection):
    if selection is None or selection == "":
        return list(devices)
    wanted = [name.strip() for name in selection.split(",")] if isinstance(selection, str) else list(selection)
    known = {device.name: device for device in devices}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"unknown device(s) {unknown} in the device selection {selection!r}; "
            f"this machine has {sorted(known)}"
        )
    return [known[name] for name in wanted]


def on(device):
    """``tf.device(device)`` for a :class:`Device`; no placement at all for ``None``."""
    import contextlib

    if device is None:
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device.tf_name)


def name_of(device):
    """A device as failure reports name it."""
    return getattr(device, "name", None) or (str(device) if device else "the default device")
