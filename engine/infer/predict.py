"""Predictions of encoders and classifiers: fill in [MASK] tokens, label a text with probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.core.errors import UserError
from engine.interop.hf_tokenizer import engine_ids

MASK = "[MASK]"


@dataclass
class MaskGuess:
    position: int
    """Index of the [MASK] among the text's tokens."""
    candidates: list[tuple[str, float]]


def _device(model):
    return next(model.parameters()).device


def encoder_ids(model, tokenizer, text: str) -> list[int]:
    return engine_ids(tokenizer, model.config, text)


@torch.no_grad()
def classify(model, tokenizer, text: str) -> list[tuple[str, float]]:
    """Every label with its probability, most likely first."""
    if not model.config.num_labels or model.config.label_head == "tokens":
        raise UserError("this run's model is not a classifier" + (" but a tagger, which finds entities in a text"
                                                                  if model.config.num_labels else ""))
    ids = encoder_ids(model, tokenizer, text)
    if not tokenizer.encode(text):
        raise UserError("the text is empty after tokenization: type some text")
    model.eval()
    x = torch.tensor([ids], device=_device(model))
    logits, _ = model(x, lengths=torch.tensor([len(ids)], device=x.device))
    probs = torch.softmax(logits.float()[0], -1).tolist()
    labels = list(getattr(model, "labels", None) or [str(i) for i in range(len(probs))])
    return sorted(zip(labels, probs), key=lambda p: -p[1])


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> tuple[str, list[MaskGuess]]:
    """The text with every [MASK] replaced by the model's best guess, and the top guesses for each."""
    if model.config.arch != "bert" or model.config.num_labels:
        raise UserError("filling in [MASK] needs a masked-LM (BERT-style) model")
    mask_id = tokenizer.token_id(MASK)
    ids = encoder_ids(model, tokenizer, text)
    if mask_id is None or mask_id not in tokenizer.encode(text):
        raise UserError(f"type {MASK} where the model should fill in a token, e.g. 'To be or [MASK] to be'")
    if mask_id not in ids:
        raise UserError(f"the {MASK} lies beyond the model's context of {model.config.block_size} tokens: "
                        f"shorten the text before it")
    model.eval()
    logits, _ = model(torch.tensor([ids], device=_device(model)))
    probs = torch.softmax(logits.float()[0], -1)
    specials = [i for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "<unk>") if (i := tokenizer.token_id(t))
                is not None]
    probs[:, specials] = 0
    probs[:, tokenizer.vocab_size:] = 0
    guesses, filled = [], list(ids)
    offset = 1 if ids and ids[0] == tokenizer.token_id("[CLS]") else 0
    for pos, token in enumerate(ids):
        if token != mask_id:
            continue
        top = torch.topk(probs[pos], min(top_k, probs.size(-1)))
        cands = [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices)]
        guesses.append(MaskGuess(pos - offset, cands))
        filled[pos] = int(top.indices[0])
    body = filled[offset: len(filled) - offset] if offset else filled
    return tokenizer.decode(body), guesses
