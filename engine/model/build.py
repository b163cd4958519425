"""From the run config's [model] section to a GPT, a BERT-style encoder or a T5-style encoder-decoder, and back
from a checkpoint."""

from __future__ import annotations

from dataclasses import asdict, fields

from engine.config.schema import ModelConfig
from engine.config.shape import shape_of
from engine.core.errors import UserError
from engine.model.encoder import Encoder
from engine.model.gpt import GPT, GPTConfig
from engine.model.seq2seq import Seq2Seq
from engine.plan.estimate import mlp_hidden, padded_vocab


def model_vocab_size(cfg: ModelConfig, tokenizer_vocab: int) -> int:
    if cfg.vocab_size:
        if cfg.vocab_size < tokenizer_vocab:
            raise UserError(f"model.vocab_size {cfg.vocab_size} is smaller than the tokenizer's vocabulary "
                            f"({tokenizer_vocab}): set it to 0 to follow the tokenizer")
        return cfg.vocab_size
    return padded_vocab(tokenizer_vocab)


def label_head_of(objective: str) -> str:
    """Where a model of `objective` reads its labels: at every token (tag: a tag each; span: an answer's start and
    end) or once a text (classify; unused by the language models)."""
    return {"tag": "tokens", "span": "span"}.get(objective, "sequence")


def gpt_config(cfg: ModelConfig, tokenizer_vocab: int, *, arch: str = "gpt", nsp: bool = False,
               num_labels: int = 0, label_head: str = "sequence") -> GPTConfig:
    shape, vocab_size = shape_of(cfg), model_vocab_size(cfg, tokenizer_vocab)
    if arch == "t5":  # T5's own layout (engine/model/seq2seq.py): the form's position, norm and MLP do not apply
        shape.update(bias=False, position="relative", norm="rmsnorm", mlp="gelu_tanh")
        return GPTConfig(**shape, dropout=cfg.dropout, vocab_size=vocab_size, arch="t5", norm_eps=1e-6,
                         mlp_hidden=mlp_hidden(cfg.n_embd, "swiglu"))
    shape.update(n_encoder_layer=0)  # a decoder or an encoder alone has no separate encoder stack
    return GPTConfig(**shape, dropout=cfg.dropout, vocab_size=vocab_size, arch=arch, nsp=nsp, num_labels=num_labels,
                     label_head=label_head)


def gpt_config_from_dict(d: dict) -> GPTConfig:
    names = {f.name for f in fields(GPTConfig)}
    return GPTConfig(**{k: v for k, v in d.items() if k in names})


def build_model(gcfg: GPTConfig):
    if gcfg.arch == "t5":
        return Seq2Seq(gcfg)
    if gcfg.arch == "bert":
        return Encoder(gcfg)
    return GPT(gcfg)


def config_dict(gcfg: GPTConfig) -> dict:
    return asdict(gcfg)


def param_counts(model) -> dict[str, int]:
    """The `started` event's counts: all parameters, those outside the lookup tables (the scaling-law papers'
    non-embedding count) and those in matrix products (the N of 6N FLOPs a token; a tied head counts)."""
    n = sum(p.numel() for p in model.parameters())
    return {"n_params": n, "non_embedding_params": n - model.embedding_params(), "matmul_params": model.num_params()}
