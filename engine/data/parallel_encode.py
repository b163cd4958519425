"""Encoding a large corpus on every core: contiguous shards of the documents, one process each.

Each worker cleans and encodes its shard into its own token and offset files; the parent streams them
into the corpus's files in order, a document separator between shards, so the result is the same as
one process would write. Deduplication needs every document at once, so it keeps to one process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np

from engine.data.clean import CleanStats, clean_documents
from engine.data.corpus import Documents
from engine.data.token_file import encode_to_file, progress_interval
from engine.data.tokenizer import Tokenizer

PARALLEL_MIN_BYTES = 64 << 20
"""Smaller corpora encode faster than worker processes start."""
_done = None  # the workers' shared count of encoded documents


def parallel_workers(corpus_bytes: int, dedupe: bool) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if dedupe or cores < 2 or corpus_bytes < PARALLEL_MIN_BYTES:
        return 1
    return min(cores, 8)


def encode_parallel(docs, clean: dict, tokenizer, path: Path, workers: int, say,
                    separator: str = "\n\n") -> tuple[dict, CleanStats]:
    """Encode `docs` (a Documents) into `path` and `docs.bin` beside it; (counts, cleaning statistics)."""
    ctx = mp.get_context("spawn")  # never fork a process that may hold Qt or torch threads
    done = ctx.Value("q", 0)
    total, started, interval = len(docs), time.monotonic(), progress_interval()
    prefixes = [path.with_name(f"shard-{i}") for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=(done,)) as pool:
        futures = [pool.submit(_encode_shard, docs.dataset, docs.column, i, workers, clean, tokenizer.to_str(),
                               str(prefixes[i]), separator) for i in range(workers)]
        while True:
            finished, pending = wait(futures, timeout=interval or 0.1, return_when=FIRST_EXCEPTION)
            if not pending or any(f.exception() for f in finished):
                break
            n, elapsed = done.value, time.monotonic() - started
            eta = (total - n) * elapsed / n if n else 0
            say("encode", f"{n:,}/{total:,} documents on {workers} processes, ETA {eta:.0f}s")
        results = [f.result() for f in futures]  # a worker's error is raised here
    sep = np.asarray(tokenizer.encode(separator), dtype=np.int64)
    dtype = np.dtype(results[0]["dtype"])
    stats, counts, offset, joined = CleanStats(), {"tokens": 0, "characters": 0, "bytes": 0}, 0, 0
    with open(path, "wb") as out, open(path.with_name("docs.bin"), "wb") as doc_out:
        for prefix, r in zip(prefixes, results):
            stats.documents_in += r["documents_in"]
            stats.documents_out += r["documents_out"]
            for step, n in r["removed"].items():
                stats.add(step, n)
            if r["tokens"] == 0:
                continue
            if offset:
                out.write(sep.astype(dtype).tobytes())
                offset += len(sep)
                joined += 1
            with open(f"{prefix}.bin", "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
            doc_out.write((np.fromfile(f"{prefix}.docs", dtype=np.int64) + offset).tobytes())
            offset += r["tokens"]
            counts["characters"] += r["characters"]
            counts["bytes"] += r["bytes"]
        out.flush()
        os.fsync(out.fileno())
    for prefix in prefixes:
        for suffix in (".bin", ".docs"):
            Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    counts["tokens"] = offset
    counts["characters"] += len(separator) * joined
    counts["bytes"] += len(separator) * joined
    counts["dtype"] = dtype.name
    return counts, stats


def _start_worker(done) -> None:
    global _done
    _done = done
    os.environ.setdefault("RAYON_NUM_THREADS", "1")  # the processes share the cores; no threads on top


def _encode_shard(dataset, column: str, index: int, n: int, clean: dict, tokenizer_json: str, prefix: str,
                  separator: str) -> dict:
    shard = Documents(dataset.shard(n, index, contiguous=True), column, None)
    stats = CleanStats()

    def cleaned():
        for batch in shard.iter_text():
            yield from clean_documents(batch, stats=stats, **clean)

    def count(n_docs: int) -> None:
        with _done.get_lock():
            _done.value += n_docs

    counts = encode_to_file(cleaned(), Tokenizer.from_str(tokenizer_json), Path(f"{prefix}.bin"), len(shard),
                             lambda stage, msg: None, docs_path=Path(f"{prefix}.docs"), on_batch=count,
                            separator=separator)
    return {**counts, "documents_in": stats.documents_in, "documents_out": stats.documents_out,
            "removed": stats.removed}
