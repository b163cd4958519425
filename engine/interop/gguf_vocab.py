"""A run's tokenizer as the GGUF tokenizer keys llama.cpp reads (tokenizer.ggml.*).

byte-level BPE -> "gpt2" (its tokens and merges as they are); a character vocabulary -> "gpt2" too, each
character spelled in byte-level form, with merges that join the bytes of a multi-byte character (so 'é'
is one token, as in the engine); WordPiece -> "bert" (continuations lose "##", word starts gain "▁", as
llama.cpp's WordPiece expects); Unigram -> "llama" (SentencePiece pieces with their scores; llama.cpp
segments by merging pieces, which can split a rare word differently from the engine's Viterbi).
The engine never adds a start token, so add_bos_token is false.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from engine.core.errors import UserError
from engine.data.tokenizer import Tokenizer

NORMAL, UNKNOWN, CONTROL = 1, 2, 3  # gguf.TokenType
SPECIAL_KEYS = {"<unk>": "unk", "[UNK]": "unk", "<eos>": "eos", "[PAD]": "pad", "[SEP]": "sep", "[CLS]": "cls",
                "[MASK]": "mask"}


@dataclass
class GGUFVocab:
    model: str
    """tokenizer.ggml.model: gpt2 | bert | llama"""
    tokens: list[str]
    types: list[int]
    merges: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    pre: str | None = None
    special: dict[str, int] = field(default_factory=dict)
    """unk, eos, pad, sep, cls, mask -> token id"""


def byte_level_alphabet() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (what byte-level BPE vocabularies are spelled in)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def gguf_vocab(tokenizer: Tokenizer) -> GGUFVocab:
    spec = json.loads(tokenizer.to_str())
    kind = spec["model"]["type"]
    added = {t["content"] for t in spec.get("added_tokens", []) if t.get("special")}
    n = tokenizer.vocab_size
    by_id = {i: t for t, i in tokenizer.hf.get_vocab(with_added_tokens=True).items()}
    if len(by_id) != n or set(by_id) != set(range(n)):
        raise UserError("the tokenizer's ids are not 0..N-1 without gaps: it cannot be written into GGUF")
    raw = [by_id[i] for i in range(n)]
    types = [CONTROL if t in added else NORMAL for t in raw]
    special = {SPECIAL_KEYS[t]: i for i, t in enumerate(raw) if t in SPECIAL_KEYS}
    for key in ("unk",):
        if key in special:
            types[special[key]] = UNKNOWN
    if kind == "BPE":
        merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]
        return GGUFVocab("gpt2", raw, types, merges=merges, pre="gpt-2", special=special)
    if kind == "WordLevel":  # the character vocabulary
        table = byte_level_alphabet()
        tokens, merges, seen = [], [], set()
        for t, kind_of in zip(raw, types):
            if kind_of != NORMAL:
                tokens.append(t)
                continue
            spelled = [table[b] for b in t.encode("utf-8")]
            tokens.append("".join(spelled))
            for end in range(2, len(spelled) + 1):
                merge = f"{''.join(spelled[:end - 1])} {spelled[end - 1]}"
                if merge not in seen:
                    seen.add(merge)
                    merges.append(merge)
        merges.sort(key=lambda m: len(m))  # shorter joins first: a character's bytes join left to right
        # llama.cpp wants at least one merge: bytes 0xFE 0xFF never occur in UTF-8 text, so this one never joins
        merges = merges or [f"{table[0xFE]} {table[0xFF]}"]
        return GGUFVocab("gpt2", tokens, types, merges=merges, pre="gpt-2", special=special)
    if kind == "WordPiece":
        def phantom(t: str, kind_of: int) -> str:
            if kind_of != NORMAL:
                return t
            return t[2:] if t.startswith("##") else "\u2581" + t
        return GGUFVocab("bert", [phantom(t, k) for t, k in zip(raw, types)], types, special=special)
    if kind == "Unigram":
        scores = {piece: score for piece, score in spec["model"]["vocab"]}
        return GGUFVocab("llama", raw, types, scores=[float(scores.get(t, 0.0)) for t in raw], special=special)
    raise UserError(f"a {kind} tokenizer cannot be written into GGUF (byte-level BPE, characters, WordPiece and "
                    f"Unigram can)")
