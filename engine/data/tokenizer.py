"""Tokenizers built from explicit parts with the `tokenizers` library; all save as one tokenizer.json.

Kinds: char (one token per character seen in the corpus), byte-level BPE, WordPiece, Unigram, or a
tokenizer.json loaded from disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from engine.config.schema import TRAINED_TOKENIZERS
from engine.core.errors import UserError
from engine.core.tomlio import write_atomic

UNK = "<unk>"
EOS = "<eos>"
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


class Tokenizer:
    """A thin wrapper: encode/decode text, token strings for display, and the vocabulary size."""

    def __init__(self, hf: HFTokenizer, kind: str = "file"):
        self.hf = hf
        self.kind = kind
        self._char_table: tuple | None | bool = False  # built on first use

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def ordinary_ids(self) -> np.ndarray:
        """The ids of every token that is not a special one ([PAD], [UNK], <|endoftext|>...)."""
        special = set(self.hf.get_added_tokens_decoder())
        return np.array([i for i in range(self.vocab_size) if i not in special], dtype=np.int64)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]

    def encode_arrays(self, texts: list[str]) -> list[np.ndarray]:
        """Token ids of each text as int64 arrays. A character vocabulary is looked up with NumPy
        (about 50x faster than tokenizing one character at a time); others use the Rust batch encoder,
        which spreads a batch over all cores."""
        table = self._char_lookup()
        if table is None:
            return [np.asarray(e.ids, dtype=np.int64) for e in self.hf.encode_batch(texts, add_special_tokens=False)]
        codepoints, ids, unk = table
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        at = np.minimum(np.searchsorted(codepoints, points), len(codepoints) - 1)
        out = np.where(codepoints[at] == points, ids[at], unk)
        return np.split(out, np.cumsum([len(t) for t in texts])[:-1])

    def add_special_tokens(self, tokens: list[str]) -> None:
        self.hf.add_special_tokens(tokens)
        self._char_table = False  # the lookup no longer describes the vocabulary

    def _char_lookup(self):
        """(sorted code points, their ids, unknown id) when every token is one character (bar <unk>)."""
        if self._char_table is False:
            self._char_table = None
            vocab = self.hf.get_vocab(with_added_tokens=True)
            added = {t.content for t in self.hf.get_added_tokens_decoder().values()}
            singles = {t: i for t, i in vocab.items() if len(t) == 1 and t not in added}
            if self.kind == "char" and added <= {UNK} and len(singles) == len(vocab) - len(added) and UNK in vocab:
                order = sorted(singles, key=ord)
                self._char_table = (np.array([ord(c) for c in order], dtype=np.uint32),
                                    np.array([singles[c] for c in order], dtype=np.int64), vocab[UNK])
        return self._char_table

    def decode(self, ids: Iterable[int]) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=False)

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Each token as readable text (for axis labels and token views)."""
        return [self.decode([i]) for i in ids]

    def unknown_characters(self, text: str) -> list[str]:
        """The characters of `text` this tokenizer can only read as an unknown token, each once, in order."""
        unk = {i for t in (UNK, "[UNK]") if (i := self.token_id(t)) is not None}
        if not unk or not text:
            return []
        enc = self.hf.encode(text, add_special_tokens=False)
        seen: dict[str, None] = {}
        for i, (a, b) in zip(enc.ids, enc.offsets):
            if i in unk:
                for ch in text[a:b]:
                    seen.setdefault(ch, None)
        return list(seen)

    def token_id(self, token: str) -> int | None:
        return self.hf.token_to_id(token)

    def save(self, path: str | Path) -> None:
        write_atomic(path, self.hf.to_str(pretty=False))

    def to_str(self) -> str:
        return self.hf.to_str(pretty=False)

    @classmethod
    def from_str(cls, text: str) -> Tokenizer:
        return cls(HFTokenizer.from_str(text), kind=_guess_kind(text))

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"tokenizer file not found: {path}")
        try:
            return cls.from_str(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"{path.name} is not a tokenizer.json (not UTF-8 text)") from None
        except Exception as e:  # the Rust side raises plain Exceptions with its own message
            raise UserError(f"{path.name} is not a valid tokenizer.json: {str(e).splitlines()[0][:160]}") from None


def train_tokenizer(kind: str, texts: Callable[[], Iterable[str]], *, vocab_size: int = 8192,
                    length: int | None = None) -> Tokenizer:
    """Train a tokenizer of `kind` on the documents that `texts()` yields (it may be called twice)."""
    if kind == "char":
        return _char_tokenizer(texts())
    builders = {"bpe": _bpe, "wordpiece": _wordpiece, "unigram": _unigram}
    if kind not in TRAINED_TOKENIZERS:
        raise UserError(f"unknown tokenizer kind {kind!r}")
    tok, trainer = builders[kind](vocab_size)
    tok.train_from_iterator(texts(), trainer=trainer, length=length)
    return Tokenizer(tok, kind)


def _char_tokenizer(texts: Iterable[str]) -> Tokenizer:
    chars: set[str] = set()
    for t in texts:
        chars.update(t)
    if not chars:
        raise UserError("the corpus has no characters to build a vocabulary from")
    vocab = {c: i for i, c in enumerate(sorted(chars))}
    vocab[UNK] = len(vocab)
    tok = HFTokenizer(models.WordLevel(vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens([UNK])
    return Tokenizer(tok, "char")


def _bpe(vocab_size: int):
    tok = HFTokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    return tok, trainer


def _wordpiece(vocab_size: int):
    tok = HFTokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=BERT_SPECIALS, show_progress=False)
    return tok, trainer


def _unigram(vocab_size: int):
    tok = HFTokenizer(models.Unigram())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=[UNK, EOS], unk_token=UNK,
                                      show_progress=False)
    return tok, trainer


def _guess_kind(text: str) -> str:
    for marker, kind in (('"WordLevel"', "char"), ('"WordPiece"', "wordpiece"), ('"Unigram"', "unigram"),
                         ('"BPE"', "bpe")):
        if marker in text:
            return kind
    return "file"
