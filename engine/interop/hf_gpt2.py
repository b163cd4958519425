"""GPT-2 in transformers' layout: linear weights as (in, out) Conv1D matrices, absent biases as zeros."""

from __future__ import annotations

from engine.interop.families import GELU_NAMES, imported_config, norm_and_head, zeros_if_none
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width


def export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C = cfg.n_embd
    t = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"]}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", f"transformer.h.{i}."
        for norm in ("ln_1", "ln_2"):
            t[theirs + norm + ".weight"] = sd[ours + norm + ".weight"]
            t[theirs + norm + ".bias"] = zeros_if_none(sd, ours + norm + ".bias", C)
        for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            w = sd[ours + part + ".weight"]
            t[theirs + part + ".weight"] = w.t()  # Conv1D keeps (in, out)
            t[theirs + part + ".bias"] = zeros_if_none(sd, ours + part + ".bias", w.shape[0])
    tail, arch = norm_and_head(sd, cfg, norm="transformer.ln_f", family="GPT2", arch="GPT2LMHeadModel",
                               lm_head={} if cfg.tie_weights else {"lm_head.weight": sd["lm_head.weight"]})
    t.update(tail)
    config = {"architectures": [arch], "model_type": "gpt2", "vocab_size": cfg.vocab_size,
              "n_positions": cfg.block_size, "n_embd": C, "n_layer": cfg.n_layer, "n_head": cfg.n_head,
              "n_inner": mlp_width(cfg), "activation_function": GELU_NAMES[cfg.mlp], "resid_pdrop": cfg.dropout,
              "embd_pdrop": cfg.dropout, "attn_pdrop": cfg.dropout, "layer_norm_epsilon": cfg.norm_eps,
              "tie_word_embeddings": cfg.tie_weights and not cfg.num_labels, **special_ids(tokenizer, cfg)}
    return t, config


def import_config(hf: dict) -> GPTConfig:
    return imported_config(hf, "gpt2", "GPT-2", bias=True, position="learned", arch="gpt")


def import_tensors(cfg: GPTConfig, sd: dict) -> dict:
    sd = {k.removeprefix("transformer."): v for k, v in sd.items()}
    t = {"wte.weight": sd["wte.weight"], "wpe.weight": sd["wpe.weight"], "ln_f.weight": sd["ln_f.weight"],
         "ln_f.bias": sd["ln_f.bias"]}
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        for norm in ("ln_1", "ln_2"):
            t[p + norm + ".weight"], t[p + norm + ".bias"] = sd[p + norm + ".weight"], sd[p + norm + ".bias"]
        for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            t[p + part + ".weight"], t[p + part + ".bias"] = sd[p + part + ".weight"].t(), sd[p + part + ".bias"]
    if not cfg.tie_weights and "lm_head.weight" in sd:
        t["lm_head.weight"] = sd["lm_head.weight"]
    return t
