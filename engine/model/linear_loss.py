"""The output layer and its cross-entropy in slices of rows, for big vocabularies.

A GPT-2-sized vocabulary (50,257) makes the logits the largest tensors of a step: batch 16 at context
1024 holds 3.3 GB of fp32 logits, a copy for the softmax and another for their gradient. Computing the
loss and both gradients slice by slice in the forward pass keeps one slice's logits alive at a time;
the backward pass only scales the stored gradients. The gradients are the ones of the mean cross-entropy
over the targets that are not `IGNORE` (-100), as `F.cross_entropy` gives.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

from engine.plan.estimate import MIN_LOGIT_BYTES, SLICE_LOGIT_BYTES

IGNORE = -100


def wants_slices(head: nn.Module, x: torch.Tensor) -> bool:
    """Slice when a gradient will flow, the logits are big and the head is a plain bias-free matrix
    (a LoRA or fp8 head keeps its own forward)."""
    rows = x.numel() // x.shape[-1]
    return (torch.is_grad_enabled() and type(head) is nn.Linear and head.bias is None
            and rows * head.out_features * 4 >= MIN_LOGIT_BYTES)


def linear_cross_entropy(x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         slice_rows: int | None = None, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy of `x @ weight.T` against `targets`, without holding all the logits; with
    `label_smoothing` e, the target is (1 - e) on the target token and e spread evenly over the vocabulary,
    as in `F.cross_entropy`."""
    x2 = x.reshape(-1, x.shape[-1])
    rows = slice_rows or max(1, SLICE_LOGIT_BYTES // (4 * weight.shape[0]))
    return _LinearCrossEntropy.apply(x2, weight, targets.reshape(-1), rows, float(label_smoothing))


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, targets, rows, smoothing):
        compute = torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype
        xc, wc = x.to(compute), weight.to(compute)
        want_x, want_w = ctx.needs_input_grad[:2]  # a frozen head (LoRA) needs no gradient of its own
        grad_x = torch.empty_like(x) if want_x else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if want_w else None
        total = torch.zeros((), dtype=torch.float32, device=x.device)
        counted = (targets != IGNORE).sum()
        with torch.autocast(x.device.type, enabled=False):
            for start in range(0, x.shape[0], rows):
                xs, ts = xc[start:start + rows], targets[start:start + rows]
                logits = (xs @ wc.t()).float()
                keep = ts != IGNORE
                picked = ts.clamp_min(0)
                lse = torch.logsumexp(logits, dim=-1)
                row_loss = lse - (1 - smoothing) * logits.gather(1, picked[:, None]).squeeze(1)
                if smoothing:
                    row_loss -= smoothing * logits.mean(-1)
                total += (row_loss * keep).sum()
                grad = logits.sub_(lse[:, None]).exp_()  # softmax, in place of the logits
                grad.scatter_add_(1, picked[:, None], -(1 - smoothing) * keep[:, None].to(grad.dtype))
                if smoothing:
                    grad.sub_(smoothing / grad.shape[1])
                grad.mul_(keep[:, None])
                grad = grad.to(compute)
                if want_x:
                    grad_x[start:start + rows] = grad @ wc
                if want_w and compute == torch.float32:
                    grad_w.addmm_(grad.t(), xs)
                elif want_w:
                    grad_w.add_((grad.t() @ xs).float())
        scale = 1.0 / counted.clamp_min(1).float()
        ctx.save_for_backward(grad_x, grad_w, scale)  # None for a gradient nobody wants
        ctx.weight_dtype = weight.dtype
        return total * scale

    @staticmethod
    def backward(ctx, grad_out):
        grad_x, grad_w, scale = ctx.saved_tensors
        g = grad_out * scale
        return (None if grad_x is None else grad_x * g.to(grad_x.dtype),
                None if grad_w is None else (grad_w * g).to(ctx.weight_dtype), None, None, None)


def plain_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=IGNORE)
