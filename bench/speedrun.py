"""Time to a target validation loss: nanoGPT's baby recipe against the engine's fastest CPU recipe.

Both train character-level Tiny Shakespeare on the engine's split, evaluate every 250 steps on the same
fixed windows (20 batches of 12 x 64 from each split) and stop at the first evaluation at or below the
target (nanoGPT's 1.886). Each contender is a fresh process; the wall time counts from its start (imports,
corpus, model) to its exit. They run in turns, pair after pair, and the medians are compared:
    python bench/speedrun.py [--corpus ../shared/data/tinyshakespeare.txt] [--pairs 2] [--target 1.886]
        [--recipe resources/recipes/baby-speedrun.toml]
With --suite, every corpus of bench/corpora.py instead, nanoGPT's whole recipe against the engine given only the
corpus and a time budget (bench/speedrun_suite.py):
    python bench/speedrun.py --suite [--corpora prose,names] [--pairs 1] [--quick] [--out DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def split_for_nanogpt(config: Path, folder: Path, overrides: list[str] | tuple = ()) -> None:
    """The engine's own train/validation tokens of a run config's corpus, as the nanoGPT contender reads them."""
    from engine.config import schema as config_mod
    from engine.data.encode import prepare_corpus

    cfg = config_mod.load(config, list(overrides))
    train, val = prepare_corpus(cfg).arrays()
    np.save(folder / "train.npy", np.asarray(train))
    np.save(folder / "val.npy", np.asarray(val))


def run(cmd: list[str]) -> tuple[float, str]:
    t = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return time.monotonic() - t, out


def engine_result(out_dir: Path) -> dict:
    from engine.run.events import read_events
    from engine.run.folder import EVENTS_FILE

    events = read_events(out_dir / EVENTS_FILE)
    evals = [(e.step, round(e["val_loss"], 4)) for e in events if e.type == "eval"]
    done = next(e for e in reversed(events) if e.type == "finished")
    return {"reached": done["reason"] == "target_reached", "step": evals[-1][0], "val_loss": evals[-1][1],
            "curve": evals}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
    ap.add_argument("--recipe", default=str(ROOT / "resources" / "recipes" / "baby-speedrun.toml"))
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--target", type=float, default=1.886)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--suite", action="store_true", help="every corpus of bench/corpora.py (bench/speedrun_suite.py)")
    ap.add_argument("--corpora", help="--suite: a comma-separated selection of its corpora (default: all)")
    ap.add_argument("--quick", action="store_true", help="--suite: tiny corpora and steps, a smoke test")
    ap.add_argument("--out", help="--suite: where its corpora and runs go (default: a new temporary folder)")
    ap.add_argument("--cache-dir", default="", help="--suite: data.cache_dir (default: the engine's)")
    ap.add_argument("--engine-set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="--suite: a field for the engine's runs (a tuning trial: the dial keeps what is set)")
    ap.add_argument("--reuse-nanogpt", metavar="LOG",
                    help="--suite: nanoGPT's turns from an earlier suite's output on this machine, not run again "
                         "(a quicker tuning trial; figures to quote come from runs in turns)")
    a = ap.parse_args()
    if a.suite:
        from speedrun_suite import suite_main

        return suite_main(a)
    corpus, recipe = Path(a.corpus).resolve(), Path(a.recipe).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="as-speedrun-"))
    split_for_nanogpt(recipe, tmp, [f"data.path={corpus}"])  # (the engine's corpus cache is warm for its runs too)
    times: dict[str, list[float]] = {"nanogpt": [], "engine": []}
    for pair in range(a.pairs):
        for who in (("nanogpt", "engine") if pair % 2 == 0 else ("engine", "nanogpt")):
            if who == "nanogpt":
                seconds, out = run([sys.executable, str(ROOT / "bench" / "speedrun_nanogpt.py"), str(tmp),
                                    "--target", str(a.target), "--threads", str(a.threads)])
                result = json.loads(out.strip().splitlines()[-1])
            else:
                out_dir = tmp / f"engine-{pair}"
                seconds, _ = run([sys.executable, "-m", "engine", "train", str(recipe), "--events",
                                  "--set", f"data.path={corpus}", "--set", f"train.out_dir={out_dir}",
                                  "--set", f"train.target_loss={a.target}", "--set", f"train.threads={a.threads}"])
                result = engine_result(out_dir)
            times[who].append(seconds)
            rest = {k: v for k, v in result.items() if k not in ("curve", "eval_times")}
            print(json.dumps({"pair": pair, "contender": who, "wall_s": round(seconds, 2), **rest,
                              "curve": result["curve"]}), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"target": a.target, "nanogpt_median_s": round(med["nanogpt"], 2),
                      "engine_median_s": round(med["engine"], 2), "recipe": recipe.name,
                      "time_to_target_ratio": round(med["nanogpt"] / med["engine"], 2)}))


if __name__ == "__main__":
    main()
