"""What a run spends besides its training steps, on the baby recipe with its default cadence.

Trains resources/recipes/baby-shakespeare.toml (evaluation every 250 steps with the head probes,
attention and embedding maps, a sample after each, checkpoints) and prints the share of the run's
time that evaluation, samples and checkpoints took, as the run's `finished` event records it, and
their sum against the issue's 5% budget:
    python bench/overhead.py [--corpus ../shared/data/tinyshakespeare.txt] [--steps 2000] [--threads 2]

With --views, what the "watch it learn" views cost inside the training process (issue 40): three
contenders train the recipe whole, in turns (bench/lockstep.py's RunTimer, blocks of --block steps), so
machine drift hits them alike: `without` (no loss-spike doctor listening and reading the model, no
intervention check before each step), `default` (the trainer as shipped: both on) and `concept` (the
default plus `train.concept_regex`, off by default, at the default cadence). Each --repeats line gives the
whole runs' working seconds and their ratios:
    python bench/overhead.py --views [--steps 600] [--block 20] [--repeats 3] [--threads 1] [--regex "[A-Z]"]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECIPE = ROOT / "resources/recipes/baby-shakespeare.toml"
VIEWS = ("without", "default", "concept")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="another SECTION.KEY=VALUE for the recipe")
    ap.add_argument("--views", action="store_true", help="the watch-it-learn views on against off, in turns")
    ap.add_argument("--block", type=int, default=20, help="--views: steps a turn")
    ap.add_argument("--repeats", type=int, default=1, help="--views: runs in turns, one line each")
    ap.add_argument("--regex", default="[A-Z]", help="--views: the concept contender's train.concept_regex")
    ap.add_argument("--contender", choices=VIEWS, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.contender:
        contend(a)
    elif a.views:
        for _ in range(a.repeats):
            views_in_turns(a)
    else:
        whole_run(a)


def recipe_sets(a, out: Path) -> list[str]:
    return [f"data.path={Path(a.corpus).resolve()}", f"train.out_dir={out}", f"train.max_steps={a.steps}",
            f"train.threads={a.threads}", *a.set]


def whole_run(a) -> None:
    out = Path(tempfile.mkdtemp(prefix="as-overhead-")) / "run"
    cmd = [sys.executable, "-m", "engine", "train", str(RECIPE), "--events"]
    for s in recipe_sets(a, out):
        cmd += ["--set", s]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(ROOT))
    from engine.run.events import read_events
    from engine.run.folder import EVENTS_FILE

    events = read_events(out / EVENTS_FILE)
    done = next(e for e in reversed(events) if e.type == "finished")
    elapsed, spent = done["elapsed"], done["time_spent"]
    shares = {k: round(v / elapsed, 4) for k, v in spent.items()}
    print(json.dumps({"recipe": "baby-shakespeare", "steps": a.steps, "elapsed_s": round(elapsed, 2),
                      "seconds": {k: round(v, 2) for k, v in spent.items()}, "share": shares,
                      "outside_steps_share": round(sum(spent.values()) / elapsed, 4), "budget": 0.05,
                      "val_loss": done.get("best_val_loss"), "set": a.set}))


def views_in_turns(a) -> None:
    """One run of each contender in turns; their working seconds and the two ratios, as a JSON line."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from lockstep import run_in_turns

    from engine.launch.allocator import training_env

    tmp = Path(tempfile.mkdtemp(prefix="as-views-"))
    passed = ["--corpus", a.corpus, "--steps", str(a.steps), "--threads", str(a.threads), "--block", str(a.block),
              "--regex", a.regex, *[x for s in a.set for x in ("--set", s)]]
    contenders = {name: [str(HERE / "overhead.py"), *passed, "--contender", name, "--out", str(tmp / name)]
                  for name in VIEWS}
    extra = {k: v for k, v in training_env(dict(os.environ)).items() if os.environ.get(k) != v}  # as the CLI runs
    res = run_in_turns(contenders, rounds=a.steps // a.block - 1, env={name: extra for name in VIEWS})
    busy = {name: res[name]["busy_s"] for name in VIEWS}
    print(json.dumps({"recipe": "baby-shakespeare", "steps": a.steps, "block": a.block, "threads": a.threads,
                      "busy_s": {k: round(v, 2) for k, v in busy.items()},
                      "views_cost": round(busy["default"] / busy["without"] - 1, 4),
                      "concept_cost": round(busy["concept"] / busy["default"] - 1, 4),
                      "median_step_ms": {k: round(1000 * res[k]["median_step_s"], 2) for k in VIEWS},
                      "evaluation_s": {k: res[k]["spent"].get("evaluation") for k in VIEWS},
                      "regex": a.regex, "allocator": os.path.basename(extra.get("LD_PRELOAD", "glibc")),
                      "set": a.set}), flush=True)


def contend(a) -> None:
    """A contender: the recipe trained whole by the engine's Trainer, in turns; its working seconds."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from lockstep import RunTimer, Turn

    from engine.config import schema
    from engine.run.events import EventWriter
    from engine.train.trainer import Trainer

    out = Path(a.out)
    sets = [*recipe_sets(a, out), f"data.cache_dir={out.parent / (out.name + '-cache')}"]  # none shared
    if a.contender == "concept":
        sets.append(f"train.concept_regex={a.regex}")
    if a.contender == "without":
        leave_out_views()
    cfg = schema.load(RECIPE, sets)
    timer = RunTimer(Turn.from_env(), a.block, a.steps)
    writer = EventWriter(None)
    writer.listeners.append(lambda e: e.type == "step" and timer.tick())
    trainer = Trainer(cfg, events=writer)
    trainer.setup()
    timer.start()
    trainer.fit()
    busy = timer.end()
    spent = {k: round(v, 3) for k, v in trainer.clock.spent.items()}
    trainer.close()
    writer.close()
    timer.turn.finish({"busy_s": busy, "spent": spent, "steps": trainer.step,
                       "median_step_s": statistics.median(timer.step_times)})


def leave_out_views() -> None:
    """The trainer without what the views put inside it: no spike doctor (its listener on every event, its
    reading of the model at start and at each evaluation) and no intervention check before each step."""
    from engine.train import recovery
    from engine.train.intervening import Intervening

    class NoDoctor:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, event) -> None:
            pass

        def examine(self, *args, **kwargs) -> None:
            return None

    recovery.SpikeDoctor = NoDoctor
    Intervening.intervene = lambda self: None


if __name__ == "__main__":
    main()
