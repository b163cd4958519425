"""Muon (Jordan et al., 2024) for the blocks' matrices, with AdamW for everything else, in one optimizer.

Muon keeps a momentum of each matrix's gradient and steps along its nearest orthogonal matrix, found by
a few Newton-Schulz iterations: every direction of the update moves by about the same amount. It is
meant for the hidden layers' 2-D weights only; embeddings, the output head, norms and biases keep
AdamW. The step is scaled by 0.2 x sqrt(max(rows, cols)) so that its size matches AdamW's (Liu et al.,
2025, "Muon is scalable"): one learning rate serves both halves. One optimizer, so a checkpoint holds
one state and a resume continues exactly.
"""

from __future__ import annotations

import math

import torch

from engine.train.closure import closure_loss

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""The quintic iteration's coefficients: they push every singular value towards 1 in few steps."""


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7, dtype=torch.float32) -> torch.Tensor:
    """An approximately orthogonal matrix with g's singular vectors (its singular values ~1); a stack of
    matrices (..., m, n) is done at once, each on its own. The optimizer iterates in bfloat16 where the
    device multiplies it natively (`iteration_dtype`), as Muon's authors do: the iteration is insensitive
    to rounding."""
    a, b, c = NS_COEFFICIENTS
    x = g.to(dtype)
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + eps)  # singular values into [0, 1], where it converges
    tall = x.size(-2) > x.size(-1)  # work on the short side's Gram matrix
    if tall:
        x = x.mT
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x.mT if tall else x).to(g.dtype)


def iteration_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on a GPU and on CPUs with bfloat16 matrix instructions (AVX512-BF16, AMX), where it is a fifth
    faster than float32; float32 elsewhere: an AVX2-only CPU (a Zen 3, say) emulates bfloat16 products 20-35
    times slower, which made a Muon step a second long."""
    if device.type != "cpu":
        return torch.bfloat16
    native = (getattr(torch.cpu, name, lambda: False)() for name in
              ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return torch.bfloat16 if any(native) else torch.float32


def _wide(m: torch.Tensor) -> torch.Tensor:
    return m if m.size(0) <= m.size(1) else m.T


def is_muon_param(name: str, p: torch.nn.Parameter) -> bool:
    """The blocks' matrices (attention and MLP weights, adapters); not embeddings, heads, norms, biases."""
    return p.ndim == 2 and name.split(".")[0] == "h"


def muon_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    muon = [p for n, p in named if is_muon_param(n, p)]
    adam_decay = [p for n, p in named if not is_muon_param(n, p) and p.ndim >= 2]
    rest = [p for n, p in named if p.ndim < 2]
    return [{"params": muon, "weight_decay": weight_decay, "muon": True},
            {"params": adam_decay, "weight_decay": weight_decay, "muon": False},
            {"params": rest, "weight_decay": 0.0, "muon": False}]


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.95, betas=(0.9, 0.95), eps: float = 1e-8,
                 weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay,
                                      ns_steps=ns_steps, muon=False))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure_loss(closure)
        for group in self.param_groups:
            live = [p for p in group["params"] if p.grad is not None]
            for p in live:
                p.mul_(1 - group["lr"] * group["weight_decay"])  # decoupled decay, as AdamW's
            if group["muon"]:
                self._muon_steps(live, group)
            else:
                for p in live:
                    self._adamw_step(p, group)
        return loss

    def _muon_steps(self, params, group) -> None:
        """Matrices of one shape (the same weight of every layer) are orthogonalized as one stack."""
        by_shape: dict[tuple, list] = {}  # a tall matrix joins the wide ones of its shape, transposed
        for p in params:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p)
            state["momentum_buffer"].lerp_(p.grad, 1 - group["momentum"])
            by_shape.setdefault((min(p.shape), max(p.shape)), []).append(p)
        for shape, same in by_shape.items():
            nesterov = torch.stack([_wide(p.grad.lerp(self.state[p]["momentum_buffer"], group["momentum"]))
                                    for p in same])
            steps = orthogonalize(nesterov, group["ns_steps"], dtype=iteration_dtype(nesterov.device))
            alpha = -group["lr"] * 0.2 * math.sqrt(shape[1])
            for p, step in zip(same, steps):
                p.add_(step if p.size(0) <= p.size(1) else step.T, alpha=alpha)

    def _adamw_step(self, p, group) -> None:
        state = self.state[p]
        if "step" not in state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        b1, b2 = group["betas"]
        t = float(state["step"])
        state["exp_avg"].lerp_(p.grad, 1 - b1)
        state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
        denom = (state["exp_avg_sq"] / (1 - b2 ** t)).sqrt_().add_(group["eps"])
        p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - b1 ** t))
