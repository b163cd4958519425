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
    stack = x.reshape(-1, *x.shape[-2:])  # the batched products' 3-D form (one matrix: a stack of one)
    for _ in range(steps):
        gram = torch.bmm(stack, stack.mT)
        # a x + (b gram + c gram @ gram) @ x, each sum fused into its product rather than separate passes that scale
        # and add: on a CPU those cost much of the iteration, most of all in bfloat16 (and rounded after each pass)
        stack = torch.baddbmm(stack, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), stack, beta=a)
    x = stack.reshape(x.shape)
    return (x.mT if tall else x).to(g.dtype)


def orthogonalize_stacked(matrices: list[torch.Tensor], steps: int = 5, dtype=torch.float32) -> list[torch.Tensor]:
    """`orthogonalize` of each matrix, those of one shape (the same weight of every layer; a tall matrix transposed
    joins the wide ones of its shape) as one stack: one batched product an iteration instead of one a matrix, fewer
    and larger calls for a small model's many small matrices (bench/muon_step.py times it against one at a time)."""
    by_shape: dict[tuple[int, int], list[int]] = {}
    for i, m in enumerate(matrices):
        by_shape.setdefault((min(m.shape), max(m.shape)), []).append(i)
    out: list[torch.Tensor] = [None] * len(matrices)  # type: ignore[list-item]
    for same in by_shape.values():
        stack = orthogonalize(torch.stack([_wide(matrices[i]) for i in same]), steps, dtype=dtype)
        for i, o in zip(same, stack):
            out[i] = o if matrices[i].size(0) <= matrices[i].size(1) else o.T
    return out


def orthogonalize_each(matrices: list[torch.Tensor], steps: int = 5, dtype=torch.float32) -> list[torch.Tensor]:
    """One matrix at a time: what the stacked form is checked and timed against (bench/muon_step.py)."""
    return [orthogonalize(m, steps, dtype=dtype) for m in matrices]


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
    orthogonal_steps = staticmethod(orthogonalize_stacked)
    """How the momenta become steps: stacked by shape; bench/muon_step.py swaps in `orthogonalize_each` to time it."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.95, betas=(0.9, 0.95), eps: float = 1e-8,
                 weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay,
                                      ns_steps=ns_steps, muon=False))

    @torch.no_grad()
    def step(self, closure=None):
        """Each update is a handful of list-wide (foreach) operations, not a handful per tensor: fewer tiny
        operations to dispatch on a small model."""
        loss = closure_loss(closure)
        for group in self.param_groups:
            live = [p for p in group["params"] if p.grad is not None]
            if not live:
                continue
            if group["weight_decay"]:
                torch._foreach_mul_(live, 1 - group["lr"] * group["weight_decay"])  # decoupled decay, as AdamW's
            if group["muon"]:
                self._muon_steps(live, group)
            else:
                self._adamw_steps(live, group)
        return loss

    def _muon_steps(self, params, group) -> None:
        for p in params:
            if "momentum_buffer" not in self.state[p]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)
        grads = [p.grad for p in params]
        momenta = [self.state[p]["momentum_buffer"] for p in params]
        torch._foreach_lerp_(momenta, grads, 1 - group["momentum"])
        nesterov = torch._foreach_lerp(grads, momenta, group["momentum"])
        steps = self.orthogonal_steps(nesterov, group["ns_steps"], dtype=iteration_dtype(params[0].device))
        torch._foreach_mul_(steps, [-group["lr"] * 0.2 * math.sqrt(max(p.shape)) for p in params])
        torch._foreach_add_(params, steps)

    def _adamw_steps(self, params, group) -> None:
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
        b1, b2 = group["betas"]
        grads = [p.grad for p in params]
        exp_avg = [self.state[p]["exp_avg"] for p in params]
        exp_avg_sq = [self.state[p]["exp_avg_sq"] for p in params]
        t = [float(self.state[p]["step"]) for p in params]
        torch._foreach_lerp_(exp_avg, grads, 1 - b1)
        torch._foreach_mul_(exp_avg_sq, b2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - b2)
        denom = torch._foreach_div(exp_avg_sq, [1 - b2 ** ti for ti in t])
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, group["eps"])
        torch._foreach_addcdiv_(params, exp_avg, denom, [-group["lr"] / (1 - b1 ** ti) for ti in t])
