"""Devices, precision, threads and the arithmetic peak that MFU is measured against."""

from __future__ import annotations

import ctypes
import os
import shutil
import time
from contextlib import nullcontext

import torch

from engine.config.rules import precision_problem
from engine.core.errors import UserError
from engine.plan.estimate import GPU_BF16_PEAK
from engine.plan.estimate import auto_batch_size as estimated_batch_size
from engine.plan.memory import available_ram, memory_problem


def resolve_device(name: str, setting: str = "train.device") -> torch.device:
    """The torch device for a config value or a --device option (named `setting` in messages)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f'{setting} = "{name}" but no CUDA GPU is available here: use "cpu" or "auto"')
        index = name.split(":", 1)[1] if ":" in name else "0"
        if not index.isdigit():
            raise UserError(f'{setting} = "{name}": a GPU is named cuda or cuda:N')
        if int(index) >= torch.cuda.device_count():
            raise UserError(f'{setting} = "{name}" but only {torch.cuda.device_count()} GPU(s) are present')
        return torch.device("cuda", int(index))
    if name == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UserError(f'{setting} = "mps" but this machine has no Apple GPU')
    if name not in ("cpu", "mps"):
        raise UserError(f'{setting} = "{name}" is not a device: use auto, cpu, cuda or cuda:N')
    return torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"  # CPUs without AMX run bf16 slower than fp32
    cuda = device.type == "cuda"
    problem = precision_problem(precision, device.type, torch.cuda.get_device_name(device) if cuda else "",
                                torch.cuda.get_device_capability(device) if cuda else None)
    if problem:
        raise UserError(problem)
    return precision


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16  # fp8: bf16 outside the fp8 matmuls
    return torch.autocast(device_type=device.type, dtype=dtype)


TORCH_DEFAULT_THREADS = torch.get_num_threads()
"""torch's own choice (one per physical core), taken at import, before any run of this process sets another."""


_busy_cut = 0
"""Threads the last automatic choice left out because other work kept cores busy (said by describe)."""


def set_threads(threads: int) -> int:
    """train.threads, 0 meaning automatic (auto_threads): an earlier run in the same process (a sweep, a notebook,
    the tests) that asked for fewer threads does not slow the next one down."""
    global _busy_cut
    chosen = threads if threads > 0 else auto_threads()
    _busy_cut = 0 if threads > 0 else TORCH_DEFAULT_THREADS - chosen
    torch.set_num_threads(chosen)
    return torch.get_num_threads()


def auto_threads() -> int:
    """torch's default (one a physical core) less the cores other work kept busy over the last minute: torch's
    threads wait on each other, and beside other work a step of two threads on two cores ran 20-70x slower."""
    try:
        busy = int(os.getloadavg()[0])
    except (OSError, AttributeError):  # no load average on this system
        busy = 0
    return max(1, min(TORCH_DEFAULT_THREADS, cpu_count() - busy))


def keep_freed_memory() -> None:
    """Stop glibc from returning activation buffers to the OS and faulting them back every step.

    The buffers (~1 MB each) lie above glibc's mmap threshold; raising the threshold and the trim
    threshold keeps them in the heap, which is what tcmalloc gives for free (1.1x on small models).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 256 << 20)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)


def peak_flops(device: torch.device, precision: str) -> float:
    """The FLOP/s that MFU divides by: a table for GPUs, a quick measured matmul on CPU."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = next((v for k, v in GPU_BF16_PEAK.items() if k in name), 100e12)
        return peak if precision in ("bf16", "fp16", "fp8") else peak / 2  # tf32 runs at about half; fp8 vs bf16
    return measure_cpu_matmul_peak()


_cpu_peak: float | None = None


def measure_cpu_matmul_peak(size: int = 1024, repeats: int = 5) -> float:
    """Best fp32 matmul rate of a few square products: the machine's practical CPU peak."""
    global _cpu_peak
    if _cpu_peak is None:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
        _cpu_peak = 2 * size**3 / best
    return _cpu_peak


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    busy = f", {_busy_cut} fewer: other work keeps the cores busy" if _busy_cut else ""
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' * (threads != 1)}{busy})"


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


CPU_COMPILE_MIN_RUN_S = 600.0
"""On CPUs compiling takes ~40 s the first time (~5 s from the cache) and saves 8-15% of every step
(bench/README.md): worth it from a run of about ten minutes."""
CPU_EFFICIENCY = 0.4
"""The share of the measured matmul peak a small model's eager step reaches (bench/README.md)."""


def should_compile(setting: str, device: torch.device, n_params: int, max_steps: int,
                   step_flops: float = 0.0, peak: float = 0.0) -> bool:
    """torch.compile costs tens of seconds up front: "auto" compiles where that pays back.

    CUDA: models of 10M+ parameters for 500+ steps (~1.5x, bench/). CPU: runs that would take ten
    minutes or more uncompiled (`step_flops` per optimizer step at 40% of the `peak` FLOP/s), and only
    where a C++ compiler is installed (the CPU backend builds C++ kernels).
    """
    if setting != "auto":
        return setting == "on"
    if device.type == "cuda":
        return n_params >= 10_000_000 and max_steps >= 500
    if device.type != "cpu" or peak <= 0 or not cxx_compiler():
        return False
    return max_steps * step_flops / (peak * CPU_EFFICIENCY) >= CPU_COMPILE_MIN_RUN_S


def cxx_compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def prepare(device: torch.device, threads: int) -> None:
    """Threads and allocator on CPU; TF32 matmuls on GPUs."""
    set_threads(threads)
    if device.type == "cpu":
        keep_freed_memory()
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


CPU_AUTO_BATCH = 16
"""On CPUs a bigger micro-batch brings no speed: stop at 16, or less if memory is short."""


def auto_batch_size(cfg, vocab_size: int, device: torch.device) -> int:
    """train.auto_batch_size: the micro-batch that fits 80% of the free memory by the estimate."""
    free = free_memory(device) or 8 << 30
    if device.type == "cuda":
        return estimated_batch_size(cfg, vocab_size, 0.8 * free)
    return estimated_batch_size(cfg, vocab_size, 0.5 * free, cap=CPU_AUTO_BATCH)


def free_memory(device: torch.device) -> int | None:
    """Bytes a new allocation can have on `device` now: free GPU memory, or available RAM; None if unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return available_ram() if device.type == "cpu" else None


def check_memory(cfg, device: torch.device, *, vocab_size: int, processes: int = 1) -> None:
    """Refuse a run the device cannot hold, in words, before it allocates anything large. `vocab_size` 0
    (not known before the corpus is encoded) leaves the output layer out: the estimate is then a floor."""
    available = free_memory(device)
    if available is None:
        return
    if device.type == "cpu":  # processes on one machine share its RAM
        available //= processes
    where = describe(device) if device.type == "cuda" else "this machine"
    problem = memory_problem(cfg, vocab_size=vocab_size, available=available, where=where, device_type=device.type)
    if problem:
        raise UserError(problem)
