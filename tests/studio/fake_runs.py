"""Run folders written as the engine leaves them, without training: events, a checkpoint's meta, and
attention recorded on a probe text, for pages that only read a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

WORDS = ("the quick brown fox jumps over the lazy dog while five boxing wizards judge my vow and pack "
         "a box of liquor jugs for the sphinx of black quartz").split()


def word_tokens(n: int) -> list[str]:
    """n word-like tokens, as a BPE tokenizer cuts English: a leading space on every word but the first."""
    return [("" if i == 0 else " ") + WORDS[i % len(WORDS)] for i in range(n)]


def causal_maps(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    """(layers, heads, n, n) attention as trained heads have it: head 0 of each layer looks at the previous
    token, the others spread over earlier tokens; each row sums to one over the tokens before it."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0.0, 1.0, (layers, heads, n, n))
    idx = np.arange(n)
    scores[:, 0, idx[1:], idx[:-1]] += 6.0
    scores = np.where(idx[None, :] <= idx[:, None], scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)


def write_run(runs: Path, name: str, *, started: float, n_params: int = 1000, steps: int = 10,
              evals: dict[int, float] | None = None, elapsed: float = 5.0, times: dict[int, float] | None = None,
              objective: str = "causal", metrics: dict | None = None, **sections) -> Path:
    """A finished run; evals: {step: validation loss}, times: {step: seconds after the start}, metrics: more
    fields of every evaluation (val_accuracy…); sections: more of the config."""
    from engine.config.schema import from_dict

    folder = runs / name
    (folder / "checkpoints" / f"step-{steps:06d}").mkdir(parents=True)
    cfg = from_dict({"meta": {"name": name}, "data": {"path": str(runs / "corpus.txt")}, "tokenizer": {"kind": "char"},
                     "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16, "objective": objective},
                     "train": {"max_steps": steps, "device": "cpu", "out_dir": str(folder)}, **sections})
    (folder / "run.toml").write_text(cfg.to_toml())
    evals = evals if evals is not None else {steps: 2.0}
    times = times or {}
    events = [{"v": 1, "type": "started", "time": started, "step": 0, "run_dir": str(folder),
               "config": cfg.to_dict(), "n_params": n_params, "device": "cpu", "world_size": 1,
               "resumed_from": None, "objective": objective}]
    events += [{"v": 1, "type": "eval", "time": started + times.get(s, s), "step": s, "train_loss": v,
                "val_loss": v, "val_ppl": float(np.exp(v))} | (metrics or {}) for s, v in evals.items()]
    events.append({"v": 1, "type": "finished", "time": started + elapsed, "step": steps, "reason": "finished",
                   "elapsed": elapsed})
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    checkpoint = folder / "checkpoints" / f"step-{steps:06d}"
    (checkpoint / "meta.json").write_text(json.dumps({"step": steps, "val_loss": min(evals.values(), default=None)}))
    (checkpoint / "model.safetensors").write_bytes(b"")
    return folder


def record_attention(folder: Path, maps: np.ndarray, tokens: list[str], step: int) -> None:
    """The maps a trainer records on its probe text at an evaluation (attention/step-NNNNNN.npy)."""
    out = folder / "attention"
    out.mkdir(exist_ok=True)
    (out / "tokens.json").write_text(json.dumps({"tokens": tokens}))
    np.save(out / f"step-{step:06d}.npy", maps)
