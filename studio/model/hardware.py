"""What hardware the Model page can offer, found without torch: GPUs from nvidia-smi, CPU cores."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from engine.estimate import GPU_BF16_PEAK

CPU_FLOPS_PER_CORE = 100e9  # fp32 with AVX2/AVX-512 FMA; measured ~160 GFLOP/s a core on this project's machines


@dataclass
class Device:
    key: str
    """The config value: cpu, cuda:0, ..."""
    name: str
    peak_flops: float
    memory: int | None = None
    """Bytes of memory a GPU has (None for the CPU, whose free RAM is read when asked)."""

    @property
    def type(self) -> str:
        return "cuda" if self.key.startswith("cuda") else "cpu"


def find_devices() -> list[Device]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    devices = [Device("cpu", f"CPU ({cores} cores)", cores * CPU_FLOPS_PER_CORE)]
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=3).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        devices += parse_gpus(out)
    return devices


def parse_gpus(listing: str) -> list[Device]:
    """Devices from `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` (MiB)."""
    devices = []
    for line in filter(str.strip, listing.splitlines()):
        name, _, mib = line.rpartition(",")
        name = name.strip() or mib.strip()
        try:
            memory = int(float(mib)) << 20
        except ValueError:
            memory = None
        peak = next((v for k, v in GPU_BF16_PEAK.items() if k in name), 100e12)
        devices.append(Device(f"cuda:{len(devices)}", name, peak, memory))
    return devices
