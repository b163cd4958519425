"""The special token ids of an exported model, read from the run's tokenizer in this one place, so that
config.json, generation_config.json, the tokenizer files and a GGUF file name the tokens the engine
itself starts, pads and stops with.

The end token is the first of <eos> and </s> the tokenizer knows, the padding token the first of [PAD]
and <pad> (engine/data/pairs.py). A decoder's start token is its end token (the engine adds none; GPT-2
writes it so); an encoder-decoder starts its decoder from the padding token, as T5 does. An id is never
guessed: a tokenizer without the token gives None (a classifier alone pads with 0 then, as its training
did). No `max_length` is written: a generation length in the model's config makes every transformers
`generate` warn, and the context is in the config already.
"""

from __future__ import annotations

from engine.core.errors import UserError
from engine.data.pairs import EOS_NAMES, PAD_NAMES, special_id
from engine.model.gpt import GPTConfig


def special_ids(tokenizer, cfg: GPTConfig) -> dict[str, int | None]:
    """config.json's special token ids for `cfg`'s family: bos, eos and pad (decoders), eos, pad and
    decoder_start (the encoder-decoder), pad (encoders)."""
    eos, pad = special_id(tokenizer, EOS_NAMES), special_id(tokenizer, PAD_NAMES)
    if cfg.num_labels and pad is None:
        pad = 0  # what a classifier's batches were padded with (engine/train/tasks.py)
    if cfg.arch == "t5":
        if eos is None or pad is None:
            raise UserError("this encoder-decoder's tokenizer lacks its start or end token ([PAD] or <pad>, <eos> "
                            "or </s>): it cannot be exported")
        return {"eos_token_id": eos, "pad_token_id": pad, "decoder_start_token_id": pad}
    if cfg.arch == "bert":
        return {"pad_token_id": pad}
    return {"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": pad}


def generation_config(tokenizer, cfg: GPTConfig) -> dict | None:
    """generation_config.json for a model that generates (None for encoders and classifiers): the same ids,
    and a decoder without a padding token pads with its end token, so `generate` needs no pad_token_id."""
    if cfg.arch == "bert" or cfg.num_labels:
        return None
    ids = special_ids(tokenizer, cfg)
    if ids["pad_token_id"] is None:
        ids["pad_token_id"] = ids["eos_token_id"]
    return {k: v for k, v in ids.items() if v is not None}


def special_tokens(tokenizer, cfg: GPTConfig) -> dict[str, str]:
    """The same tokens by name, for tokenizer_config.json and special_tokens_map.json (bos_token, ...); a
    classifier's fallback padding id is no token of its own, so it is not named."""
    eos, pad = special_id(tokenizer, EOS_NAMES), special_id(tokenizer, PAD_NAMES)
    ids = {"bos": eos if cfg.arch == "gpt" else None, "eos": eos if cfg.arch != "bert" else None, "pad": pad}
    return {f"{key}_token": tokenizer.hf.id_to_token(i) for key, i in ids.items() if i is not None}
