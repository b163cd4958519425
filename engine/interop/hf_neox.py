"""GPT-NeoX in transformers' layout: rotary positions, LayerNorm and a GELU MLP, sequential residuals
(use_parallel_residual = false). Its fused query/key/value rows are grouped by head ([q k v] of head 0,
then head 1, ...), where ours are [all q | all k | all v]; queries and keys rotate halves."""

from __future__ import annotations

import torch

from engine.core.errors import UserError
from engine.interop.families import (
    GELU_NAMES,
    from_halves,
    imported_config,
    norm_and_head,
    rope_config,
    rope_theta,
    to_halves,
    zeros_if_none,
)
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width

LAYER = "gpt_neox.layers.{}."


def _qkv_out(t: torch.Tensor, n_head: int) -> torch.Tensor:
    """Our [Q | K | V] rows (weight or bias) as NeoX's per-head [q k v] groups, q and k in half order."""
    q, k, v = t.chunk(3, dim=0)
    q, k = to_halves(q, n_head), to_halves(k, n_head)
    hs = q.shape[0] // n_head
    parts = [x.reshape(n_head, hs, *t.shape[1:]) for x in (q, k, v)]
    return torch.stack(parts, dim=1).reshape(t.shape)


def _qkv_in(t: torch.Tensor, n_head: int) -> torch.Tensor:
    hs = t.shape[0] // (3 * n_head)
    grouped = t.reshape(n_head, 3, hs, *t.shape[1:])
    q, k, v = (grouped[:, i].reshape(n_head * hs, *t.shape[1:]) for i in range(3))
    return torch.cat([from_halves(q, n_head), from_halves(k, n_head), v])


def export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C, nh = cfg.n_embd, cfg.n_head
    t = {"gpt_neox.embed_in.weight": sd["wte.weight"]}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", LAYER.format(i)
        for our, their in (("ln_1", "input_layernorm"), ("ln_2", "post_attention_layernorm")):
            t[f"{theirs}{their}.weight"] = sd[f"{ours}{our}.weight"]
            t[f"{theirs}{their}.bias"] = zeros_if_none(sd, f"{ours}{our}.bias", C)
        t[theirs + "attention.query_key_value.weight"] = _qkv_out(sd[ours + "attn.c_attn.weight"], nh)
        t[theirs + "attention.query_key_value.bias"] = _qkv_out(zeros_if_none(sd, ours + "attn.c_attn.bias", 3 * C), nh)
        for our, their in (("attn.c_proj", "attention.dense"), ("mlp.c_fc", "mlp.dense_h_to_4h"),
                           ("mlp.c_proj", "mlp.dense_4h_to_h")):
            w = sd[f"{ours}{our}.weight"]
            t[f"{theirs}{their}.weight"] = w
            t[f"{theirs}{their}.bias"] = zeros_if_none(sd, f"{ours}{our}.bias", w.shape[0])
    # the output head is written even when tied: transformers 4 calls it embed_out, 5 renames it on loading
    tail, arch = norm_and_head(sd, cfg, norm="gpt_neox.final_layer_norm", family="GPTNeoX", arch="GPTNeoXForCausalLM",
                               lm_head={"embed_out.weight": sd.get("lm_head.weight", sd["wte.weight"])})
    t.update(tail)
    config = {"architectures": [arch], "model_type": "gpt_neox", "vocab_size": cfg.vocab_size, "hidden_size": C,
              "num_hidden_layers": cfg.n_layer, "num_attention_heads": nh, "intermediate_size": mlp_width(cfg),
              "hidden_act": GELU_NAMES[cfg.mlp], "max_position_embeddings": cfg.block_size,
              "layer_norm_eps": cfg.norm_eps, "use_parallel_residual": False, "attention_bias": True,
              "rotary_pct": 1.0, "rotary_emb_base": cfg.rope_base, **rope_config(cfg),
              "attention_dropout": cfg.dropout, "hidden_dropout": cfg.dropout,
              "tie_word_embeddings": cfg.tie_weights and not cfg.num_labels, **special_ids(tokenizer, cfg)}
    config["rope_parameters"]["partial_rotary_factor"] = 1.0
    return t, config


def import_config(hf: dict) -> GPTConfig:
    if hf.get("use_parallel_residual", True):
        raise UserError("this GPT-NeoX adds attention and MLP in parallel (use_parallel_residual), which the engine's "
                        "blocks do not: only sequential GPT-NeoX models can be imported")
    rotary = (hf.get("rope_parameters") or {}).get("partial_rotary_factor", hf.get("rotary_pct", 0.25))
    if rotary != 1.0:
        raise UserError(f"this GPT-NeoX rotates {rotary:.0%} of each head (rotary_pct); the engine rotates all of it")
    return imported_config(hf, "gpt_neox", "GPT-NeoX", bias=True, position="rope", arch="gpt",
                           rope_base=rope_theta(hf))


def import_tensors(cfg: GPTConfig, sd: dict) -> dict:
    C = cfg.n_embd
    nh = cfg.n_head
    t = {"wte.weight": sd["gpt_neox.embed_in.weight"], "ln_f.weight": sd["gpt_neox.final_layer_norm.weight"],
         "ln_f.bias": sd["gpt_neox.final_layer_norm.bias"]}
    for i in range(cfg.n_layer):
        theirs, ours = LAYER.format(i), f"h.{i}."
        for our, their in (("ln_1", "input_layernorm"), ("ln_2", "post_attention_layernorm"),
                           ("attn.c_proj", "attention.dense"), ("mlp.c_fc", "mlp.dense_h_to_4h"),
                           ("mlp.c_proj", "mlp.dense_4h_to_h")):
            t[f"{ours}{our}.weight"] = sd[f"{theirs}{their}.weight"]
            t[f"{ours}{our}.bias"] = zeros_if_none(sd, f"{theirs}{their}.bias", sd[f"{theirs}{their}.weight"].shape[0])
        t[ours + "attn.c_attn.weight"] = _qkv_in(sd[theirs + "attention.query_key_value.weight"], nh)
        t[ours + "attn.c_attn.bias"] = _qkv_in(zeros_if_none(sd, theirs + "attention.query_key_value.bias", 3 * C), nh)
    head = sd.get("embed_out.weight", sd.get("lm_head.weight"))
    if not cfg.tie_weights and head is not None:
        t["lm_head.weight"] = head
    return t
