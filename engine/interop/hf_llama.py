"""Llama in transformers' layout: rotary positions, RMSNorm and a SwiGLU MLP (gate, up, down), separate
query/key/value projections whose query and key rows rotate halves. Every head has its own keys (no
grouped-query attention)."""

from __future__ import annotations

import torch

from engine.config.hf_shape import hf_shape
from engine.core.errors import UserError
from engine.interop.families import from_halves, label_head, rope_config, rope_theta, to_halves, width
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width

LAYER = "model.layers.{}."
SAME = (("ln_1", "input_layernorm"), ("ln_2", "post_attention_layernorm"), ("attn.c_proj", "self_attn.o_proj"),
        ("mlp.c_gate", "mlp.gate_proj"), ("mlp.c_fc", "mlp.up_proj"), ("mlp.c_proj", "mlp.down_proj"))


def export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C, nh = cfg.n_embd, cfg.n_head
    t = {"model.embed_tokens.weight": sd["wte.weight"], "model.norm.weight": sd["ln_f.weight"]}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", LAYER.format(i)
        for our, their in SAME:
            for kind in ("weight", "bias"):
                if f"{ours}{our}.{kind}" in sd:
                    t[f"{theirs}{their}.{kind}"] = sd[f"{ours}{our}.{kind}"]
        for kind in ("weight", "bias"):
            if f"{ours}attn.c_attn.{kind}" in sd:
                q, k, v = sd[f"{ours}attn.c_attn.{kind}"].split(C, dim=0)
                t[f"{theirs}self_attn.q_proj.{kind}"] = to_halves(q, nh)
                t[f"{theirs}self_attn.k_proj.{kind}"] = to_halves(k, nh)
                t[f"{theirs}self_attn.v_proj.{kind}"] = v
    arch = "LlamaForCausalLM"
    if head := label_head(cfg, sd, "Llama", tagger_name="score"):
        t.update(head[0])
        arch = head[1]
    elif not cfg.tie_weights:
        t["lm_head.weight"] = sd["lm_head.weight"]
    config = {"architectures": [arch], "model_type": "llama", "vocab_size": cfg.vocab_size, "hidden_size": C,
              "num_hidden_layers": cfg.n_layer, "num_attention_heads": nh, "num_key_value_heads": nh,
              "head_dim": cfg.head_size, "intermediate_size": mlp_width(cfg), "hidden_act": "silu",
              "max_position_embeddings": cfg.block_size, "rms_norm_eps": cfg.norm_eps, **rope_config(cfg),
              "attention_bias": cfg.bias, "mlp_bias": cfg.bias, "attention_dropout": cfg.dropout,
              "tie_word_embeddings": cfg.tie_weights and not cfg.num_labels, **special_ids(tokenizer, cfg)}
    return t, config


def import_config(hf: dict) -> GPTConfig:
    C, nh = hf["hidden_size"], hf["num_attention_heads"]
    if hf.get("num_key_value_heads") not in (None, nh):
        raise UserError(f"this Llama shares keys between heads ({nh} heads, {hf['num_key_value_heads']} key/value "
                        f"heads): grouped-query attention cannot be imported")
    if hf.get("head_dim") not in (None, C // nh):
        raise UserError(f"this Llama's heads are {hf['head_dim']} wide, not hidden_size / heads = {C // nh}")
    if hf.get("hidden_act", "silu") != "silu":
        raise UserError(f"this Llama's MLP uses {hf['hidden_act']!r}; the engine's SwiGLU uses silu")
    if bool(hf.get("attention_bias", False)) != bool(hf.get("mlp_bias", False)):
        raise UserError("this Llama has biases in only one of attention and MLP; the engine has both or neither")
    cfg = GPTConfig(**hf_shape(hf, "llama"), bias=bool(hf.get("attention_bias", False)),
                    position="rope", norm="rmsnorm", mlp="swiglu", norm_eps=hf.get("rms_norm_eps", 1e-6),
                    tie_weights=hf.get("tie_word_embeddings", False), arch="gpt", dropout=0.0,
                    rope_base=rope_theta(hf))
    cfg.mlp_hidden = width(C, "swiglu", hf.get("intermediate_size"))
    return cfg


def import_tensors(cfg: GPTConfig, sd: dict) -> dict:
    nh = cfg.n_head
    t = {"wte.weight": sd["model.embed_tokens.weight"], "ln_f.weight": sd["model.norm.weight"]}
    for i in range(cfg.n_layer):
        theirs, ours = LAYER.format(i), f"h.{i}."
        for our, their in SAME:
            for kind in ("weight", "bias"):
                if f"{theirs}{their}.{kind}" in sd:
                    t[f"{ours}{our}.{kind}"] = sd[f"{theirs}{their}.{kind}"]
        for kind in ("weight", "bias") if cfg.bias else ("weight",):
            a = theirs + "self_attn."
            t[f"{ours}attn.c_attn.{kind}"] = torch.cat([from_halves(sd[f"{a}q_proj.{kind}"], nh),
                                                         from_halves(sd[f"{a}k_proj.{kind}"], nh),
                                                         sd[f"{a}v_proj.{kind}"]])
    if not cfg.tie_weights and "lm_head.weight" in sd:
        t["lm_head.weight"] = sd["lm_head.weight"]
    return t
