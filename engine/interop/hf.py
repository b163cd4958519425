"""Hugging Face interoperability: export to a GPT-2 or BERT `transformers` folder, import one back.

Only names and layouts change, never values: GPT-2 stores linear weights as (in, out) Conv1D
matrices, BERT splits the fused query/key/value projection in three. Neither needs `transformers`
installed; the folder holds config.json, model.safetensors and the tokenizer's files. Settings a
GPT-2 or BERT cannot express (rotary positions, RMSNorm, SwiGLU) are refused with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from engine.data.tokenizer import Tokenizer
from engine.errors import UserError
from engine.interop.hf_tokenizer import check_tokenizer, write_tokenizer
from engine.model.gpt import GPTConfig, sinusoid_table
from engine.train.checkpoint import load_tensors

GPT2_ACTS = {"gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh"}
IMPORT_ACTS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh"}


def export_model(model, tokenizer: Tokenizer, out_dir: str | Path, *, labels: list[str] | None = None) -> Path:
    """Write `model` as a transformers folder (atomically: a temporary folder renamed into place)."""
    cfg: GPTConfig = model.config
    problems = [f"{name} = {value!r} ({why})" for name, value, ok, why in (
        ("position", cfg.position, cfg.position in ("learned", "sinusoidal"), "GPT-2 and BERT learn positions"),
        ("norm", cfg.norm, cfg.norm == "layernorm", "they use LayerNorm"),
        ("mlp", cfg.mlp, cfg.mlp in GPT2_ACTS, "they use a GELU MLP"),
    ) if not ok]
    if problems:
        raise UserError("this model cannot be written as a Hugging Face " + ("BERT" if cfg.arch == "bert" else "GPT-2")
                        + " model: " + "; ".join(problems))
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    if cfg.position == "sinusoidal":
        sd["wpe.weight"] = sinusoid_table(cfg.block_size, cfg.n_embd)
    tensors, config = (_bert_export if cfg.arch == "bert" else _gpt2_export)(cfg, sd, tokenizer)
    if labels:
        config["id2label"] = dict(enumerate(labels))
        config["label2id"] = {name: i for i, name in enumerate(labels)}
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty: choose a new folder for the export")
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
    except OSError as e:
        raise UserError(f"cannot create the export folder {out}: {e.strerror}") from None
    try:
        save_file({k: v.contiguous().clone() for k, v in tensors.items()}, tmp / "model.safetensors",
                  metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        write_tokenizer(tmp, tokenizer, cfg)
        check_tokenizer(tmp, tokenizer, cfg)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _zeros_if_none(sd, name, size):
    return sd.get(name, torch.zeros(size))


def _gpt2_export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C = cfg.n_embd
    t = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"]}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", f"transformer.h.{i}."
        for norm in ("ln_1", "ln_2"):
            t[theirs + norm + ".weight"] = sd[ours + norm + ".weight"]
            t[theirs + norm + ".bias"] = _zeros_if_none(sd, ours + norm + ".bias", C)
        for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            w = sd[ours + part + ".weight"]
            t[theirs + part + ".weight"] = w.t()  # Conv1D keeps (in, out)
            t[theirs + part + ".bias"] = _zeros_if_none(sd, ours + part + ".bias", w.shape[0])
    t["transformer.ln_f.weight"] = sd["ln_f.weight"]
    t["transformer.ln_f.bias"] = _zeros_if_none(sd, "ln_f.bias", C)
    arch = "GPT2LMHeadModel"
    if cfg.num_labels:
        t["score.weight"], arch = sd["classifier.weight"], "GPT2ForSequenceClassification"
    elif not cfg.tie_weights:
        t["lm_head.weight"] = sd["lm_head.weight"]
    eos = tokenizer.token_id("<eos>")
    pad = tokenizer.token_id("[PAD]")
    config = {"architectures": [arch], "model_type": "gpt2", "vocab_size": cfg.vocab_size,
              "n_positions": cfg.block_size, "n_embd": C, "n_layer": cfg.n_layer, "n_head": cfg.n_head,
              "n_inner": 4 * C, "activation_function": GPT2_ACTS[cfg.mlp], "resid_pdrop": cfg.dropout,
              "embd_pdrop": cfg.dropout, "attn_pdrop": cfg.dropout, "layer_norm_epsilon": cfg.norm_eps,
              "tie_word_embeddings": cfg.tie_weights and not cfg.num_labels, "bos_token_id": eos,
              "eos_token_id": eos, "pad_token_id": pad if pad is not None else (0 if cfg.num_labels else None)}
    return t, config


def _bert_export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    C = cfg.n_embd
    e = "bert.embeddings."
    t = {e + "word_embeddings.weight": sd["wte.weight"], e + "position_embeddings.weight": sd["wpe.weight"],
         e + "token_type_embeddings.weight": sd["wtt.weight"], e + "LayerNorm.weight": sd["ln_e.weight"],
         e + "LayerNorm.bias": _zeros_if_none(sd, "ln_e.bias", C)}
    for i in range(cfg.n_layer):
        ours, theirs = f"h.{i}.", f"bert.encoder.layer.{i}."
        qkv_w = sd[ours + "attn.c_attn.weight"].split(C, dim=0)
        qkv_b = _zeros_if_none(sd, ours + "attn.c_attn.bias", 3 * C).split(C)
        for name, w, b in zip(("query", "key", "value"), qkv_w, qkv_b):
            t[f"{theirs}attention.self.{name}.weight"], t[f"{theirs}attention.self.{name}.bias"] = w, b
        for our, their in (("attn.c_proj", "attention.output.dense"), ("ln_1", "attention.output.LayerNorm"),
                           ("mlp.c_fc", "intermediate.dense"), ("mlp.c_proj", "output.dense"),
                           ("ln_2", "output.LayerNorm")):
            w = sd[ours + our + ".weight"]
            t[theirs + their + ".weight"] = w
            t[theirs + their + ".bias"] = _zeros_if_none(sd, ours + our + ".bias", w.shape[0])
    if "pooler.weight" in sd:
        t["bert.pooler.dense.weight"] = sd["pooler.weight"]
        t["bert.pooler.dense.bias"] = sd["pooler.bias"]
    if cfg.num_labels:
        arch = "BertForSequenceClassification"
        t["classifier.weight"], t["classifier.bias"] = sd["classifier.weight"], sd["classifier.bias"]
    else:
        arch = "BertForPreTraining" if cfg.nsp else "BertForMaskedLM"
        p = "cls.predictions."
        t[p + "transform.dense.weight"], t[p + "transform.dense.bias"] = sd["mlm_dense.weight"], sd["mlm_dense.bias"]
        t[p + "transform.LayerNorm.weight"] = sd["mlm_ln.weight"]
        t[p + "transform.LayerNorm.bias"] = _zeros_if_none(sd, "mlm_ln.bias", C)
        t[p + "bias"] = t[p + "decoder.bias"] = sd["mlm_bias"]
        if not cfg.tie_weights:
            t[p + "decoder.weight"] = sd["mlm_decoder.weight"]
        if cfg.nsp:
            t["cls.seq_relationship.weight"] = sd["nsp_head.weight"]
            t["cls.seq_relationship.bias"] = sd["nsp_head.bias"]
    pad = tokenizer.token_id("[PAD]")
    config = {"architectures": [arch], "model_type": "bert", "vocab_size": cfg.vocab_size, "hidden_size": C,
              "num_hidden_layers": cfg.n_layer, "num_attention_heads": cfg.n_head, "intermediate_size": 4 * C,
              "hidden_act": cfg.mlp.replace("gelu_tanh", "gelu_pytorch_tanh"), "hidden_dropout_prob": cfg.dropout,
              "attention_probs_dropout_prob": cfg.dropout, "max_position_embeddings": cfg.block_size,
              "type_vocab_size": 2, "layer_norm_eps": cfg.norm_eps, "pad_token_id": pad or 0,
              "position_embedding_type": "absolute", "tie_word_embeddings": cfg.tie_weights}
    return t, config


# ----- import ---------------------------------------------------------------------------------------
def is_hf_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and any(p.glob("*.safetensors"))


def import_model(folder: str | Path) -> tuple[GPTConfig, dict[str, torch.Tensor], Tokenizer]:
    """A GPT-2 or BERT folder (config.json, safetensors, tokenizer) as our config, weights and tokenizer.

    Task heads (a classifier, next-sentence) are left out: the fine-tuning run adds its own."""
    folder = Path(folder)
    try:
        hf = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}/config.json cannot be read: {e}") from None
    kind = hf.get("model_type")
    if kind not in ("gpt2", "bert"):
        raise UserError(f"{folder.name} is a {kind!r} model: only GPT-2 and BERT families can be imported")
    if any(p.suffix == ".bin" for p in folder.iterdir()) and not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder.name} has only pickled .bin weights, which are never loaded: convert to safetensors")
    sd: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        sd.update(load_tensors(f))
    cfg, ours = (_gpt2_import if kind == "gpt2" else _bert_import)(hf, sd)
    return cfg, ours, _import_tokenizer(folder)


def _act(name: str, folder_kind: str) -> str:
    if name not in IMPORT_ACTS:
        raise UserError(f"the {folder_kind} model's activation {name!r} is not supported (gelu or gelu_new)")
    return IMPORT_ACTS[name]


def _gpt2_import(hf: dict, sd: dict) -> tuple[GPTConfig, dict]:
    sd = {k.removeprefix("transformer."): v for k, v in sd.items()}
    C = hf.get("n_embd", 768)
    if hf.get("n_inner") not in (None, 4 * C):
        raise UserError(f"this GPT-2 has an MLP of {hf['n_inner']} (not 4 x {C}): not supported")
    cfg = GPTConfig(vocab_size=hf.get("vocab_size", 50257), block_size=hf.get("n_positions", 1024),
                    n_layer=hf.get("n_layer", 12), n_head=hf.get("n_head", 12), n_embd=C, bias=True,
                    position="learned", mlp=_act(hf.get("activation_function", "gelu_new"), "GPT-2"),
                    norm_eps=hf.get("layer_norm_epsilon", 1e-5), tie_weights=hf.get("tie_word_embeddings", True),
                    arch="gpt", dropout=0.0)
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
    return cfg, t


def _bert_import(hf: dict, sd: dict) -> tuple[GPTConfig, dict]:
    sd = {k.removeprefix("bert."): v for k, v in sd.items()}
    C = hf.get("hidden_size", 768)
    if hf.get("position_embedding_type", "absolute") != "absolute" or hf.get("intermediate_size", 4 * C) != 4 * C:
        raise UserError("only BERT models with absolute positions and a 4x MLP can be imported")
    if hf.get("type_vocab_size", 2) != 2:
        raise UserError(f"this BERT has {hf.get('type_vocab_size')} token types (2 supported)")
    cfg = GPTConfig(vocab_size=hf.get("vocab_size", 30522), block_size=hf.get("max_position_embeddings", 512),
                    n_layer=hf.get("num_hidden_layers", 12), n_head=hf.get("num_attention_heads", 12), n_embd=C,
                    bias=True, position="learned", mlp=_act(hf.get("hidden_act", "gelu"), "BERT"),
                    norm_eps=hf.get("layer_norm_eps", 1e-12), tie_weights=hf.get("tie_word_embeddings", True),
                    arch="bert", dropout=0.0)
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
    return cfg, t


def _import_tokenizer(folder: Path) -> Tokenizer:
    if (folder / "tokenizer.json").is_file():
        return Tokenizer.load(folder / "tokenizer.json")
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, normalizers, pre_tokenizers

    if (folder / "vocab.txt").is_file():
        lower = True
        if (folder / "tokenizer_config.json").is_file():
            lower = json.loads((folder / "tokenizer_config.json").read_text()).get("do_lower_case", True)
        tok = HFTokenizer(models.WordPiece.from_file(str(folder / "vocab.txt"), unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lower)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        specials = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
        tok.add_special_tokens([t for t in specials if tok.token_to_id(t) is not None])
        return Tokenizer(tok, "wordpiece")
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        tok = HFTokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        return Tokenizer(tok, "bpe")
    raise UserError(f"{folder.name} has no tokenizer (tokenizer.json, vocab.txt, or vocab.json + merges.txt)")
