"""Writing documents as one flat token file and a file of where each document starts, streaming."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.data.corpus import DOC_SEPARATOR
from engine.data.tokenizer import Tokenizer

Progress = Callable[[str, str], None]


def progress_interval() -> float:
    """Seconds between progress lines while encoding: ENGINE_PROGRESS_INTERVAL, default 1 (0: every batch)."""
    try:
        return max(0.0, float(os.environ.get("ENGINE_PROGRESS_INTERVAL", "1")))
    except ValueError:
        return 1.0


def encode_to_file(docs, tokenizer: Tokenizer, path: Path, n_docs: int, say: Progress, *,
                   docs_path: Path | None = None, on_batch=None, separator: str = DOC_SEPARATOR) -> dict:
    """Encode documents into `path` (tokens) and `docs_path` (document offsets), streaming."""
    dtype = np.uint16 if tokenizer.vocab_size <= 65535 else np.uint32
    sep = tokenizer.encode(separator)
    n_tokens = n_chars = n_bytes = done = 0
    started = time.monotonic()
    last_report, interval = started, progress_interval()
    batch: list[str] = []
    first = True
    with open(path, "wb") as f, open(docs_path or path.with_name("docs.bin"), "wb") as doc_file:
        sep_arr = np.asarray(sep, dtype=np.int64)

        def flush():
            nonlocal n_tokens, first
            parts, starts, at = [], [], n_tokens
            for ids in tokenizer.encode_arrays(batch):
                if not first:
                    parts.append(sep_arr)
                    at += len(sep_arr)
                first = False
                starts.append(at)
                parts.append(ids)
                at += len(ids)
            f.write(np.concatenate(parts).astype(dtype).tobytes())
            doc_file.write(np.asarray(starts, dtype=np.int64).tobytes())  # streamed: memory stays bounded
            n_tokens = at
            if on_batch is not None:
                on_batch(len(batch))
            batch.clear()

        for doc in docs:
            batch.append(doc)
            n_chars += len(doc)
            n_bytes += len(doc.encode("utf-8"))
            done += 1
            if len(batch) >= 2000:
                flush()
                now = time.monotonic()
                if now - last_report >= interval:
                    rate = done / (now - started)
                    eta = (n_docs - done) / rate if rate > 0 else 0
                    say("encode", f"{done:,}/{n_docs:,} documents, {n_tokens:,} tokens, ETA {eta:.0f}s")
                    last_report = now
        if batch:
            flush()
        f.flush()
        os.fsync(f.fileno())
    if n_docs > 1:
        n_chars += len(separator) * (done - 1)
        n_bytes += len(separator) * (done - 1)
    return {"tokens": n_tokens, "characters": n_chars, "bytes": n_bytes, "dtype": np.dtype(dtype).name}
