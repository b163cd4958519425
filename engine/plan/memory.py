"""Does a run fit in memory? The estimate against what the device has, checked before anything is
allocated: a run that cannot fit is refused in words instead of crashing minutes later. No torch."""

from __future__ import annotations

import math
import os

from engine.config.schema import RunConfig
from engine.core.text import human_bytes
from engine.plan.estimate import auto_batch_size, estimate


def available_ram() -> int | None:
    """Bytes of RAM a new allocation can have now (MemAvailable), or None where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_problem(cfg: RunConfig, *, vocab_size: int, available: int | None, where: str,
                   device_type: str = "cpu") -> str | None:
    """A sentence saying the run does not fit in `available` bytes (with what would), or None if it does."""
    if available is None:
        return None
    need = estimate(cfg, vocab_size=vocab_size, device_type=device_type).memory_bytes
    if need <= available:
        return None
    t = cfg.train
    fits = auto_batch_size(cfg, vocab_size, available, cap=max(1, t.batch_size // 2))
    one = cfg.copy()
    one.train.batch_size = 1
    if estimate(one, vocab_size=vocab_size, device_type=device_type).memory_bytes > available:
        advice = "even one sequence at a time does not fit: use a narrower model (model.n_embd), fewer layers or " \
                 "a shorter context (model.block_size)"
    else:
        accum = math.ceil(t.batch_size * t.grad_accum / fits)
        advice = (f"try train.batch_size = {fits} with train.grad_accum = {accum} (about the same global batch), "
                  f"or a narrower model")
    return (f"this run needs about {human_bytes(need)} of memory by the estimate, but {where} has "
            f"{human_bytes(available)} available: {advice}")
