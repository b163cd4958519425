"""The memory a stretch of training took on its device: its peak above what the process held before.

CPU: the process's resident set, what the system monitor shows. Freed heap is handed back to the OS
first (malloc_trim), so that memory left over from earlier work and reused is counted, and the
high-water mark is reset (/proc/self/clear_refs), so that the peak is this stretch's alone. CUDA: the
caching allocator's own peak of allocated bytes. Elsewhere (no /proc, another accelerator): None.
"""

from __future__ import annotations

import ctypes

import torch


class PeakMemory:
    def __init__(self, device: torch.device):
        self.device = device
        self.base: int | None = None

    def start(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        elif self.device.type == "cpu":
            _trim_heap()
            self.base = _status_bytes("VmRSS") if _reset_high_water() else None
        return self

    def peak(self) -> int | None:
        """Bytes above the start at the highest point since, or None where that cannot be read."""
        if self.base is None:
            return None
        if self.device.type == "cuda":
            return max(0, torch.cuda.max_memory_allocated(self.device) - self.base)
        high = _status_bytes("VmHWM")
        return None if high is None else max(0, high - self.base)


def _trim_heap() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_high_water() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
