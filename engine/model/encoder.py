"""A bidirectional Transformer encoder (BERT-style) for masked-LM, next-sentence and classification.

The layout is BERT's, so a model exports to a `transformers` BERT folder weight for weight: word,
position and token-type embeddings summed and normalized; post-norm blocks (norm after each
residual add; `prenorm` makes them the decoder's pre-norm blocks with a final norm, which no BERT
holds); a masked-LM head of dense, GELU, norm and a decoder tied to the word embeddings with
its own bias; a pooler (dense + tanh on the first token, [CLS]) feeding the next-sentence and
classification heads; a tagger (label_head "tokens") reads every token's final state instead, without a
pooler, as transformers' BertForTokenClassification, and so does a question answerer (label_head "span": two
outputs a token, the answer's start and end, as BertForQuestionAnswering's qa_outputs). Attention and MLP are the
decoder's (engine/model/gpt.py), without the mask.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

from engine.model.gpt import (
    MLP,
    GPTConfig,
    SelfAttention,
    decay_groups,
    make_norm,
    rope_tables,
    sinusoid_table,
    token_logits,
)
from engine.model.hooks import HookPoint

TYPE_VOCAB = 2


class EncoderBlock(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int):
        super().__init__()
        self.attn = SelfAttention(cfg, layer)
        self.ln_1 = make_norm(cfg)
        self.mlp = MLP(cfg)
        self.ln_2 = make_norm(cfg)
        self.prenorm = cfg.prenorm
        self.hook_resid_post = HookPoint()

    def forward(self, x, rope=None, pad_mask=None):
        if self.prenorm:
            x = x + self.attn(self.ln_1(x), rope, None, pad_mask)
            return self.hook_resid_post(x + self.mlp(self.ln_2(x)))
        x = self.ln_1(x + self.attn(x, rope, None, pad_mask))
        return self.hook_resid_post(self.ln_2(x + self.mlp(x)))


class Encoder(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        C = cfg.n_embd
        self.wte = nn.Embedding(cfg.vocab_size, C)
        if cfg.position == "learned":
            self.wpe = nn.Embedding(cfg.block_size, C)
        elif cfg.position == "sinusoidal":
            self.register_buffer("wpe_table", sinusoid_table(cfg.block_size, C), persistent=False)
        self.wtt = nn.Embedding(TYPE_VOCAB, C)
        self.ln_e = make_norm(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.hook_embed = HookPoint()
        self.h = nn.ModuleList(EncoderBlock(cfg, i) for i in range(cfg.n_layer))
        if cfg.prenorm:
            self.ln_f = make_norm(cfg)
        self.tagger = bool(cfg.num_labels) and cfg.label_head in ("tokens", "span")  # a head on every token
        if cfg.num_labels or cfg.nsp:
            if not self.tagger:
                self.pooler = nn.Linear(C, C)
            self.head_drop = nn.Dropout(cfg.dropout)
        if cfg.num_labels:
            self.classifier = nn.Linear(C, cfg.num_labels)
        else:
            self.mlm_dense = nn.Linear(C, C)
            self.mlm_ln = make_norm(cfg)
            self.mlm_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
            self.mlm_decoder = nn.Linear(C, cfg.vocab_size, bias=False)
            if cfg.tie_weights:
                self.mlm_decoder.weight = self.wte.weight
            if cfg.nsp:
                self.nsp_head = nn.Linear(C, 2)
        self.apply(self._init_weights)
        self._rope_cache: tuple | None = None

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wtt.weight.numel() + (self.wpe.weight.numel() if hasattr(self, "wpe") else 0)
            if not self.config.tie_weights or self.config.num_labels:
                n -= self.wte.weight.numel()
        return n

    def embedding_params(self) -> int:
        return self.wte.weight.numel() + self.wtt.weight.numel() + (self.wpe.weight.numel() if hasattr(self, "wpe")
                                                                      else 0)

    def encode(self, idx, token_types=None, pad_mask=None):
        """Final hidden states (B, T, C)."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} tokens is longer than the context ({self.config.block_size})")
        x = self.wte(idx)
        rope = None
        if self.config.position == "learned":
            x = x + self.wpe(torch.arange(T, device=idx.device))
        elif self.config.position == "sinusoidal":
            x = x + self.wpe_table[:T]
        else:
            if self._rope_cache is None or self._rope_cache[0].device != idx.device:
                self._rope_cache = rope_tables(self.config.head_size, self.config.block_size, self.config.rope_base,
                                               device=idx.device)
            rope = (self._rope_cache[0][:T], self._rope_cache[1][:T])
        x = x + self.wtt(token_types if token_types is not None else torch.zeros_like(idx))
        x = self.hook_embed(self.drop(self.ln_e(x)))
        for block in self.h:
            x = block(x, rope, pad_mask)
        return self.ln_f(x) if self.config.prenorm else x

    def pooled(self, hidden):
        return self.head_drop(torch.tanh(self.pooler(hidden[:, 0])))

    def mlm_logits(self, hidden):
        h = self.mlm_ln(F.gelu(self.mlm_dense(hidden)))
        return self.mlm_decoder(h) + self.mlm_bias

    def nsp_logits(self, hidden):
        return self.nsp_head(self.pooled(hidden))

    def forward(self, idx, targets=None, *, token_types=None, pad_mask=None, nsp_labels=None,
                lengths=None):
        """Masked-LM logits (B, T, vocab), class logits (B, num_labels), a tagger's (B, T, num_labels) or a question
        answerer's (B, T, 2), and the loss when targets are given (-100 marks unmasked or unlabelled positions;
        a question answerer's are (B, 2) start and end positions). With nsp_labels the
        next-sentence loss is added. With masked-LM targets the head reads only the masked positions (about
        15%: with a big vocabulary the head is a third of the step or more) and no logits are returned."""
        if pad_mask is None and lengths is not None:
            pad_mask = torch.arange(idx.size(1), device=idx.device)[None, :] < lengths[:, None]
        hidden = self.encode(idx, token_types, pad_mask)
        if self.tagger:
            logits = self.classifier(self.head_drop(hidden))
            if self.config.label_head == "span":
                return span_logits(logits, targets)
            return token_logits(logits, targets)
        if self.config.num_labels:
            logits = self.classifier(self.pooled(hidden))
            loss = None if targets is None else F.cross_entropy(logits.float(), targets)
        else:
            logits = loss = None
            if targets is None:
                logits = self.mlm_logits(hidden)
            else:
                chosen = targets != -100
                loss = F.cross_entropy(self.mlm_logits(hidden[chosen]).float(), targets[chosen])
            if nsp_labels is not None and self.config.nsp:
                nsp = F.cross_entropy(self.nsp_logits(hidden).float(), nsp_labels)
                loss = nsp if loss is None else loss + nsp
        return logits, loss

    def param_groups(self, weight_decay: float) -> list[dict]:
        return decay_groups(self, weight_decay)


def span_logits(logits, targets=None):
    """A question answerer's (B, T, 2) start and end logits and, with (B, 2) targets (the answer's first and
    last token, 0 for [CLS]: no answer here), the mean of the start and end cross-entropies."""
    if targets is None:
        return logits, None
    start, end = logits.float().unbind(-1)
    return logits, (F.cross_entropy(start, targets[:, 0]) + F.cross_entropy(end, targets[:, 1])) / 2
