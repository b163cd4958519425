"""The tokenizer files of an exported Hugging Face folder, and a check that transformers will tokenize
as the engine does: a pipeline encodes with the tokenizer's special tokens (add_special_tokens=True), so
an encoder's folder carries the [CLS] ... [SEP] template the model was trained with."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer as HFTokenizer
from tokenizers.processors import TemplateProcessing

from engine.core.errors import UserError
from engine.data.pairs import EOS_NAMES, special_id
from engine.data.tokenizer import Tokenizer
from engine.interop.special_ids import special_ids, special_tokens
from engine.model.gpt import GPTConfig
from engine.run.folder import HF_TOKENIZER_FILE

SPECIAL_NAMES = {"[CLS]": "cls_token", "[SEP]": "sep_token", "[MASK]": "mask_token", "[UNK]": "unk_token",
                 "<unk>": "unk_token"}
"""Tokens named by their spelling; the start, end and padding tokens come from special_ids.py."""
SAMPLE = "The quick brown fox jumps over the lazy dog."


def write_tokenizer(folder: Path, tokenizer: Tokenizer, cfg: GPTConfig, chat_template: str | None = None) -> None:
    """tokenizer.json, tokenizer_config.json (with the run's chat template, which `apply_chat_template` renders)
    and special_tokens_map.json."""
    hf = HFTokenizer.from_str(tokenizer.to_str())
    cls, sep = tokenizer.token_id("[CLS]"), tokenizer.token_id("[SEP]")
    eos = special_ids(tokenizer, cfg).get("eos_token_id")
    if cfg.arch == "bert" and cls is not None and sep is not None:
        hf.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                               special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    elif cfg.arch == "t5" and eos is not None:  # T5's tokenizers end every text with its end token
        end = tokenizer.hf.id_to_token(eos)
        hf.post_processor = TemplateProcessing(single=f"$A {end}", pair=f"$A {end} $B:1 {end}:1",
                                               special_tokens=[(end, eos)])
    (folder / HF_TOKENIZER_FILE).write_text(hf.to_str(), encoding="utf-8")
    specials = {key: token for token, key in SPECIAL_NAMES.items() if tokenizer.token_id(token) is not None}
    specials |= special_tokens(tokenizer, cfg)
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": cfg.block_size, **specials}
    if chat_template:
        config["chat_template"] = chat_template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))


def engine_ids(tokenizer: Tokenizer, cfg: GPTConfig, text: str) -> list[int]:
    """What the engine feeds the model for `text` (predict's framing for an encoder)."""
    ids = tokenizer.encode(text)
    cls, sep = tokenizer.token_id("[CLS]"), tokenizer.token_id("[SEP]")
    if cfg.arch == "bert" and cls is not None and sep is not None:
        ids = [cls, *ids[: cfg.block_size - 2], sep]
    elif cfg.arch == "t5" and (eos := special_id(tokenizer, EOS_NAMES)) is not None:
        ids = [*ids[: cfg.block_size - 1], eos]
    return ids[: cfg.block_size]


def check_tokenizer(folder: Path, tokenizer: Tokenizer, cfg: GPTConfig, text: str = SAMPLE) -> None:
    """Encode a sample as a transformers pipeline would with the written tokenizer.json; refuse the export
    if the ids differ from the engine's."""
    words = text.split()
    while len(words) > 1 and len(tokenizer.encode(" ".join(words))) > cfg.block_size - 2:
        words.pop()  # a sample the model's context holds, special tokens included
    text = " ".join(words)
    while len(text) > 1 and len(tokenizer.encode(text)) > cfg.block_size - 2:
        text = text[:-1]
    written = HFTokenizer.from_file(str(folder / HF_TOKENIZER_FILE))
    theirs = written.encode(text, add_special_tokens=True).ids
    ours = engine_ids(tokenizer, cfg, text)
    if theirs != ours:
        raise UserError(f"the exported tokenizer would not tokenize as the engine does ({theirs[:8]} vs "
                        f"{ours[:8]} for {text!r}): the export was not written")
