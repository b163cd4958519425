"""The logit lens: each layer's guess at the next token, read by passing the residual stream after
that layer through the model's own final norm and output head (nostalgebraist, 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.core.errors import UserError
from engine.model.hooks import eval_mode, n_layers, run_with_cache
from engine.probes.support import require


@dataclass
class Lens:
    depths: list[str]
    """"embeddings", "layer 1", ... "layer L": what each row of the arrays below reads."""
    tokens: list[str]
    """The text's tokens; position t predicts token t + 1."""
    top_ids: np.ndarray
    """(depths, T, k) the k likeliest next tokens at each depth and position."""
    top_probs: np.ndarray
    """(depths, T, k) their probabilities."""
    top_strings: list[list[list[str]]]
    target_probs: np.ndarray
    """(depths, T - 1) the probability given to the token that does come next."""


def readout(model):
    """The function from a residual stream (B, T, C) to next-token logits (B, T, vocab)."""
    require(model, "lens")
    if model.config.arch == "bert":  # post-norm blocks: the stream is normalized already
        return model.mlm_logits
    return lambda x: model.lm_head(model.ln_f(x))


def logit_lens(model, tokenizer, text: str, *, k: int = 5) -> Lens:
    require(model, "lens")
    ids = tokenizer.encode(text)[: model.config.block_size]
    if len(ids) < 2:
        raise UserError("the logit lens needs a text of at least two tokens")
    if k < 1:
        raise UserError("top-k must be at least 1")
    names = ["hook_embed"] + [f"h.{i}.hook_resid_post" for i in range(n_layers(model))]
    device = next(model.parameters()).device
    idx = torch.tensor([ids], device=device)
    _, streams = run_with_cache(model, idx, names=names)
    head = readout(model)
    with eval_mode(model), torch.no_grad():  # the readout as the forward pass ran: in eval mode
        probs = torch.stack([torch.softmax(head(streams[n]).float(), dim=-1)[0] for n in names])  # (depths, T, V)
    k = min(k, probs.size(-1))
    top_p, top_i = probs.topk(k, dim=-1)
    target = probs[:, :-1].gather(-1, idx[0, 1:][None, :, None].expand(len(names), -1, 1))[..., 0]
    top_i_np = top_i.cpu().numpy()
    strings = [[tokenizer.token_strings(row) for row in depth] for depth in top_i_np.tolist()]
    depths = ["embeddings"] + [f"layer {i + 1}" for i in range(len(names) - 1)]
    return Lens(depths, tokenizer.token_strings(ids), top_i_np, top_p.float().cpu().numpy(), strings,
                target.float().cpu().numpy())
