"""Fault injection for the reliability tests, switched on by environment variables only.

The trainer reads them once, as it starts (`Faults.from_environment`); with none set every hook is a no-op that
reads nothing, so a real run pays nothing per micro-batch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import torch


def _steps(text: str) -> frozenset[int]:
    return frozenset(int(s) for s in text.split(",") if s.strip())


@dataclass
class Faults:
    oom_above: int = 0
    """ENGINE_FAULT_OOM_ABOVE=N: micro-batches larger than N run out of memory."""
    nan_steps: frozenset[int] = frozenset()
    """ENGINE_FAULT_NAN_STEPS=3,4: those steps' losses are NaN, once each, like a real blip."""
    hold_at: int = -1
    """ENGINE_FAULT_HOLD_AT=N: hold once step N is logged, evaluated and checkpointed, until killed (a kill then
    lands at a known step instead of racing the run)."""
    wait_at: int = -1
    wait_for: str = ""
    """ENGINE_FAULT_WAIT_AT=N:path: hold at step N until the file `path` exists."""
    disk_full_at: int = -1
    """ENGINE_FAULT_DISK_FULL_AT=N: the checkpoint at step N fails as a full disk would."""
    _injected: set[int] = field(default_factory=set)

    @classmethod
    def from_environment(cls) -> Faults:
        env = os.environ.get
        wait_at, _, wait_for = env("ENGINE_FAULT_WAIT_AT", "").partition(":")
        return cls(oom_above=int(env("ENGINE_FAULT_OOM_ABOVE") or 0),
                   nan_steps=_steps(env("ENGINE_FAULT_NAN_STEPS", "")), hold_at=int(env("ENGINE_FAULT_HOLD_AT") or -1),
                   wait_at=int(wait_at or -1), wait_for=wait_for,
                   disk_full_at=int(env("ENGINE_FAULT_DISK_FULL_AT") or -1))

    def loss(self, loss: torch.Tensor, step: int, batch_size: int) -> torch.Tensor:
        if self.oom_above and batch_size > self.oom_above:
            raise torch.OutOfMemoryError(f"injected: out of memory at micro-batch {batch_size}")
        if step + 1 in self.nan_steps and step not in self._injected:
            self._injected.add(step)
            return loss * float("nan")
        return loss

    def hold(self, step: int) -> None:
        if step == self.hold_at:
            while True:
                time.sleep(3600)
        if step == self.wait_at:
            while not os.path.exists(self.wait_for):
                time.sleep(0.05)

    def disk(self, step: int) -> None:
        if step == self.disk_full_at:
            raise OSError(28, "No space left on device")
