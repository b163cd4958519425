"""Where a fine-tuning run starts: a run folder, one of its checkpoints, or a Hugging Face folder.

The source gives the architecture, the tokenizer and the weights; the new run keeps its own
objective's heads (a classifier starts fresh; a language-model head unused by a classifier is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.data.tokenizer import Tokenizer
from engine.interop.families import TITLES, family_of
from engine.interop.hf import import_model, is_hf_folder
from engine.model import checkpoint as ckpt
from engine.model.build import build_model, gpt_config, label_head_of
from engine.model.gpt import GPTConfig
from engine.model.load import BASE_DIR, model_from_checkpoint, resolve_checkpoint
from engine.model.lora import apply_lora
from engine.run.folder import RUN_FILE, TOKENIZER_FILE


@dataclass
class Source:
    config: GPTConfig
    tensors: dict[str, torch.Tensor]
    tokenizer: Tokenizer
    description: str


def load_source(path: str | Path) -> Source:
    p = Path(path).expanduser()
    if is_hf_folder(p):
        cfg, tensors, tok = import_model(p)
        return Source(cfg, tensors, tok, f"Hugging Face {TITLES[family_of(cfg)]} model {p.name}")
    if (p / ckpt.META_FILE).is_file():
        ck, run_dir = p, (p.parent if p.name == BASE_DIR else p.parent.parent)
    elif (p / RUN_FILE).is_file():
        ck, run_dir = resolve_checkpoint(p), p  # its best checkpoint
    else:
        raise UserError(f"finetune.source {p} is neither a run folder, a checkpoint, nor a Hugging Face model folder "
                        f"(config.json + model.safetensors)")
    model, _ = model_from_checkpoint(ck, run_dir)
    tok_file = ck / TOKENIZER_FILE if (ck / TOKENIZER_FILE).is_file() else run_dir / TOKENIZER_FILE
    return Source(model.config, ckpt.model_tensors(model), Tokenizer.load(tok_file), f"{run_dir.name}/{ck.name}")


def fine_tune_config(source: GPTConfig, *, dropout: float, nsp: bool, num_labels: int, objective: str,
                     label_head: str = "sequence") -> GPTConfig:
    if objective == "masked" and source.arch != "bert":
        raise UserError("masked-LM fine-tuning needs an encoder (BERT-style) source; this one is a GPT decoder")
    kinds = {"gpt": "a GPT decoder", "bert": "a BERT-style encoder", "t5": "a T5-style encoder-decoder"}
    if objective in ("causal", "instruct") and source.arch != "gpt":
        raise UserError(f"{objective} fine-tuning needs a GPT decoder source; this one is {kinds[source.arch]}"
                        + (": choose the masked or classify objective" if source.arch == "bert" else
                           ": choose the seq2seq objective"))
    if objective == "span" and source.arch != "bert":
        raise UserError(f"question answering fine-tunes an encoder (BERT-style) source; this one is "
                        f"{kinds[source.arch]}")
    if (objective == "seq2seq") != (source.arch == "t5"):
        wanted = "an encoder-decoder (T5)" if objective == "seq2seq" else "a decoder or an encoder"
        raise UserError(f"{objective} fine-tuning needs {wanted} source; this one is {kinds[source.arch]}")
    return replace(source, dropout=dropout, nsp=nsp and objective == "masked", num_labels=num_labels,
                   label_head=label_head)


def init_from(model: torch.nn.Module, source: Source) -> tuple[list[str], list[str]]:
    """Copy the source's weights into `model`; returns (new weights left at their init, dropped ones)."""
    own = model.state_dict()
    loaded, dropped = {}, []
    for name, t in source.tensors.items():
        if name not in own:
            dropped.append(name)
        elif tuple(own[name].shape) != tuple(t.shape):
            raise UserError(f"the source's {name} is {tuple(t.shape)} but this run needs {tuple(own[name].shape)}: "
                            f"the vocabulary or shape changed")
        else:
            loaded[name] = t
    model.load_state_dict(loaded, strict=False)
    tied = {"lm_head.weight", "mlm_decoder.weight"} if model.config.tie_weights else set()
    fresh = [n for n in own if n not in loaded and n not in tied]
    return fresh, dropped


def source_for_run(cfg: RunConfig, run_dir: Path, *, resume: bool) -> Source | None:
    """The model a run fine-tunes; a resumed LoRA run reads the base copy in its own folder, and a
    resumed full fine-tune whose source has gone starts from its own newest checkpoint."""
    ft = cfg.finetune
    base = Path(run_dir) / BASE_DIR
    if resume and ft.method == "lora" and (base / ckpt.META_FILE).is_file():
        return load_source(base)
    if not ft.source:
        return None
    own = ckpt.list_checkpoints(run_dir) if resume and not Path(ft.source).exists() else []
    if own:
        return load_source(own[-1].path)
    return load_source(ft.source)


@dataclass
class BuiltModel:
    model: torch.nn.Module
    config: GPTConfig
    lora: dict | None
    """rank, alpha and targets of a LoRA run (recorded in its checkpoints)."""
    base_tensors: dict[str, torch.Tensor] | None
    """A LoRA run's starting weights, saved once as the run's base/ folder."""
    info: dict | None
    """For the `finetune` event: source, method, new and dropped weights."""


def build_for_run(cfg: RunConfig, tokenizer: Tokenizer, source: Source | None, *, arch: str,
                  num_labels: int) -> BuiltModel:
    ft, objective = cfg.finetune, cfg.model.objective
    nsp = cfg.task.nsp and objective == "masked"
    head = label_head_of(objective)
    if source:
        gcfg = fine_tune_config(source.config, dropout=cfg.model.dropout, nsp=nsp, num_labels=num_labels,
                                objective=objective, label_head=head)
    else:
        gcfg = gpt_config(cfg.model, tokenizer.vocab_size, arch=arch, nsp=nsp, num_labels=num_labels,
                          label_head=head)
    if tokenizer.vocab_size > gcfg.vocab_size:
        raise UserError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {gcfg.vocab_size}: the "
                        f"source model lacks tokens this objective needs ([CLS] [SEP] [MASK] [PAD])")
    model = build_model(gcfg)
    info = None
    if source:
        fresh, dropped = init_from(model, source)
        info = {"source": source.description, "method": ft.method, "new": fresh, "dropped": dropped}
    lora = base = None
    if ft.method == "lora":
        base = ckpt.model_tensors(model)
        lora = {"rank": ft.lora_rank, "alpha": ft.lora_alpha, "targets": list(ft.lora_targets)}
        apply_lora(model, targets=ft.lora_targets, rank=ft.lora_rank, alpha=ft.lora_alpha, dropout=ft.lora_dropout)
    return BuiltModel(model, gcfg, lora, base, info)
