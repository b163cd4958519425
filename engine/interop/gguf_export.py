"""Export to GGUF, the file llama.cpp (and the tools built on it: Ollama, LM Studio, llamafile) runs, through
the `gguf` package (llama.cpp's own writer), with the tokenizer inside.

Decoders only, in the llama.cpp architecture that holds them: learned positions + LayerNorm + GELU ->
gpt2, rotary + LayerNorm + GELU -> gptneox, rotary + RMSNorm + SwiGLU -> llama. llama.cpp's llama
rotates interleaved pairs as the engine does, so its queries and keys are written as they are; its
gptneox rotates halves and takes [Q | K | V], so those rows are reordered (engine/interop/families.py).
llama.cpp computes GELU with the tanh approximation, so an exact-GELU model's logits differ slightly.
Weights are F32, F16 or Q8_0 (quantized in NumPy, no C++ build); norms and biases stay F32.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from engine.core.errors import UserError
from engine.interop.families import family_of, to_halves
from engine.interop.gguf_vocab import gguf_vocab
from engine.interop.permissions import as_created
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width

ARCHS = {"gpt2": "gpt2", "gpt_neox": "gptneox", "llama": "llama"}
TYPES = ("f32", "f16", "q8_0")


def export_gguf(model, tokenizer, out: str | Path, *, dtype: str = "f16", chat_template: str | None = None) -> Path:
    """Write `model` as one .gguf file (atomically: a temporary file renamed into place); a chat template
    (engine/data/chat_template.py) goes into its tokenizer.chat_template."""
    try:
        import gguf  # optional: the gguf extra
    except ImportError:
        raise UserError("GGUF export needs the gguf package: pip install -e \".[gguf]\" (./dev installs it)") from None
    cfg: GPTConfig = model.config
    if cfg.arch != "gpt" or cfg.num_labels:
        raise UserError("GGUF holds language models for llama.cpp: export this "
                        + {"bert": "encoder", "t5": "encoder-decoder"}.get(cfg.arch, "classifier")
                        + " as a Hugging Face folder instead")
    if dtype not in TYPES:
        raise UserError(f"--type {dtype!r} is not one of {', '.join(TYPES)}")
    family = family_of(cfg)
    if cfg.position == "sinusoidal":
        raise UserError("llama.cpp has no fixed sinusoidal positions: export this model as a Hugging Face folder")
    out = Path(out)
    if out.suffix != ".gguf":
        raise UserError(f"a GGUF file's name ends in .gguf, got {out.name}")
    if out.exists():
        raise UserError(f"{out} exists: choose a new file name for the export")
    if not out.parent.is_dir():
        raise UserError(f"the folder {out.parent} does not exist")
    vocab = gguf_vocab(tokenizer)
    for key, i in special_ids(tokenizer, cfg).items():  # start, end and padding: the same ids as config.json's
        vocab.special.pop(key.removesuffix("_token_id"), None)
        if i is not None:
            vocab.special[key.removesuffix("_token_id")] = i
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    arch = ARCHS[family]
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    w = gguf.GGUFWriter(str(tmp), arch)
    try:
        _write_header(w, gguf, cfg, family, vocab, dtype)
        if chat_template:
            w.add_chat_template(chat_template)
        for name, t in _tensors(cfg, family, sd):
            _add(w, gguf, name, t, dtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        as_created(tmp)  # the mode any new file gets, whatever the writer chose
        os.replace(tmp, out)
    except BaseException:
        w.close()
        tmp.unlink(missing_ok=True)
        raise
    return out


def _write_header(w, gguf, cfg: GPTConfig, family: str, vocab, dtype: str) -> None:
    w.add_name("attention-studio model")
    w.add_context_length(cfg.block_size)
    w.add_embedding_length(cfg.n_embd)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(mlp_width(cfg))
    w.add_head_count(cfg.n_head)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type({"f32": 0, "f16": 1, "q8_0": 7}[dtype])
    if family == "llama":
        w.add_head_count_kv(cfg.n_head)
        w.add_layer_norm_rms_eps(cfg.norm_eps)
    else:
        w.add_layer_norm_eps(cfg.norm_eps)
    if cfg.position == "rope":
        w.add_rope_freq_base(cfg.rope_base)
        w.add_rope_dimension_count(cfg.head_size)
    if family == "gpt_neox":
        w.add_parallel_residual(False)
    w.add_tokenizer_model(vocab.model)
    if vocab.pre:
        w.add_tokenizer_pre(vocab.pre)
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    if vocab.merges:
        w.add_token_merges(vocab.merges)
    if vocab.scores:
        w.add_token_scores(vocab.scores)
    for key, i in vocab.special.items():
        getattr(w, f"add_{key}_token_id")(i)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)


def _tensors(cfg: GPTConfig, family: str, sd: dict):
    """(GGUF name, tensor) pairs. llama.cpp's gpt2 and gptneox require every bias (absent ones are written
    as zeros); its llama takes them where they are."""
    C, nh = cfg.n_embd, cfg.n_head
    if family != "llama" and not cfg.bias:
        sd = dict(sd)
        for name, t in list(sd.items()):
            if name.endswith(".weight") and not name.startswith(("wte", "wpe", "lm_head")):
                sd.setdefault(name.removesuffix(".weight") + ".bias", torch.zeros(t.shape[0]))
    yield "token_embd.weight", sd["wte.weight"]
    if "wpe.weight" in sd:
        yield "position_embd.weight", sd["wpe.weight"]
    for i in range(cfg.n_layer):
        ours, blk = f"h.{i}.", f"blk.{i}."
        parts = [("ln_1", "attn_norm"), ("ln_2", "ffn_norm"), ("attn.c_proj", "attn_output"), ("mlp.c_fc", "ffn_up"),
                 ("mlp.c_proj", "ffn_down"), ("mlp.c_gate", "ffn_gate")]
        for our, their in parts:
            for kind in ("weight", "bias"):
                if f"{ours}{our}.{kind}" in sd:
                    yield f"{blk}{their}.{kind}", sd[f"{ours}{our}.{kind}"]
        for kind in ("weight", "bias"):
            if f"{ours}attn.c_attn.{kind}" not in sd:
                continue
            q, k, v = sd[f"{ours}attn.c_attn.{kind}"].split(C, dim=0)
            if family == "llama":
                yield from ((f"{blk}attn_{n}.{kind}", t) for n, t in (("q", q), ("k", k), ("v", v)))
            elif family == "gpt_neox":
                yield f"{blk}attn_qkv.{kind}", torch.cat([to_halves(q, nh), to_halves(k, nh), v])
            else:
                yield f"{blk}attn_qkv.{kind}", torch.cat([q, k, v])
    yield "output_norm.weight", sd["ln_f.weight"]
    if "ln_f.bias" in sd:
        yield "output_norm.bias", sd["ln_f.bias"]
    if not cfg.tie_weights or family == "gpt_neox":  # llama.cpp's gptneox always reads an output matrix
        yield "output.weight", sd.get("lm_head.weight", sd["wte.weight"])


def _add(w, gguf, name: str, t: torch.Tensor, dtype: str) -> None:
    a = t.numpy().astype(np.float32)
    if a.ndim == 1 or dtype == "f32":
        w.add_tensor(name, a)
    elif dtype == "q8_0" and a.shape[-1] % 32 == 0:
        q = gguf.GGMLQuantizationType.Q8_0
        w.add_tensor(name, gguf.quants.quantize(a, q), raw_dtype=q)
    else:  # f16, and Q8_0 rows that do not split into blocks of 32
        w.add_tensor(name, a.astype(np.float16))
