"""What a fine-tuning source is, read without torch: a run, a checkpoint or a Hugging Face folder.

The studio's form shows the source's shape while the user chooses, and the config's validation
refuses an objective the source cannot serve (a masked LM needs an encoder, a causal LM a decoder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.config.hf_shape import hf_shape
from engine.config.shape import SHAPE_KEYS
from engine.core.errors import UserError
from engine.run.folder import CHECKPOINTS_DIR, META_FILE, RUN_FILE, checkpoints, meta_of_checkpoint

KINDS = {"gpt": "GPT decoder", "bert": "BERT-style encoder", "t5": "T5-style encoder-decoder"}


@dataclass
class SourceInfo:
    kind: str
    """run | checkpoint | hf"""
    arch: str
    """gpt | bert | t5"""
    shape: dict
    """The [model] fields it fixes: layers, heads, width, context, vocabulary, positions, ..."""
    description: str


def describe_source(path: str | Path) -> SourceInfo:
    p = Path(path).expanduser()
    if (p / "config.json").is_file() and any(p.glob("*.safetensors")):
        return _hf_info(p)
    if (p / META_FILE).is_file():
        meta, kind, name = meta_of_checkpoint(p), "checkpoint", f"{p.parent.parent.name}/{p.name}"
    elif (p / RUN_FILE).is_file():
        found = checkpoints(p)
        if not found:
            raise UserError(f"the run {p.name} has no checkpoint yet: train it first, then fine-tune it")
        meta, kind, name = meta_of_checkpoint(p / CHECKPOINTS_DIR / found[-1][0]), "run", p.name
    else:
        raise UserError(f"{p} is neither a run folder, a checkpoint, nor a Hugging Face model folder")
    model = meta.get("model") or {}
    if not model:
        raise UserError(f"{name} has no model description (meta.json)")
    arch = model.get("arch", "gpt")
    shape = {k: model[k] for k in SHAPE_KEYS if k in model and (arch == "t5" or k != "n_encoder_layer")}
    if arch == "t5":
        shape = {k: v for k, v in shape.items() if k not in ("position", "norm", "mlp")}  # T5's own layout
    return SourceInfo(kind, arch, shape, f"{name} ({KINDS.get(arch, arch)}, "
                                        f"{shape.get('n_layer')} layers × {shape.get('n_embd')} wide)")


def _hf_info(p: Path) -> SourceInfo:
    try:
        hf = json.loads((p / "config.json").read_text())
    except ValueError:
        raise UserError(f"{p.name}/config.json is not JSON") from None
    kind = hf.get("model_type")
    if kind not in ("gpt2", "bert", "t5"):
        raise UserError(f"{p.name} is a {kind!r} model: only the GPT-2, BERT and T5 families can be fine-tuned")
    shape = hf_shape(hf, kind)
    if kind == "t5":
        shape.pop("block_size")  # relative positions: a T5 reads any length
        shape["bias"] = False
        return SourceInfo("hf", "t5", shape, f"Hugging Face T5 {p.name} ({shape['n_encoder_layer']} + "
                                             f"{shape['n_layer']} layers × {shape['n_embd']} wide)")
    arch = "bert" if kind == "bert" else "gpt"
    shape.update(position="learned", norm="layernorm", bias=True)
    return SourceInfo("hf", arch, shape, f"Hugging Face {'BERT' if arch == 'bert' else 'GPT-2'} {p.name} "
                                         f"({shape['n_layer']} layers × {shape['n_embd']} wide)")


def objective_problem(objective: str, arch: str) -> str | None:
    this = f"this source is a {KINDS.get(arch, arch)}"
    if objective == "masked" and arch != "bert":
        return f"a masked LM fine-tunes an encoder (BERT-style); {this}"
    if objective in ("causal", "instruct") and arch != "gpt":
        return f"a {objective} run fine-tunes a GPT decoder; {this}: choose " + (
            "masked or classify" if arch == "bert" else "seq2seq")
    if objective == "seq2seq" and arch != "t5":
        return f"a seq2seq run fine-tunes an encoder-decoder (T5); {this}"
    if objective == "span" and arch != "bert":
        return f"question answering fine-tunes an encoder (BERT-style); {this}"
    if objective in ("classify", "tag") and arch == "t5":
        return f"a classifier or tagger fine-tunes a decoder or an encoder; {this}: choose seq2seq"
    return None


def source_problem(path: str | Path, objective: str, block_size: int) -> str | None:
    """Why a run of `objective` with context `block_size` cannot be fine-tuned from `path`, or None."""
    try:
        source = describe_source(path)
    except UserError as e:
        return str(e)
    context = source.shape.get("block_size")
    if context and block_size > context:
        return (f"its context is {context} tokens, so model.block_size = {block_size} cannot be trained on it: "
                f"set model.block_size to {context} or less")
    return objective_problem(objective, source.arch)
