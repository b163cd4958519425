"""BERT in transformers' layout: the fused query/key/value projection split in three, the masked-LM
head as cls.predictions, next-sentence prediction as cls.seq_relationship, a classifier's or a tagger's
head as classifier, a question answerer's as qa_outputs."""

from __future__ import annotations

import torch

from engine.core.errors import UserError
from engine.interop.families import GELU_NAMES, imported_config, label_head, zeros_if_none
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width


def export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C = cfg.n_embd
    e = "bert.embeddings."
    t = {e + "word_embeddings.weight": sd["wte.weight"], e + "position_embeddings.weight": sd["wpe.weight"],
         e + "token_type_embeddings.weight": sd["wtt.weight"], e + "LayerNorm.weight": sd["ln_e.weight"],
         e + "LayerNorm.bias": zeros_if_none(sd, "ln_e.bias", C)}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", f"bert.encoder.layer.{i}."
        qkv_w = sd[ours + "attn.c_attn.weight"].split(C, dim=0)
        qkv_b = zeros_if_none(sd, ours + "attn.c_attn.bias", 3 * C).split(C)
        for name, w, b in zip(("query", "key", "value"), qkv_w, qkv_b):
            t[f"{theirs}attention.self.{name}.weight"], t[f"{theirs}attention.self.{name}.bias"] = w, b
        for our, their in (("attn.c_proj", "attention.output.dense"), ("ln_1", "attention.output.LayerNorm"),
                           ("mlp.c_fc", "intermediate.dense"), ("mlp.c_proj", "output.dense"),
                           ("ln_2", "output.LayerNorm")):
            w = sd[ours + our + ".weight"]
            t[theirs + their + ".weight"] = w
            t[theirs + their + ".bias"] = zeros_if_none(sd, ours + our + ".bias", w.shape[0])
    if "pooler.weight" in sd:
        t["bert.pooler.dense.weight"] = sd["pooler.weight"]
        t["bert.pooler.dense.bias"] = sd["pooler.bias"]
    if cfg.num_labels and cfg.label_head != "sequence":  # a head on every token, no pooler (nor in transformers)
        head, arch = label_head(cfg, sd, "Bert")
        t.update(head)
    elif cfg.num_labels:
        arch = "BertForSequenceClassification"
        t["classifier.weight"], t["classifier.bias"] = sd["classifier.weight"], sd["classifier.bias"]
    else:
        arch = "BertForPreTraining" if cfg.nsp else "BertForMaskedLM"
        p = "cls.predictions."
        t[p + "transform.dense.weight"], t[p + "transform.dense.bias"] = sd["mlm_dense.weight"], sd["mlm_dense.bias"]
        t[p + "transform.LayerNorm.weight"] = sd["mlm_ln.weight"]
        t[p + "transform.LayerNorm.bias"] = zeros_if_none(sd, "mlm_ln.bias", C)
        t[p + "bias"] = t[p + "decoder.bias"] = sd["mlm_bias"]
        if not cfg.tie_weights:
            t[p + "decoder.weight"] = sd["mlm_decoder.weight"]
        if cfg.nsp:
            t["cls.seq_relationship.weight"] = sd["nsp_head.weight"]
            t["cls.seq_relationship.bias"] = sd["nsp_head.bias"]
    config = {"architectures": [arch], "model_type": "bert", "vocab_size": cfg.vocab_size, "hidden_size": C,
              "num_hidden_layers": cfg.n_layer, "num_attention_heads": cfg.n_head, "intermediate_size": mlp_width(cfg),
              "hidden_act": GELU_NAMES[cfg.mlp], "hidden_dropout_prob": cfg.dropout,
              "attention_probs_dropout_prob": cfg.dropout, "max_position_embeddings": cfg.block_size,
              "type_vocab_size": 2, "layer_norm_eps": cfg.norm_eps,
              "position_embedding_type": "absolute", "tie_word_embeddings": cfg.tie_weights,
              **special_ids(tokenizer, cfg)}
    return t, config


def import_config(hf: dict) -> GPTConfig:
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise UserError("only BERT models with absolute positions can be imported")
    if hf.get("type_vocab_size", 2) != 2:
        raise UserError(f"this BERT has {hf.get('type_vocab_size')} token types (2 supported)")
    return imported_config(hf, "bert", "BERT", bias=True, position="learned", arch="bert")


def import_tensors(cfg: GPTConfig, sd: dict) -> dict:
    sd = {k.removeprefix("bert."): v for k, v in sd.items()}
    e = "embeddings."
    t = {"wte.weight": sd[e + "word_embeddings.weight"], "wpe.weight": sd[e + "position_embeddings.weight"],
         "wtt.weight": sd[e + "token_type_embeddings.weight"], "ln_e.weight": sd[e + "LayerNorm.weight"],
         "ln_e.bias": sd[e + "LayerNorm.bias"]}
    for i in range(cfg.n_layer):
        theirs, ours = f"encoder.layer.{i}.", f"h.{i}."
        a = theirs + "attention.self."
        t[ours + "attn.c_attn.weight"] = torch.cat([sd[a + n + ".weight"] for n in ("query", "key", "value")])
        t[ours + "attn.c_attn.bias"] = torch.cat([sd[a + n + ".bias"] for n in ("query", "key", "value")])
        for our, their in (("attn.c_proj", "attention.output.dense"), ("ln_1", "attention.output.LayerNorm"),
                           ("mlp.c_fc", "intermediate.dense"), ("mlp.c_proj", "output.dense"),
                           ("ln_2", "output.LayerNorm")):
            t[ours + our + ".weight"], t[ours + our + ".bias"] = sd[theirs + their + ".weight"], \
                sd[theirs + their + ".bias"]
    if "pooler.dense.weight" in sd:
        t["pooler.weight"], t["pooler.bias"] = sd["pooler.dense.weight"], sd["pooler.dense.bias"]
    p = "cls.predictions."
    if p + "transform.dense.weight" in sd:
        t["mlm_dense.weight"], t["mlm_dense.bias"] = sd[p + "transform.dense.weight"], sd[p + "transform.dense.bias"]
        t["mlm_ln.weight"], t["mlm_ln.bias"] = sd[p + "transform.LayerNorm.weight"], sd[p + "transform.LayerNorm.bias"]
        t["mlm_bias"] = sd.get(p + "bias", sd.get(p + "decoder.bias"))
        if not cfg.tie_weights and p + "decoder.weight" in sd:
            t["mlm_decoder.weight"] = sd[p + "decoder.weight"]
    return t
