"""The vocabulary a time budget trains best: the engine given a corpus, a trained tokenizer and `train.time_budget`,
once for each vocabulary size in turns (and once with the size left to the dial), compared in bits per character
of the validation split, the one measure that vocabularies of different sizes share.

A run's bits per character are its best validation loss (nats a token) x the tokens per character of the corpus's
last tenth (about the validation split, which its tokenizer did not learn from) / ln 2. Each run has its own token
cache, so training the tokenizer is part of the budget, as on a user's first run.

    python bench/vocab.py [--corpora prose,code] [--corpus FILE] [--budget 45] [--vocabs 1024,8192,dial]
                          [--kind bpe] [--rounds 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import corpora
from speedrun import ROOT

from engine.config.schema import TokenizerConfig  # noqa: E402 (speedrun puts the repository on the path)
from engine.data.tokenizer import Tokenizer  # noqa: E402
from engine.run.events import read_events  # noqa: E402
from engine.run.folder import EVENTS_FILE, TOKENIZER_FILE  # noqa: E402

DIAL = "dial"


def one_run(data: Path, kind: str, vocab: str, budget: float, folder: Path) -> dict:
    """The engine on `data` for `budget` seconds with a `kind` tokenizer of `vocab` entries (DIAL: left unset)."""
    fields = [f"data.path={data}", f"data.cache_dir={folder / 'cache'}", f"tokenizer.kind={kind}",
              f"train.time_budget={budget}", f"train.out_dir={folder / 'run'}", "train.device=cpu"]
    if vocab != DIAL:  # the default size reads as unset, the dial's to choose: one entry fewer is the user's
        size = int(vocab) - (int(vocab) == TokenizerConfig().vocab_size)
        fields.append(f"tokenizer.vocab_size={size}")
    sets = [arg for field in fields for arg in ("--set", field)]
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "bench.toml"  # every field comes by --set
    config.write_text("")
    done = subprocess.run([sys.executable, "-m", "engine", "train", str(config), *sets], cwd=ROOT, capture_output=True,
                          text=True)
    if done.returncode:
        return {"error": (done.stderr or done.stdout)[-1500:]}
    events = read_events(folder / "run" / EVENTS_FILE)
    started = next(e for e in events if e.type == "started")
    best = min(e["val_loss"] for e in events if e.type == "eval")
    tail = data.read_text(encoding="utf-8")
    tail = tail[int(len(tail) * (1 - started["config"]["data"]["val_fraction"])):]  # about the validation split
    per_char = len(Tokenizer.load(folder / "run" / TOKENIZER_FILE).encode(tail)) / max(1, len(tail))
    chose = {k: c["value"] for k, c in (started.get("budget") or {}).items() if k.startswith(("model.", "tokenizer."))}
    return {"vocab": started["config"]["tokenizer"]["vocab_size"], "tokens_per_char": round(per_char, 4),
            "steps": max(e.step for e in events), "best_val_loss": round(best, 4),
            "bits_per_char": round(best * per_char / math.log(2), 4), "chose": chose}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", default="prose", help="suite corpora (bench/corpora.py), comma-separated")
    p.add_argument("--corpus", action="append", default=[], help="a text file of your own (repeatable)")
    p.add_argument("--budget", type=float, default=45.0)
    p.add_argument("--vocabs", default="512,1024,2048,4096,8192,16384,dial")
    p.add_argument("--kind", default="bpe", choices=["bpe", "wordpiece", "unigram"])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="where the corpora and runs go (default: a temp folder)")
    a = p.parse_args(argv)
    out = (a.out or Path(tempfile.mkdtemp(prefix="vocab-bench-"))).resolve()
    names = [n for n in a.corpora.split(",") if n]
    data = {c.name: path for c, path, _ in corpora.build(out / "corpora", only=names) if path} if names else {}
    data |= {Path(f).stem: Path(f).resolve() for f in a.corpus}
    vocabs = a.vocabs.split(",")
    results: dict[str, dict[str, list[dict]]] = {}
    for turn in range(a.rounds):
        for name, path in data.items():
            for vocab in vocabs:  # in turns: every size once before any twice
                r = one_run(path, a.kind, vocab, a.budget, out / f"{name}-{vocab}-{turn}")
                print(json.dumps({"turn": turn, "corpus": name, "asked": vocab, **r}), flush=True)
                results.setdefault(name, {}).setdefault(vocab, []).append(r)
    for name, by_vocab in results.items():
        scores = {v: min(r["bits_per_char"] for r in rs if "error" not in r) for v, rs in by_vocab.items()
                  if any("error" not in r for r in rs)}
        best = min(scores, key=scores.get) if scores else None
        dial = [r["vocab"] for r in by_vocab.get(DIAL, []) if "error" not in r]
        print(json.dumps({"corpus": name, "bytes": data[name].stat().st_size, "bits_per_char": scores, "best": best,
                          "dial_chose": dial[0] if dial else None}), flush=True)


if __name__ == "__main__":
    main()
