"""Which transformers family holds an engine model weight for weight, and the pieces the families share.

learned or sinusoidal positions + LayerNorm + GELU: GPT-2 (decoders) or BERT (encoders); rotary + LayerNorm
+ GELU: GPT-NeoX; rotary + RMSNorm + SwiGLU: Llama; the encoder-decoder: T5 (v1.1). The engine rotates
interleaved pairs (0, 1), (2, 3), ... of each head; GPT-NeoX and Llama rotate halves (0, hs/2), (1, hs/2 + 1),
..., so the query and key rows of each head are reordered on the way out and back (a dot product does not
change when both sides are permuted alike).
"""

from __future__ import annotations

import torch

from engine.config.hf_shape import hf_layout, hf_shape
from engine.core.errors import UserError
from engine.model.gpt import GPTConfig
from engine.plan.estimate import mlp_hidden

GELU_NAMES = {"gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh"}
"""Our MLP activation -> its transformers name."""
IMPORT_ACTS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh"}

FAMILIES = {  # name: (position, norm, MLPs) it holds
    "gpt2": (("learned", "sinusoidal"), "layernorm", tuple(GELU_NAMES)),
    "bert": (("learned", "sinusoidal"), "layernorm", tuple(GELU_NAMES)),
    "gpt_neox": (("rope",), "layernorm", tuple(GELU_NAMES)),
    "llama": (("rope",), "rmsnorm", ("swiglu",)),
}
TITLES = {"gpt2": "GPT-2", "bert": "BERT", "gpt_neox": "GPT-NeoX", "llama": "Llama", "t5": "T5"}


def family_of(cfg: GPTConfig) -> str:
    """The transformers model_type that holds `cfg`, or a UserError naming what each family needs."""
    if cfg.arch == "t5":
        return "t5"  # the encoder-decoder has T5's layout only
    if cfg.arch == "bert" and cfg.prenorm:
        raise UserError("this encoder normalizes before each block (model.prenorm = true) and cannot be written as a "
                        "Hugging Face BERT model, which normalizes after each one: train it with prenorm = false "
                        "to export it")
    names = ("bert",) if cfg.arch == "bert" else ("gpt2", "gpt_neox", "llama")
    for name in names:
        positions, norm, mlps = FAMILIES[name]
        if cfg.position in positions and cfg.norm == norm and cfg.mlp in mlps:
            return name
    what = f"position = {cfg.position!r}, norm = {cfg.norm!r}, mlp = {cfg.mlp!r}"
    if cfg.arch == "bert":
        raise UserError(f"this encoder ({what}) cannot be written as a Hugging Face BERT model, which learns "
                        f"positions and uses LayerNorm and a GELU MLP")
    raise UserError(f"no transformers family holds this decoder ({what}): GPT-2 takes learned positions, "
                    f"LayerNorm and GELU; GPT-NeoX rotary positions, LayerNorm and GELU; Llama rotary positions, "
                    f"RMSNorm and SwiGLU")


def is_tagger(cfg: GPTConfig) -> bool:
    """A token classifier (label_head "tokens"): each family writes it as its *ForTokenClassification."""
    return bool(cfg.num_labels) and cfg.label_head == "tokens"


def label_head(cfg: GPTConfig, sd: dict, family: str, *, tagger_name: str = "classifier") -> tuple[dict, str] | None:
    """A tagger's, a question answerer's or a classifier's head as transformers' `family`ForTokenClassification (its
    head named `tagger_name`), `family`ForQuestionAnswering (qa_outputs: start, end) or
    `family`ForSequenceClassification (`score`, no bias) holds it, with that architecture's name; None for a
    language model."""
    if cfg.num_labels and cfg.label_head == "span":
        return ({"qa_outputs.weight": sd["classifier.weight"], "qa_outputs.bias": sd["classifier.bias"]},
                f"{family}ForQuestionAnswering")
    if is_tagger(cfg):
        return ({f"{tagger_name}.weight": sd["classifier.weight"], f"{tagger_name}.bias": sd["classifier.bias"]},
                f"{family}ForTokenClassification")
    if cfg.num_labels:
        return {"score.weight": sd["classifier.weight"]}, f"{family}ForSequenceClassification"
    return None


def imported_config(hf: dict, family: str, label: str, **fixed) -> GPTConfig:
    """The GPTConfig of a transformers config.json of `family` (named `label` in messages): its shape and layout
    by the family's names (engine/config/hf_shape.py), and what the importer `fixed`."""
    layout = hf_layout(hf, family)
    cfg = GPTConfig(**hf_shape(hf, family), mlp=activation(layout["activation"], label), norm_eps=layout["norm_eps"],
                    tie_weights=layout["tie_weights"], dropout=0.0, **fixed)
    cfg.mlp_hidden = width(cfg.n_embd, cfg.mlp, layout["mlp_hidden"])
    return cfg


def norm_and_head(sd: dict, cfg: GPTConfig, *, norm: str, family: str, arch: str, lm_head: dict) -> tuple[dict, str]:
    """The final LayerNorm as transformers names it (`norm`; an absent bias as zeros) and the output head: a tagger's
    or a classifier's (label_head), else the language model's `lm_head` tensors under architecture `arch`."""
    t = {f"{norm}.weight": sd["ln_f.weight"], f"{norm}.bias": zeros_if_none(sd, "ln_f.bias", cfg.n_embd)}
    if head := label_head(cfg, sd, family):
        return {**t, **head[0]}, head[1]
    return {**t, **lm_head}, arch


def activation(name: str, family: str) -> str:
    if name not in IMPORT_ACTS:
        raise UserError(f"the {family} model's activation {name!r} is not supported (gelu or gelu_new)")
    return IMPORT_ACTS[name]


def width(n_embd: int, mlp: str, hidden: int | None) -> int:
    """GPTConfig.mlp_hidden for an imported MLP of `hidden` units: 0 where that is our default."""
    return 0 if not hidden or hidden == mlp_hidden(n_embd, mlp) else int(hidden)


def zeros_if_none(sd: dict, name: str, size: int) -> torch.Tensor:
    return sd.get(name, torch.zeros(size))


def _halves_order(head_size: int) -> torch.Tensor:
    return torch.cat([torch.arange(0, head_size, 2), torch.arange(1, head_size, 2)])


def to_halves(t: torch.Tensor, n_head: int) -> torch.Tensor:
    """Rows of a query or key projection (weight or bias) from interleaved to half-split rotary order."""
    hs = t.shape[0] // n_head
    return t.reshape(n_head, hs, *t.shape[1:])[:, _halves_order(hs)].reshape(t.shape)


def from_halves(t: torch.Tensor, n_head: int) -> torch.Tensor:
    hs = t.shape[0] // n_head
    back = torch.argsort(_halves_order(hs))
    return t.reshape(n_head, hs, *t.shape[1:])[:, back].reshape(t.shape)


def rope_theta(hf: dict) -> float:
    """The rotary base of a transformers config (v5 keeps it in rope_parameters, v4 beside the others)."""
    params = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if params.get("rope_type", params.get("type", "default")) not in ("default", None):
        raise UserError(f"rotary scaling {params.get('rope_type') or params.get('type')!r} is not supported")
    return float(params.get("rope_theta") or hf.get("rope_theta") or hf.get("rotary_emb_base") or 10000.0)


def rope_config(cfg: GPTConfig) -> dict:
    """The rotary settings both transformers generations read (v4: rope_theta; v5: rope_parameters)."""
    return {"rope_theta": cfg.rope_base, "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_base}}
