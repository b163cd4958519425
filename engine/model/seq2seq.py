"""An encoder-decoder Transformer (T5, v1.1 layout) for sequence-to-sequence objectives.

A bidirectional encoder reads the source; a causal decoder writes the target, attending to its own
past and, through cross-attention, to every source position. The layout is T5 v1.1's so a model
exports to a `transformers` T5 folder weight for weight: one token embedding shared by both stacks;
pre-norm blocks with RMSNorm; no biases; attention without the 1/sqrt(d) scale, positions given as
a learned bias per head over bucketed relative distances (computed in each stack's first layer and
reused by the rest); a gated GELU MLP; an output head of its own unless tied (then the decoder's
output is scaled by 1/sqrt(d_model) first, as T5 does).

Hook points (engine/model/hooks.py): `encoder.h.{i}.attn.hook_pattern`, `decoder.h.{i}.attn.hook_pattern`
and `decoder.h.{i}.cross_attn.hook_pattern` (B, nh, target, source), each beside its `hook_z`.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from engine.model.gpt import GPTConfig, RMSNorm, decay_groups, mlp_width
from engine.model.hooks import HookPoint
from engine.model.linear_loss import linear_cross_entropy, wants_slices


def relative_buckets(query_len: int, key_len: int, *, bidirectional: bool, n_buckets: int, max_distance: int,
                     device=None) -> torch.Tensor:
    """(T, S) bucket ids of the distance key - query: half the buckets exact for short distances, the
    rest spaced logarithmically up to max_distance; a causal stack only tells distances into the past."""
    q = torch.arange(query_len, device=device)[:, None]
    k = torch.arange(key_len, device=device)[None, :]
    distance = k - q
    offset = torch.zeros_like(distance)
    if bidirectional:
        n_buckets //= 2
        offset = (distance > 0).long() * n_buckets
        distance = distance.abs()
    else:
        distance = (-distance).clamp(min=0)
    exact = n_buckets // 2
    far = exact + (torch.log(distance.float().clamp(min=1) / exact) / math.log(max_distance / exact)
                   * (n_buckets - exact)).long()
    far = far.clamp(max=n_buckets - 1)
    return offset + torch.where(distance < exact, distance, far)


class T5Attention(nn.Module):
    """Multi-head attention without scaling; `bias` (B|1, nh, T, S) adds positions and masks."""

    def __init__(self, cfg: GPTConfig, *, relative: bool):
        super().__init__()
        C = cfg.n_embd
        self.n_head = cfg.n_head
        self.q, self.k, self.v, self.o = (nn.Linear(C, C, bias=False) for _ in range(4))
        self.dropout = cfg.dropout
        if relative:
            self.relative_bias = nn.Embedding(cfg.rel_buckets, cfg.n_head)
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()

    def position_bias(self, T: int, S: int, *, bidirectional: bool, cfg: GPTConfig, device) -> torch.Tensor:
        buckets = relative_buckets(T, S, bidirectional=bidirectional, n_buckets=cfg.rel_buckets,
                                   max_distance=cfg.rel_max_distance, device=device)
        return self.relative_bias(buckets).permute(2, 0, 1)[None]  # (1, nh, T, S)

    def forward(self, x, bias, memory=None):
        B, T, C = x.shape
        src = x if memory is None else memory
        S = src.size(1)
        hs = C // self.n_head
        q = self.q(x).view(B, T, self.n_head, hs).transpose(1, 2)
        k = self.k(src).view(B, S, self.n_head, hs).transpose(1, 2)
        v = self.v(src).view(B, S, self.n_head, hs).transpose(1, 2)
        if self.hook_pattern.active:
            scores = (q @ k.transpose(-2, -1)).float() + bias
            weights = self.hook_pattern(F.softmax(scores, dim=-1).type_as(q))
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=1.0,
                                               dropout_p=self.dropout if self.training else 0.0)
        y = self.hook_z(y).transpose(1, 2).contiguous().view(B, T, C)
        return self.o(y)


class GatedMLP(nn.Module):
    """T5 v1.1's feed-forward: GELU (tanh form) of one projection gating another."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        hidden = mlp_width(cfg)
        self.wi_0 = nn.Linear(cfg.n_embd, hidden, bias=False)
        self.wi_1 = nn.Linear(cfg.n_embd, hidden, bias=False)
        self.wo = nn.Linear(hidden, cfg.n_embd, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.wo(self.drop(F.gelu(self.wi_0(x), approximate="tanh") * self.wi_1(x)))


class T5Block(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int, *, cross: bool):
        super().__init__()
        self.ln_1 = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.attn = T5Attention(cfg, relative=layer == 0)
        if cross:
            self.ln_x = RMSNorm(cfg.n_embd, cfg.norm_eps)
            self.cross_attn = T5Attention(cfg, relative=False)
        self.ln_2 = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = GatedMLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.hook_resid_post = HookPoint()

    def forward(self, x, bias, memory=None, memory_bias=None):
        x = x + self.drop(self.attn(self.ln_1(x), bias))
        if memory is not None:
            x = x + self.drop(self.cross_attn(self.ln_x(x), memory_bias, memory))
        x = x + self.drop(self.mlp(self.ln_2(x)))
        return self.hook_resid_post(x)


class T5Stack(nn.Module):
    def __init__(self, cfg: GPTConfig, n_layer: int, *, decoder: bool):
        super().__init__()
        self.config, self.decoder = cfg, decoder
        self.hook_embed = HookPoint()
        self.h = nn.ModuleList(T5Block(cfg, i, cross=decoder) for i in range(n_layer))
        self.ln_f = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, key_mask=None, memory=None, memory_mask=None):
        """key_mask (B, T) / memory_mask (B, S): True where a key is a real token, not padding."""
        T = x.size(1)
        neg = torch.finfo(torch.float32).min
        bias = self.h[0].attn.position_bias(T, T, bidirectional=not self.decoder, cfg=self.config, device=x.device)
        if self.decoder:
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            bias = bias.masked_fill(~causal, neg)
        if key_mask is not None:
            bias = bias.masked_fill(~key_mask[:, None, None, :], neg)
        memory_bias = None
        if memory is not None:
            memory_bias = torch.zeros(1, 1, 1, memory.size(1), device=x.device)
            if memory_mask is not None:
                memory_bias = memory_bias.masked_fill(~memory_mask[:, None, None, :], neg)
        x = self.hook_embed(self.drop(x))
        for block in self.h:
            x = block(x, bias, memory, memory_bias)
        return self.drop(self.ln_f(x))


class Seq2Seq(nn.Module):
    """T5-style encoder-decoder. forward(src, tgt_in, targets): logits (B, T, vocab) and the loss."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.encoder = T5Stack(cfg, cfg.n_encoder_layer or cfg.n_layer, decoder=False)
        self.decoder = T5Stack(cfg, cfg.n_layer, decoder=True)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.label_smoothing = 0.0  # the training loss's (task.label_smoothing); not part of the model
        self.apply(self._init_weights)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """T5's scheme: the scale of each weight set by its fan-in (with no 1/sqrt(d) in attention the
        queries start smallest); the embedding at unit scale, as the tied head reads it at 1/sqrt(d)."""
        C, hs = self.config.n_embd, self.config.head_size
        if isinstance(module, T5Attention):
            module.q.weight.normal_(0.0, (C * hs) ** -0.5)
            for w in (module.k.weight, module.v.weight, module.o.weight):
                w.normal_(0.0, C ** -0.5)
            if hasattr(module, "relative_bias"):
                module.relative_bias.weight.normal_(0.0, C ** -0.5)
        elif isinstance(module, GatedMLP):
            module.wi_0.weight.normal_(0.0, C ** -0.5)
            module.wi_1.weight.normal_(0.0, C ** -0.5)
            module.wo.weight.normal_(0.0, module.wo.in_features ** -0.5)
        elif module is self:
            self.wte.weight.normal_(0.0, 1.0)
            if not self.config.tie_weights:
                self.lm_head.weight.normal_(0.0, C ** -0.5)

    def num_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and not self.config.tie_weights:
            n -= self.wte.weight.numel()
        return n

    def embedding_params(self) -> int:
        return self.wte.weight.numel()

    def encode(self, src, src_lengths=None):
        """The encoder's output (B, S, C) and its key mask (B, S)."""
        mask = None if src_lengths is None else length_mask(src_lengths, src.size(1))
        return self.encoder(self.wte(src), mask), mask

    def decode(self, tgt_in, memory, memory_mask=None):
        """Logits (B, T, vocab) of each next target token."""
        return self.lm_head(self._decoded(tgt_in, memory, memory_mask))

    def _decoded(self, tgt_in, memory, memory_mask):
        x = self.decoder(self.wte(tgt_in), None, memory, memory_mask)
        if self.config.tie_weights and self.config.scale_output:
            x = x * self.config.n_embd ** -0.5
        return x

    def forward(self, src, tgt_in, targets=None, *, src_lengths=None):
        """Logits and the loss when targets are given; training with a big vocabulary returns no logits,
        only the loss, computed slice by slice (engine/model/linear_loss.py)."""
        memory, mask = self.encode(src, src_lengths)
        x = self._decoded(tgt_in, memory, mask)
        if targets is not None and wants_slices(self.lm_head, x):
            return None, linear_cross_entropy(x, self.lm_head.weight, targets, label_smoothing=self.label_smoothing)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.reshape(-1), ignore_index=-100,
                                   label_smoothing=self.label_smoothing)
        return logits, loss

    def param_groups(self, weight_decay: float) -> list[dict]:
        return decay_groups(self, weight_decay)


def length_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]
