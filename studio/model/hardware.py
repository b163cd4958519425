"""What hardware the Model page can offer, found without torch: GPUs from nvidia-smi, CPU cores."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from engine.plan.estimate import GPU_BF16_PEAK

CPU_FLOPS_PER_CORE = 100e9  # fp32 with AVX2/AVX-512 FMA; measured ~160 GFLOP/s a core on this project's machines


@dataclass
class Device:
    key: str
    """The config value: cpu, cuda:0, ..."""
    name: str
    peak_flops: float
    memory: int | None = None
    """Bytes of memory a GPU has (None for the CPU, whose free RAM is read when asked)."""
    capability: tuple[int, int] | None = None
    """A GPU's CUDA compute capability, where nvidia-smi says it."""

    @property
    def type(self) -> str:
        return "cuda" if self.key.startswith("cuda") else "cpu"


def find_devices() -> list[Device]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    devices = [Device("cpu", f"CPU ({cores} cores)", cores * CPU_FLOPS_PER_CORE)]
    if shutil.which("nvidia-smi"):
        devices += parse_gpus(_query_gpus("name,memory.total,compute_cap") or _query_gpus("name,memory.total"))
    return devices


def _query_gpus(fields: str) -> str:
    """nvidia-smi's answer, or "" (drivers before 510 do not know compute_cap and refuse the whole query)."""
    try:
        done = subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def parse_gpus(listing: str) -> list[Device]:
    """Devices from `nvidia-smi --query-gpu=name,memory.total[,compute_cap] --format=csv,noheader,nounits`
    (MiB; capability as 8.9)."""
    devices = []
    for line in filter(str.strip, listing.splitlines()):
        fields = [f.strip() for f in line.split(",")]
        capability = _capability(fields.pop()) if len(fields) > 2 and "." in fields[-1] else None
        name, mib = ", ".join(fields[:-1]) or fields[-1], fields[-1]
        try:
            memory = int(float(mib)) << 20
        except ValueError:
            memory = None
        peak = next((v for k, v in GPU_BF16_PEAK.items() if k in name), 100e12)
        devices.append(Device(f"cuda:{len(devices)}", name, peak, memory, capability))
    return devices


def _capability(text: str) -> tuple[int, int] | None:
    major, _, minor = text.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None
