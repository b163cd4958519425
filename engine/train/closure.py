"""What every hand-written optimizer's step begins with."""

from __future__ import annotations

import torch


def closure_loss(closure):
    """The loss a step's closure recomputes (with gradients), or None without one."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()
