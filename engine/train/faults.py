"""Fault injection for the reliability tests, switched on by environment variables only."""

from __future__ import annotations

import os
import time

import torch

_injected: set[int] = set()


def inject_fault(loss: torch.Tensor, step: int, batch_size: int) -> torch.Tensor:
    """Tests set ENGINE_FAULT_NAN_STEPS=3,4 to make those steps' losses NaN (once each, like a real blip),
    and ENGINE_FAULT_OOM_ABOVE=N to run out of memory with micro-batches larger than N."""
    oom_above = os.environ.get("ENGINE_FAULT_OOM_ABOVE")
    if oom_above and batch_size > int(oom_above):
        raise torch.OutOfMemoryError(f"injected: out of memory at micro-batch {batch_size}")
    steps = os.environ.get("ENGINE_FAULT_NAN_STEPS")
    if steps and str(step + 1) in steps.split(",") and step not in _injected:
        _injected.add(step)
        return loss * float("nan")
    return loss


def hold_at(step: int) -> None:
    """Tests set ENGINE_FAULT_HOLD_AT=N to hold the trainer once step N is logged, evaluated and
    checkpointed, until it is killed: a kill then lands at a known step instead of racing the run."""
    at = os.environ.get("ENGINE_FAULT_HOLD_AT")
    if at and int(at) == step:
        while True:
            time.sleep(3600)
    at, _, until = os.environ.get("ENGINE_FAULT_WAIT_AT", "").partition(":")  # N:path, held until path exists
    if at and int(at) == step:
        while not os.path.exists(until):
            time.sleep(0.05)


def inject_disk_fault(step: int) -> None:
    """Tests set ENGINE_FAULT_DISK_FULL_AT=N to make the checkpoint at step N fail as a full disk would."""
    at = os.environ.get("ENGINE_FAULT_DISK_FULL_AT")
    if at and int(at) == step:
        raise OSError(28, "No space left on device")
