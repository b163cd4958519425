"""A decoder-only Transformer (GPT): attention, MLP, block and model in one file.

Pre-norm blocks; positions learned, sinusoidal or rotary; LayerNorm or RMSNorm; GELU or SwiGLU.
Training uses fused `scaled_dot_product_attention`; a probe hooked on `h.{i}.attn.hook_pattern` makes
that layer compute its weights explicitly (engine/model/hooks.py names every hook point). The attention and MLP here are
shared with the bidirectional encoder (engine/model/encoder.py). With `num_labels` the output head is
a sequence classifier reading the last real token, the one that has seen the whole text, or a tagger labelling
every token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from engine.config.shape import Shape
from engine.model.hooks import HookPoint
from engine.model.linear_loss import linear_cross_entropy, plain_cross_entropy, wants_slices
from engine.plan.estimate import mlp_hidden


@dataclass
class GPTConfig(Shape):
    """A built model's config, as a checkpoint stores it: the shape (engine/config/shape.py) and what the engine
    derives from the run config or an imported model brings (its vocabulary, architecture, norm epsilon, heads)."""

    dropout: float = 0.0
    vocab_size: int = 65
    arch: str = "gpt"
    """gpt (causal decoder) | bert (bidirectional encoder) | t5 (encoder-decoder, engine/model/seq2seq.py)."""
    norm_eps: float = 1e-5
    nsp: bool = False
    """bert only: a next-sentence-prediction head on the pooled first token."""
    num_labels: int = 0
    """Above 0: a classifier with this many classes instead of the language-model head."""
    label_head: str = "sequence"
    """With num_labels: sequence (one label a text) | tokens (a label every token: a tagger, named entities) |
    span (an encoder's answer start and end logits at every token: extractive question answering)."""
    mlp_hidden: int = 0
    """The MLP's hidden width; 0: 4 x n_embd (GELU) or 2/3 of that rounded up to 64 (SwiGLU). Imported
    models bring their own."""
    rope_base: float = 10000.0
    """Rotary positions' base (theta)."""
    rel_buckets: int = 32
    """t5 only: relative-position buckets of the attention bias."""
    rel_max_distance: int = 128
    """t5 only: the distance beyond which every relative position shares the last bucket."""
    scale_output: bool = True
    """t5 only: a tied output head reads the decoder at 1/sqrt(n_embd) (T5's own models do; some imports not)."""

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return F.rms_norm(x, (x.size(-1),), self.weight, self.eps)


def make_norm(cfg: GPTConfig) -> nn.Module:
    if cfg.norm == "rmsnorm":
        return RMSNorm(cfg.n_embd, cfg.norm_eps)
    return nn.LayerNorm(cfg.n_embd, eps=cfg.norm_eps, bias=cfg.bias)


class KVCache:
    """Keys and values of the tokens seen so far, per layer: (B, nh, S, hs) each."""

    def __init__(self, n_layer: int):
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer

    @property
    def length(self) -> int:
        return 0 if self.k[0] is None else self.k[0].size(2)

    def layer_length(self, layer: int) -> int:
        return 0 if self.k[layer] is None else self.k[layer].size(2)

    def append(self, layer: int, k, v):
        if self.k[layer] is not None:
            k = torch.cat([self.k[layer], k], dim=2)
            v = torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the rows `index` (beam search)."""
        self.k = [None if k is None else k.index_select(0, index) for k in self.k]
        self.v = [None if v is None else v.index_select(0, index) for v in self.v]


@torch.inference_mode(False)  # cached by the model: made in inference mode, training could not use them
def rope_tables(head_size: int, length: int, base: float = 10000.0, device=None):
    inv = 1.0 / (base ** (torch.arange(0, head_size, 2, device=device, dtype=torch.float32) / head_size))
    angles = torch.outer(torch.arange(length, device=device, dtype=torch.float32), inv)  # (T, hs/2)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    x1, x2 = x[..., 0::2], x[..., 1::2]                   # (B, nh, T, hs/2)
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2).type_as(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention: causal for GPT; bidirectional, with a key padding mask, for BERT."""

    def __init__(self, cfg: GPTConfig, layer: int):
        super().__init__()
        self.layer = layer
        self.causal = cfg.arch == "gpt"
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.c_proj.residual = True
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()

    def forward(self, x, rope=None, cache: KVCache | None = None, pad_mask=None):
        """pad_mask: (B, S) booleans, True for keys that may be attended to (encoder only)."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        past = 0 if cache is None else cache.layer_length(self.layer)
        if cache is not None:
            k, v = cache.append(self.layer, k, v)
        explicit = self.hook_pattern.active
        if self.causal:  # query i sees keys up to past + i; a cache of one new token needs no mask
            mask = None if not explicit and (past == 0 or T == 1) else causal_mask(T, past, x.device)
        else:
            mask = None if pad_mask is None else pad_mask[:, None, None, :]
        if explicit:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))  # (B, nh, T, S)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            weights = self.hook_pattern(F.softmax(att.float(), dim=-1).type_as(q))
            y = weights @ v
        else:
            causal = self.causal and mask is None and T > 1  # the fused kernel's own mask
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                               dropout_p=self.dropout if self.training else 0.0)
        y = self.hook_z(y).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


def causal_mask(T: int, past: int, device) -> torch.Tensor:
    """(T, past + T) booleans: query i may see keys up to past + i."""
    return torch.ones(T, past + T, dtype=torch.bool, device=device).tril(diagonal=past)


def mlp_width(cfg: GPTConfig) -> int:
    return cfg.mlp_hidden or mlp_hidden(cfg.n_embd, cfg.mlp)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.swiglu = cfg.mlp == "swiglu"
        self.approximate = "tanh" if cfg.mlp == "gelu_tanh" else "none"  # GPT-2's own checkpoints use tanh
        hidden = mlp_width(cfg)
        if self.swiglu:
            self.c_gate = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        self.c_fc = nn.Linear(cfg.n_embd, hidden, bias=cfg.bias)
        self.c_proj = nn.Linear(hidden, cfg.n_embd, bias=cfg.bias)
        self.c_proj.residual = True
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        if self.swiglu:
            h = F.silu(self.c_gate(x)) * self.c_fc(x)
        else:
            h = F.gelu(self.c_fc(x), approximate=self.approximate)
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int):
        super().__init__()
        self.ln_1 = make_norm(cfg)
        self.attn = SelfAttention(cfg, layer)
        self.ln_2 = make_norm(cfg)
        self.mlp = MLP(cfg)
        self.hook_resid_post = HookPoint()

    def forward(self, x, rope=None, cache=None):
        x = x + self.attn(self.ln_1(x), rope, cache)
        x = x + self.mlp(self.ln_2(x))
        return self.hook_resid_post(x)


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.position == "learned":
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        elif cfg.position == "sinusoidal":
            self.register_buffer("wpe_table", sinusoid_table(cfg.block_size, cfg.n_embd), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.hook_embed = HookPoint()
        self.h = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layer))
        self.ln_f = make_norm(cfg)
        if cfg.num_labels:  # a tagger's head has a bias, as transformers' *ForTokenClassification heads
            self.classifier = nn.Linear(cfg.n_embd, cfg.num_labels, bias=cfg.label_head == "tokens")
        else:
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            if cfg.tie_weights:
                self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        self._rope_cache: tuple | None = None

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            # residual projections shrink with depth so the residual stream's variance stays ~1 (GPT-2)
            std = 0.02 / math.sqrt(2 * self.config.n_layer) if getattr(module, "residual", False) else 0.02
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters; non_embedding leaves out lookups that are not matmuls (positions, untied wte).

        This is the N of the 6N FLOPs-per-token rule: the output head counts, tied or not.
        """
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            if hasattr(self, "wpe"):
                n -= self.wpe.weight.numel()
            if not self.config.tie_weights or self.config.num_labels:
                n -= self.wte.weight.numel()
        return n

    def embedding_params(self) -> int:
        """The lookup tables (tokens, positions): the total less these is the non-embedding count of the
        scaling-law papers."""
        return self.wte.weight.numel() + (self.wpe.weight.numel() if hasattr(self, "wpe") else 0)

    def forward(self, idx, targets=None, *, cache: KVCache | None = None, lengths=None):
        """Logits (B, T, vocab) and the mean cross-entropy loss when targets are given.

        With a cache, positions continue after the cached tokens. A classifier returns (B, num_labels) logits
        read at position `lengths - 1` (right padding is never seen by a causal model) and takes class
        ids as targets; a tagger (label_head "tokens") returns (B, T, num_labels) logits, each token read with
        what comes before it. Training with targets and a big vocabulary returns no logits, only the loss, computed
        slice by slice (engine/model/linear_loss.py).
        """
        B, T = idx.shape
        past = 0 if cache is None else cache.length
        if past + T > self.config.block_size:
            raise ValueError(f"sequence of {past + T} tokens is longer than the context ({self.config.block_size})")
        x = self.wte(idx)  # (B, T, C)
        rope = None
        if self.config.position == "learned":
            x = x + self.wpe.weight[past: past + T]  # a slice: cheaper than a lookup, forward and backward
        elif self.config.position == "sinusoidal":
            x = x + self.wpe_table[past: past + T]
        else:
            cos, sin = self._rope(idx.device)
            rope = (cos[past: past + T], sin[past: past + T])
        x = self.hook_embed(self.drop(x))
        for block in self.h:
            x = block(x, rope, cache)
        x = self.ln_f(x)
        if self.config.label_head == "tokens" and self.config.num_labels:
            return token_logits(self.classifier(x), targets)
        if self.config.num_labels:
            last = (lengths - 1) if lengths is not None else torch.full((B,), T - 1, device=idx.device)
            logits = self.classifier(x[torch.arange(B, device=idx.device), last])
            loss = None if targets is None else F.cross_entropy(logits.float(), targets)
            return logits, loss
        if targets is None:
            return self.lm_head(x), None
        if wants_slices(self.lm_head, x):  # training with a big vocabulary: no logits are returned
            return None, linear_cross_entropy(x, self.lm_head.weight, targets)
        logits = self.lm_head(x)
        return logits, plain_cross_entropy(logits, targets)

    def _rope(self, device):
        if self._rope_cache is None or self._rope_cache[0].device != device:
            self._rope_cache = rope_tables(self.config.head_size, self.config.block_size, self.config.rope_base,
                                           device=device)
        return self._rope_cache

    def param_groups(self, weight_decay: float) -> list[dict]:
        return decay_groups(self, weight_decay)


def token_logits(logits, targets=None):
    """A tagger's (B, T, num_labels) logits and, with targets (-100 where a token is not labelled), the mean
    cross-entropy over the labelled tokens."""
    if targets is None:
        return logits, None
    return logits, F.cross_entropy(logits.float().flatten(0, 1), targets.reshape(-1), ignore_index=-100)


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The optimizer's groups: decay only matrices (linear and embedding weights), never norms or biases."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def sinusoid_table(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table
