"""Device discovery and selection. TF's device layout is per process: configure() runs in a
subprocess where it matters."""

import json
import os
import subprocess
import sys

import pytest

from layercheck import devices

CPU0, CPU1 = devices.Device("CPU:0", "CPU"), devices.Device("CPU:1", "CPU")


def test_selection_keeps_the_named_devices_in_the_given_order():
    assert devices._select((CPU0, CPU1), "CPU:1, CPU:0") == [CPU1, CPU0]
    assert devices._select((CPU0, CPU1), None) == [CPU0, CPU1]


def test_an_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown device\(s\) \['GPU:0'\].*this machine has \['CPU:0', 'CPU:1'\]"):
        devices._select((CPU0, CPU1), "GPU:0")


@pytest.mark.parametrize("bad", ["0", "two", -1])
def test_cpu_device_count_must_be_positive(bad):
    with pytest.raises(ValueError, match="must be a positive int"):
        devices._cpu_device_count(bad)


def configure_in_subprocess(env_extra, selection=None):
    code = (
        "import json; from layercheck import environment, devices; environment.prepare(); "
        f"print(json.dumps([d.name for d in devices.configure(selection={selection!r})]))"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith("LAYERCHECK_")}
    env.update(env_extra)
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_without_a_gpu_the_cpu_is_split_in_two_by_default():
    names = configure_in_subprocess({})
    assert [name for name in names if name.startswith("CPU")] == ["CPU:0", "CPU:1"] or any(
        name.startswith("GPU") for name in names
    )


def test_the_environment_chooses_the_split_and_the_selection():
    names = configure_in_subprocess({"LAYERCHECK_CPU_DEVICES": "3", "LAYERCHECK_DEVICES": "CPU:2"})
    assert names == ["CPU:2"]
