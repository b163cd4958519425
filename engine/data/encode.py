"""Preparing a corpus for training: documents -> cleaning -> tokenizer -> one token file, cached.

The token file is a flat uint16/uint32 array (`tokens.bin`); the last `val_fraction` of it is the validation split
(the test split, `test_fraction`, comes before it). A tokenizer trained here (bpe, wordpiece, unigram) learns from
the documents before those held-out splits, so no merge is made from validation or test text. `docs.bin` (int64)
holds where each document starts in it (for sentence pairs). The cache key covers the corpus content, the cleaning
options, the held-out share and the tokenizer, so an unchanged corpus is never encoded twice.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.data.clean import CleanStats, clean_documents
from engine.data.corpus import DOC_SEPARATOR, doc_separator, load_documents
from engine.data.files import default_cache_dir, find_corpus_files, fingerprint, skip_summary
from engine.data.parallel_encode import encode_parallel, parallel_workers
from engine.data.token_file import Progress, encode_to_file
from engine.data.tokenizer import Tokenizer, train_tokenizer
from engine.run.humanlog import counted

ENTRY_META = "meta.json"
"""A cache entry's counts, dtype and source; written last, so an entry with it is whole."""
ENTRY_TOKENIZER = "tokenizer.json"
ENTRY_TOKENS = "tokens.bin"

CACHE_VERSION = "4"
MIN_SPLIT_DOCUMENTS = 20
"""A corpus of fewer documents trains its tokenizer on all of them: held-out documents are too coarse a cut."""


@dataclass
class CorpusStats:
    documents: int
    characters: int
    bytes: int
    tokens: int
    train_tokens: int
    val_tokens: int
    vocab_size: int
    removed: dict[str, int]


@dataclass
class PreparedCorpus:
    tokenizer: Tokenizer
    tokens_path: Path
    dtype: str
    split_at: int
    stats: CorpusStats

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Train and validation token arrays: memmaps, or in RAM when small (faster gathers)."""
        data = np.memmap(self.tokens_path, dtype=self.dtype, mode="r")
        if data.nbytes < 256 << 20:
            data = np.array(data)
        return data[: self.split_at], data[self.split_at:]

    def doc_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """Document start offsets within the train and the validation array."""
        path = self.tokens_path.with_name("docs.bin")
        starts = np.fromfile(path, dtype=np.int64) if path.is_file() else np.zeros(1, dtype=np.int64)
        train = starts[starts < self.split_at]
        val = np.concatenate([[0], starts[starts > self.split_at] - self.split_at]).astype(np.int64)
        return train, val


def cache_root(cfg: RunConfig) -> Path:
    return Path(cfg.data.cache_dir).expanduser() if cfg.data.cache_dir else default_cache_dir()


def prepare_corpus(cfg: RunConfig, *, progress: Progress | None = None,
                   tokenizer: Tokenizer | None = None) -> PreparedCorpus:
    """Encode the corpus (or find it cached); `tokenizer` replaces the [tokenizer] section (fine-tuning)."""
    say = progress or (lambda stage, msg: None)
    d, t = cfg.data, cfg.tokenizer
    root = cache_root(cfg)
    files = find_corpus_files(d.path)
    if tokenizer is not None:
        tok_source = tokenizer.to_str().encode()
    else:
        tok_source = Path(t.path).read_bytes() if t.kind == "file" and Path(t.path).is_file() else b""
        if t.kind == "file" and not tok_source:
            raise UserError(f"tokenizer file not found: {t.path}")
    key = fingerprint(files, CACHE_VERSION, d.text_column, d.documents, d.encoding, d.normalize,
                      str(d.collapse_whitespace), str(d.dedupe), str(d.min_chars), "given" if tokenizer else t.kind,
                      str(t.vocab_size), f"{d.val_fraction + d.test_fraction:.6g}",
                      hashlib.blake2b(tok_source, digest_size=16).hexdigest())
    entry = root / "corpora" / key
    meta_path = entry / ENTRY_META
    if meta_path.is_file():
        say("cache", f"using the encoded corpus cached in {entry}")
        return _from_cache(entry, d.val_fraction, cfg.model.block_size)

    say("load", f"reading {d.path}")
    if files.skipped:
        say("load", skip_summary(files.skipped))
    docs = load_documents(d, root)
    separator = doc_separator(d.documents) if files.saved_dataset is None else DOC_SEPARATOR
    stats = CleanStats()

    def cleaned():
        for batch in docs.iter_text():
            yield from clean_documents(batch, normalize=d.normalize, collapse_whitespace=d.collapse_whitespace,
                                       dedupe=d.dedupe, min_chars=d.min_chars, stats=stats)

    if tokenizer is not None:
        pass
    elif t.kind == "file":
        tokenizer = Tokenizer.load(t.path)
    else:
        say("tokenizer", f"training a {t.kind} tokenizer" + ("" if t.kind == "char" else f" of {t.vocab_size} tokens"))
        learn = cleaned if t.kind == "char" else lambda: _before_held_out(cleaned(), len(docs),
                                                                          d.val_fraction + d.test_fraction)
        tokenizer = train_tokenizer(t.kind, lambda: _and_separator(learn(), separator), vocab_size=t.vocab_size,
                                    length=len(docs))
    stats = CleanStats()  # count again during encoding: tokenizer training may have read the docs twice
    say("encode", f"encoding {counted(len(docs), 'document')}")
    tmp = entry.with_name(f".tmp-{key}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        workers = parallel_workers(sum(f.stat().st_size for f in files.all_files), d.dedupe)
        if workers > 1:
            clean = {"normalize": d.normalize, "collapse_whitespace": d.collapse_whitespace, "dedupe": False,
                     "min_chars": d.min_chars}
            counts, stats = encode_parallel(docs, clean, tokenizer, tmp / ENTRY_TOKENS, workers, say, separator)
        else:
            counts = encode_to_file(cleaned(), tokenizer, tmp / ENTRY_TOKENS, len(docs), say, separator=separator)
        if counts["tokens"] == 0:
            raise UserError(f"{Path(d.path).name} holds no text after cleaning: nothing to train on")
        tokenizer.save(tmp / ENTRY_TOKENIZER)
        meta = {"version": CACHE_VERSION, "dtype": counts.pop("dtype"), "documents": stats.documents_out,
                "removed": stats.removed, **counts, "source": str(d.path), "created": time.time()}
        (tmp / ENTRY_META).write_text(json.dumps(meta, indent=1))
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _from_cache(entry, d.val_fraction, cfg.model.block_size)


def _before_held_out(texts, count: int, held: float):
    """The documents before the last `held` share of `count` (the held-out splits are the token stream's end);
    all of them for a corpus of under MIN_SPLIT_DOCUMENTS. A char vocabulary is not cut: a character seen only in
    held-out text would be unknown there."""
    return texts if count < MIN_SPLIT_DOCUMENTS else itertools.islice(texts, max(1, int(count * (1 - held))))


def _and_separator(texts, separator: str):
    """The documents, then the separator that joins them: a tokenizer must know it (a newline between names)."""
    yield from texts
    yield separator


def split_problem(tokens: int, val_fraction: float, block_size: int) -> str | None:
    """Why a corpus of `tokens` tokens cannot train a context of `block_size` at this split, or None."""
    split_at = int(round(tokens * (1 - val_fraction)))
    n_val, need = tokens - split_at, block_size + 1
    if n_val >= need and split_at >= need:
        return None
    return (f"the corpus has {tokens:,} tokens, so the {'validation' if n_val < need else 'training'} split holds "
            f"{min(n_val, split_at):,}: fewer than model.block_size + 1 = {need}. Lower model.block_size, change "
            f"data.val_fraction, or add text")


def _from_cache(entry: Path, val_fraction: float, block_size: int) -> PreparedCorpus:
    meta = json.loads((entry / ENTRY_META).read_text())
    tokenizer = Tokenizer.load(entry / ENTRY_TOKENIZER)
    n = meta["tokens"]
    if problem := split_problem(n, val_fraction, block_size):
        raise UserError(problem)
    split_at = int(round(n * (1 - val_fraction)))
    n_val = n - split_at
    stats = CorpusStats(documents=meta["documents"], characters=meta["characters"], bytes=meta["bytes"], tokens=n,
                        train_tokens=split_at, val_tokens=n_val, vocab_size=tokenizer.vocab_size,
                        removed=meta.get("removed", {}))
    return PreparedCorpus(tokenizer, entry / ENTRY_TOKENS, meta["dtype"], split_at, stats)


def stats_dict(stats: CorpusStats) -> dict:
    return asdict(stats)
