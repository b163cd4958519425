"""LoRA: low-rank adapters beside frozen linear layers, saved apart and merged for export.

A LoRALinear is an nn.Linear (its weight and bias keep their names, so base checkpoints load
unchanged) plus `lora_A` (r, in) and `lora_B` (out, r); it computes W x + b + (alpha / r) B A drop(x).
B starts at zero, so training starts from exactly the base model.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from engine.core.errors import UserError

TARGETS = {  # a decoder's or an encoder's names, then the encoder-decoder's (its cross-attention too)
    "attention": ("attn.c_attn", "attn.q", "attn.k", "attn.v"),
    "attention_out": ("attn.c_proj", "attn.o"),
    "mlp_in": ("mlp.c_fc", "mlp.c_gate", "mlp.wi_0", "mlp.wi_1"),
    "mlp_out": ("mlp.c_proj", "mlp.wo"),
}
HEAD_PREFIXES = ("classifier.", "pooler.", "nsp_head.")
"""Task heads (often new) are trained in full beside the adapters; the language-model heads stay frozen."""


class LoRALinear(nn.Linear):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        nn.Module.__init__(self)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight = base.weight
        self.bias = base.bias
        self.rank = rank
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, self.in_features, device=base.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, rank, device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_dropout = nn.Dropout(dropout)
        for attr in ("residual",):
            if hasattr(base, attr):
                setattr(self, attr, getattr(base, attr))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + (self.lora_dropout(x) @ self.lora_A.t() @ self.lora_B.t()) \
            * self.scale

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                        device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(self.weight + (self.lora_B @ self.lora_A) * self.scale)
            if self.bias is not None:
                out.bias.copy_(self.bias)
        return out


def apply_lora(model: nn.Module, *, targets: list[str], rank: int, alpha: float, dropout: float) -> int:
    """Put adapters on the named projections and freeze everything else but task heads.

    Returns the number of layers adapted."""
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise UserError(f"finetune.lora_targets: unknown {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    suffixes = tuple(s for t in targets for s in TARGETS[t])
    chosen = [name for name, m in model.named_modules() if type(m) is nn.Linear and name.endswith(suffixes)]
    if not chosen:
        raise UserError("finetune.lora_targets matched no layer of this model")
    for p in model.parameters():
        p.requires_grad_(False)
    for name in chosen:
        parent, _, attr = name.rpartition(".")
        owner = model.get_submodule(parent)
        setattr(owner, attr, LoRALinear(getattr(owner, attr), rank, alpha, dropout))
    for name, p in model.named_parameters():
        if "lora_" in name or name.startswith(HEAD_PREFIXES):
            p.requires_grad_(True)
    return len(chosen)


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its weight, in place; the model is then a plain model again."""
    for name, m in list(model.named_modules()):
        if isinstance(m, LoRALinear):
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent), attr, m.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def trainable_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a LoRA checkpoint stores: the adapters and the task heads."""
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
