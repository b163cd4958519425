"""Shared pieces of the benchmarks: recipes, synthetic corpora, running the Trainer for N steps."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config.schema import from_dict  # noqa: E402

RECIPES = {
    # nanoGPT's baby Shakespeare recipe (REFERENCE.md)
    "baby": dict(model=dict(n_layer=4, n_head=4, n_embd=128, block_size=64), train=dict(batch_size=12), vocab=65),
    "medium": dict(model=dict(n_layer=6, n_head=6, n_embd=384, block_size=256), train=dict(batch_size=12), vocab=65),
    "gpt2-small": dict(model=dict(n_layer=12, n_head=12, n_embd=768, block_size=1024),
                       train=dict(batch_size=16), vocab=50257),
}


def recipe_config(name: str, *, steps: int, device: str, out_dir: str, **train):
    r = RECIPES[name]
    return from_dict({
        "data": {"path": "synthetic"},
        "tokenizer": {"kind": "char"},
        "model": dict(r["model"], dropout=0.0),
        "train": dict(r["train"], max_steps=steps, eval_interval=10**9, eval_batches=1, sample_interval=-1,
                      warmup_steps=10, lr=6e-4, min_lr=6e-5, device=device, out_dir=out_dir, keep_last=1) | train,
    })


def synthetic_corpus(vocab: int, n_tokens: int, folder: Path):
    """Random tokens and a char tokenizer over `vocab` symbols: throughput does not depend on the text."""
    from tokenizers import Tokenizer as HF
    from tokenizers import models

    from engine.data.encode import CorpusStats, PreparedCorpus
    from engine.data.tokenizer import Tokenizer

    rng = np.random.default_rng(0)
    dtype = np.uint16 if vocab < 65535 else np.uint32
    path = folder / "tokens.bin"
    rng.integers(0, vocab, size=n_tokens, dtype=dtype).tofile(path)
    vocab_map = {f"<{i}>": i for i in range(vocab)}
    tok = Tokenizer(HF(models.WordLevel(vocab_map, unk_token="<0>")), "char")
    split = int(n_tokens * 0.9)
    stats = CorpusStats(1, n_tokens, n_tokens, n_tokens, split, n_tokens - split, vocab, {})
    return PreparedCorpus(tok, path, np.dtype(dtype).name, split, stats)


def run_trainer(cfg, corpus=None) -> dict:
    """Train and return the median step time and MFU from the step events, after warm-up."""
    from engine.run.events import EventWriter
    from engine.train.trainer import Trainer

    writer = EventWriter(None)
    steps = []
    writer.listeners.append(lambda e: e.type == "step" and steps.append(e))
    trainer = Trainer(cfg, events=writer, corpus=corpus)
    trainer.setup()
    try:
        trainer.fit()
    finally:
        trainer.close()
        writer.close()
    warm = steps[len(steps) // 4:]
    return {"step_s": statistics.median(e["step_time"] for e in warm),
            "tokens_per_s": statistics.median(e["tokens_per_s"] for e in warm),
            "mfu": statistics.median(e["mfu"] for e in warm), "peak": trainer.peak,
            "flops_per_token": trainer.flops_per_token, "final_loss": steps[-1]["loss"]}


class _Stop(Exception):
    pass


def train_in_turns(cfg, corpus, block: int, report=lambda trainer: {}) -> None:
    """A lockstep contender (lockstep.py): the engine's Trainer, its step events timed in turns of `block`
    steps until the coordinator stops it; it then hears {"step_s", "steps_timed", "loss"} and `report`'s
    figures of the trainer."""
    from lockstep import BlockTimer, Turn

    from engine.run.events import EventWriter
    from engine.train.trainer import Trainer

    timer = BlockTimer(Turn.from_env(), block)
    writer = EventWriter(None)
    losses = []

    def on_event(e):
        if e.type == "step":
            losses.append(e["loss"])
            if not timer.tick():
                raise _Stop

    writer.listeners.append(on_event)
    trainer = Trainer(cfg, events=writer, corpus=corpus)
    trainer.setup()
    timer.start()
    try:
        trainer.fit()
    except _Stop:
        pass
    timer.turn.finish({"step_s": statistics.median(timer.times), "steps_timed": len(timer.times),
                       "loss": losses[-1]} | report(trainer))


def contenders_in_turns(argv: list[str], names: tuple[str, ...], rounds: int) -> dict[str, dict]:
    """Run `argv + [name]` for each contender name in turns (lockstep.py); print and return their figures."""
    from lockstep import run_in_turns

    results = run_in_turns({name: argv + [name] for name in names}, rounds=rounds)
    for name, result in results.items():
        emit({"contender": name, **result})
    return results


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="as-bench-"))


def emit(result: dict) -> None:
    print(json.dumps(result))
