"""torch.distributed under torchrun: one process per device, data sharded by rank, rank 0 writes."""

from __future__ import annotations

import gc
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_name: str) -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        # torch._dynamo, imported after a group exists, keeps a reference to it that outlives
        # destroy_process_group (see shutdown); imported first, it holds none. DDP imports it anyway.
        importlib.import_module("torch._dynamo")
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, local, world)


def device_name_for(info: DistInfo, device_name: str) -> str:
    if info.enabled and device_name != "cpu" and torch.cuda.is_available():
        return f"cuda:{info.local_rank}"
    return device_name


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast_code(code: int, info: DistInfo, device: torch.device) -> int:
    """The largest code any rank holds, on every rank (0 nothing, 1 stop, 2 checkpoint)."""
    if not info.enabled:
        return code
    t = torch.tensor([float(code)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    """Leave the process group and end its communication threads while the interpreter still runs.

    destroy_process_group only unregisters the group: its C++ object, and with it the threads that
    finish each collective, lives on while anything (DDP, a finished work handle) still refers to it.
    A gloo thread that drops its last reference to a Python-owned tensor after the interpreter began
    to shut down is killed while it holds C++ frames, and the process aborts ("terminate called
    without an active exception") after a run that had finished. The caller drops its own references
    (the DDP wrapper, the model, the optimizer) first; collecting here frees the group itself, whose
    destructor joins its threads.
    """
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
    gc.collect()


def communication_threads() -> list[str]:
    """Names of this process's threads that belong to a process group (gloo's loops; NCCL's watchdog)."""
    names = []
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:  # the thread ended while we looked
            continue
        if name.startswith(("pt_gloo", "gloo_", "pt_nccl")):
            names.append(name)
    return names
