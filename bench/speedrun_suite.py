"""`bench/speedrun.py --suite`: on every corpus of the suite (bench/corpora.py), nanoGPT's whole baby recipe
against the engine given only the corpus's [data], its tokenizer and a time budget: nanoGPT's whole run time.

A turn of a corpus: nanoGPT's recipe (bench/speedrun_nanogpt.py, `--max-steps` steps on the engine's own split) runs
whole, timed from its process's start to its exit; its final validation loss is the target. Then the engine runs
with `train.time_budget` = that time and stops at its first evaluation at or below the target. Each one's time to
the target counts from its process's start to the end of the evaluation that first reached it (nanoGPT's: usually
its last). Whole runs alternate, corpus after corpus, turn after turn: the engine's budget is wall-clock time, so
the two cannot share the machine in blocks of steps as bench/lockstep.py's contenders do. Prints one JSON line a
turn, then a line a corpus (median times over its turns, their ratio, what the dial chose from the run's started
event) and the geometric mean of the ratios (all, tuned, held out). --quick: tiny corpora and steps, a smoke test.
Tuning trials: --engine-set SECTION.KEY=VALUE gives the engine's runs a field (the dial keeps what is set);
--reuse-nanogpt LOG takes nanoGPT's turns from an earlier output on the same machine instead of running them again.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpora
from speedrun import ROOT, split_for_nanogpt

from engine.run.events import read_events  # noqa: E402 (speedrun puts the repository on the path)
from engine.run.folder import EVENTS_FILE  # noqa: E402

QUICK = {"size": 60_000, "max_steps": 20, "eval_interval": 10, "eval_batches": 2}
FULL = {"size": corpora.SIZE, "max_steps": 2000, "eval_interval": 250, "eval_batches": 20}
"""nanoGPT's baby recipe (../shared/REFERENCE.md): 2000 steps, evaluated every 250 on 20 batches a split."""


def launch(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a process: its wall-clock start (time.time(), as events are stamped), its seconds, its result."""
    start, t = time.time(), time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return start, time.monotonic() - t, done


def nanogpt_turn(data: Path, recipe: dict, threads: int) -> dict:
    start, seconds, done = launch([sys.executable, str(ROOT / "bench" / "speedrun_nanogpt.py"), str(data),
                                   "--target", "0", "--max-steps", str(recipe["max_steps"]), "--eval-interval",
                                   str(recipe["eval_interval"]), "--eval-batches", str(recipe["eval_batches"]),
                                   "--threads", str(threads)])
    if done.returncode:
        return {"error": done.stderr[-2000:]}
    r = json.loads(done.stdout.strip().splitlines()[-1])
    final = r["val_loss"]
    first = next(i for i, (_, v) in enumerate(r["curve"]) if v <= final)
    return {"wall_s": round(seconds, 2), "final_val_loss": final, "step": r["curve"][first][0],
            "to_target_s": round(r["eval_times"][first] - start, 2), "curve": r["curve"]}


def engine_turn(config: Path, out_dir: Path, budget_s: float, target: float, threads: int,
                extra: list[str] = ()) -> dict:
    """`extra`: SECTION.KEY=VALUE fields set for the run (a tuning trial)."""
    sets = [arg for field in extra for arg in ("--set", field)]
    start, seconds, done = launch([sys.executable, "-m", "engine", "train", str(config), *sets,
                                   "--set", f"train.time_budget={budget_s:.2f}", "--set", f"train.target_loss={target}",
                                   "--set", f"train.out_dir={out_dir}", "--set", f"train.threads={threads}",
                                   "--set", "train.device=cpu"])
    if done.returncode:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    events = read_events(out_dir / EVENTS_FILE)
    started = next(e for e in events if e.type == "started")
    evals = [e for e in events if e.type == "eval"]
    hit = next((e for e in evals if e["val_loss"] <= target), None)
    return {"wall_s": round(seconds, 2), "reached": hit is not None, "step": hit.step if hit else None,
            "to_target_s": round(hit.time - start, 2) if hit else None,
            "best_val_loss": round(min(e["val_loss"] for e in evals), 4) if evals else None,
            "chose": {k: c["value"] for k, c in (started.get("budget") or {}).items()},
            "curve": [(e.step, round(e["val_loss"], 4)) for e in evals]}


def earlier_nanogpt(log: str) -> dict[tuple[int, str], dict]:
    """nanoGPT's turns of an earlier suite's output, by (turn, corpus)."""
    lines = [json.loads(line) for line in Path(log).read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    return {(r["turn"], r["corpus"]): r["nanogpt"] for r in lines if "turn" in r and "error" not in r["nanogpt"]}


def geomean(ratios: list[float]) -> float | None:
    return round(math.exp(statistics.fmean(math.log(r) for r in ratios)), 3) if ratios else None


def summary(name: str, held_out: bool, turns: list[tuple[dict, dict]]) -> dict:
    """A corpus's line: median times to nanoGPT's final loss over the turns where both finished, and their ratio."""
    done = [(n, e) for n, e in turns if "error" not in n and "error" not in e]
    reached = [(n, e) for n, e in done if e["reached"]]
    line = {"corpus": name, "held_out": held_out, "turns": len(turns), "engine_reached": f"{len(reached)}/{len(done)}"}
    if done:
        line["nanogpt_final_val_loss"] = statistics.median(n["final_val_loss"] for n, _ in done)
        line["nanogpt_s"] = round(statistics.median(n["to_target_s"] for n, _ in done), 2)
        line["chose"] = done[-1][1]["chose"]
    if reached:
        line["engine_s"] = round(statistics.median(e["to_target_s"] for _, e in reached), 2)
        line["ratio"] = round(statistics.median(n["to_target_s"] for n, _ in reached) / line["engine_s"], 3)
    return line


def suite_main(a) -> None:
    """`a`: speedrun.py's arguments (corpora, quick, pairs, threads, cache_dir, out)."""
    recipe = QUICK if a.quick else FULL
    folder = Path(a.out).resolve() if a.out else Path(tempfile.mkdtemp(prefix="as-suite-"))
    cache_dir = str(Path(a.cache_dir).resolve()) if a.cache_dir else ""
    ready = []
    for corpus, path, skipped in corpora.build(folder / "corpora", recipe["size"],
                                               a.corpora.split(",") if a.corpora else None):
        print(json.dumps(corpora.describe(corpus, path, skipped)), flush=True)
        if path is not None:
            config = folder / corpus.name / "config.toml"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(corpus.config_toml(path, cache_dir), encoding="utf-8")
            split_for_nanogpt(config, config.parent)  # (and the engine's corpus cache is warm for its runs)
            ready.append((corpus, config))
    turns: dict[str, list[tuple[dict, dict]]] = {c.name: [] for c, _ in ready}
    earlier = earlier_nanogpt(a.reuse_nanogpt) if a.reuse_nanogpt else {}
    for turn in range(a.pairs):
        for corpus, config in ready:
            nano = earlier.get((turn, corpus.name)) or nanogpt_turn(config.parent, recipe, a.threads)
            eng = {"error": "nanoGPT failed"} if "error" in nano else engine_turn(
                config, config.parent / f"engine-{turn}", nano["wall_s"], nano["final_val_loss"], a.threads,
                a.engine_set)
            turns[corpus.name].append((nano, eng))
            print(json.dumps({"turn": turn, "corpus": corpus.name, "nanogpt": nano, "engine": eng}), flush=True)
    lines = [summary(c.name, c.held_out, turns[c.name]) for c, _ in ready]
    for line in lines:
        print(json.dumps(line), flush=True)
    ratios = {line["corpus"]: (line["ratio"], line["held_out"]) for line in lines if "ratio" in line}
    print(json.dumps({"suite": [line["corpus"] for line in lines], "quick": a.quick, "engine_set": a.engine_set,
                      "nanogpt_reused": bool(earlier),
                      "all_reached": len(ratios) == len(lines) > 0,
                      "geomean_ratio": geomean([r for r, _ in ratios.values()]),
                      "geomean_tuned": geomean([r for r, held in ratios.values() if not held]),
                      "geomean_held_out": geomean([r for r, held in ratios.values() if held]),
                      "min_ratio": min((r for r, _ in ratios.values()), default=None)}), flush=True)
