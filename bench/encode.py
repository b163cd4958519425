"""Encoding a large corpus: memory stays bounded as the corpus grows, all cores work, progress has an ETA.

Writes a corpus of paragraphs (Tiny Shakespeare's, shuffled anew in each copy) at two sizes, prepares
each in a fresh process (load through `datasets`, train the tokenizer, encode, cache) and prints:
- peak private memory of the large run / of the small run (bounded memory: close to 1 while the corpus
  grows `--factor` times; memory-mapped Arrow files are left out, the OS drops their pages at will),
- CPU time / (wall time x cores) while encoding (all cores used: close to 1),
- encoding throughput and the progress lines with their ETA.

    python bench/encode.py [--mb 1024] [--factor 8] [--tokenizer char|bpe]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def write_corpus(path: Path, megabytes: float) -> int:
    paragraphs = [p for p in SHAKESPEARE.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    rng = random.Random(0)
    target, written = int(megabytes * 2**20), 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            rng.shuffle(paragraphs)
            chunk = "\n\n".join(paragraphs) + "\n\n"
            f.write(chunk)
            written += len(chunk.encode("utf-8"))
    return written


def prepare_once(corpus: str, cache: str, tokenizer: str) -> dict:
    """In a fresh process: prepare the corpus, timing the encoding stage from its progress events."""
    sys.path.insert(0, str(ROOT))
    from engine.config.schema import from_dict
    from engine.data.encode import prepare_corpus

    cfg = from_dict({"data": {"path": corpus, "cache_dir": cache},
                     "tokenizer": {"kind": tokenizer, "vocab_size": 4096}, "model": {"block_size": 64}})
    lines: list[str] = []
    t0, encode_started = time.monotonic(), None

    def progress(stage: str, message: str) -> None:
        nonlocal encode_started
        if stage == "encode":
            if encode_started is None:
                encode_started = (time.monotonic(), os.times())
            lines.append(message)
            print(f"[{stage}] {message}", file=sys.stderr, flush=True)

    peak = {"anon": 0}
    done = threading.Event()

    def sample_memory() -> None:  # private memory of this process and its workers; mapped files are the OS's
        while not done.wait(0.05):
            peak["anon"] = max(peak["anon"], _rss_anon_mib() + sum(_rss_anon_mib(c) for c in _children()))

    threading.Thread(target=sample_memory, daemon=True).start()
    corpus_info = prepare_corpus(cfg, progress=progress)
    done.set()
    t1, cpu1 = time.monotonic(), os.times()
    start_t, start_cpu = encode_started or (t0, os.times())
    encode_wall = t1 - start_t
    encode_cpu = _cpu(cpu1) - _cpu(start_cpu)  # the encoding workers' time counts once they are joined
    return {"tokens": corpus_info.stats.tokens, "wall_s": round(t1 - t0, 1), "encode_wall_s": round(encode_wall, 1),
            "encode_cpu_s": round(encode_cpu, 1), "progress_lines": len(lines),
            "last_progress": lines[-1] if lines else "", "peak_rss_mib": round(_peak_rss_mib(), 1),
            "peak_private_mib": round(max(peak["anon"], _rss_anon_mib()), 1)}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu(t) -> float:
    return t.user + t.system + t.children_user + t.children_system


def _children() -> list[str]:
    me, out = str(os.getpid()), []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if any(line.split()[1] == me for line in status.read_text().splitlines() if line.startswith("PPid:")):
                out.append(status.parent.name)
        except (OSError, IndexError):
            continue
    return out


def _rss_anon_mib(pid: str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return _peak_rss_mib() if pid == "self" else 0.0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=1024)
    p.add_argument("--factor", type=float, default=8)
    p.add_argument("--tokenizer", default="char")
    p.add_argument("--once", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.once:
        print(json.dumps(prepare_once(*a.once)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="as-encode-"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    results = {}
    for name, mb in (("small", a.mb / a.factor), ("large", a.mb)):
        corpus = tmp / f"{name}.txt"
        size = write_corpus(corpus, mb)
        out = subprocess.run([sys.executable, __file__, "--once", str(corpus), str(tmp / f"cache-{name}"),
                              a.tokenizer], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r.update(corpus_mib=round(size / 2**20, 1), encode_mib_per_s=round(size / 2**20 / max(r["encode_wall_s"], 1e-9),
                                                                            1))
        r["cores_busy"] = round(r["encode_cpu_s"] / max(r["encode_wall_s"], 1e-9) / cores, 2)
        results[name] = r
        print(json.dumps({"size": name, **r}), flush=True)
        corpus.unlink()
    print(json.dumps({
        "corpus_growth": round(results["large"]["corpus_mib"] / results["small"]["corpus_mib"], 2),
        "peak_private_memory_growth": round(results["large"]["peak_private_mib"] /
                                            results["small"]["peak_private_mib"], 2),
        "peak_private_memory_vs_corpus": round(results["large"]["peak_private_mib"] / results["large"]["corpus_mib"],
                                               3),
        "cores_busy_while_encoding": results["large"]["cores_busy"], "cores": cores,
        "tokenizer": a.tokenizer}))


if __name__ == "__main__":
    main()
