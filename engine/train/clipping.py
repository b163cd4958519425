"""Gradient-norm clipping, folded into the fused AdamW kernel where it can be.

`clip_grad_norm_` multiplies every gradient by min(1, max_norm / norm) in a pass of its own (and on
CPU it walks the parameters one by one in Python). The fused AdamW kernel already reads every
gradient and divides it by an optional `grad_scale`, the hook mixed precision uses to unscale: giving
it max(1, norm / max_norm) applies the same clipping inside the update, with no extra pass. On the
baby CPU recipe that is ~3% of the step (bench/README.md). The gradients themselves are left as
backward wrote them; the step reads them clipped.
"""

from __future__ import annotations

import torch


class GradClipper:
    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, max_norm: float, *,
                 fold: bool):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = optimizer
        self.max_norm = max_norm
        self.fold = fold and can_fold(optimizer)

    def __call__(self) -> torch.Tensor:
        """Clip this step's gradients and return their norm before clipping."""
        if not self.fold:
            norm = torch.nn.utils.clip_grad_norm_(self.params, self.max_norm)
            return norm.full_tensor() if hasattr(norm, "full_tensor") else norm  # FSDP: a sharded norm
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else torch.zeros(())
        # the same factor as clip_grad_norm_: max_norm / (norm + 1e-6), never above 1
        self.optimizer.grad_scale = torch.clamp((norm + 1e-6) / self.max_norm, min=1.0)
        return norm


def can_fold(optimizer: torch.optim.Optimizer) -> bool:
    """Fused AdamW takes a grad_scale; other optimizers (and the foreach AdamW) clip in a pass of their own."""
    return isinstance(optimizer, torch.optim.AdamW) and bool(optimizer.defaults.get("fused"))
