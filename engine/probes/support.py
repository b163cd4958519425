"""Which probes a model supports, decided in one place: the probe commands and the inference worker ask
here before they run, so a probe a model cannot take is refused in one sentence naming what it can.

- a decoder (causal, instruct): attention maps, head scores, head ablation, the logit lens
- a masked LM (BERT-style encoder): attention maps, head scores, the logit lens (through its MLM head)
- a classifier (decoder or encoder): attention maps, head scores
- an encoder-decoder (seq2seq): attention maps of its encoder, decoder and cross-attention stacks
"""

from __future__ import annotations

from engine.core.errors import UserError

PROBES = {"attention": "`attention` (attention maps)", "heads": "`heads` (head scores)",
          "ablation": "`heads --text` (head ablation)", "lens": "`lens` (the logit lens)"}
COMMANDS = {"attention": "`attention`", "heads": "`heads`", "ablation": "`heads --text`", "lens": "`lens`"}
WHY = {
    "ablation": "it measures next-token loss, so it needs a causal language model",
    "lens": "it reads a language model's output head layer by layer",
    "heads": "it scores one stack's self-attention on repeated token sequences",
}


def model_kind(model) -> str:
    """causal, masked, classify or seq2seq: what the model's architecture and head make it."""
    config = model.config
    if config.arch == "t5":
        return "seq2seq"
    if config.num_labels:
        return "classify"
    return "masked" if config.arch == "bert" else "causal"


KINDS = {
    "causal": ("a causal language model", ("attention", "heads", "ablation", "lens")),
    "masked": ("a masked language model", ("attention", "heads", "lens")),
    "classify": ("a classifier", ("attention", "heads")),
    "seq2seq": ("an encoder-decoder (seq2seq) model", ("attention",)),
}


def supported(model) -> tuple[str, ...]:
    return KINDS[model_kind(model)][1]


def require(model, probe: str) -> None:
    """Raise a UserError when `model` cannot take `probe` (a key of PROBES), naming what it supports."""
    kind = model_kind(model)
    title, can = KINDS[kind]
    if probe in can:
        return
    offer = ", ".join(COMMANDS[p] for p in can)
    if kind == "seq2seq":
        offer = "`attention --stack encoder|decoder|cross`"
    raise UserError(f"{PROBES[probe]} is not for this run, {title}: {WHY[probe]}; this run supports {offer}")
