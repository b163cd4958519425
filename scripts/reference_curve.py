"""Write a recipe's measured reference curve, resources/recipes/NAME.reference.json, from a finished run of it: the
validation loss and every scalar validation metric at each evaluation, the corpus and tokenizer they were measured
on (the studio draws the curve only behind a run on the same ones: studio/recipes.py), when, where and how long,
and the run's few-shot evaluations where it has them (its fewshot.json: accuracy against the number of examples).

    .venv/bin/python scripts/reference_curve.py RUN_DIR [--recipe NAME] [--machine "1 thread of a busy 2-core CPU"]

The recipe's name defaults to the run's meta.name; the file is written beside the recipe's TOML.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config.schema import DEMO_PREFIX, load  # noqa: E402 (after the path above)
from engine.demo.runs import RECIPES  # noqa: E402
from engine.run.events import read_events  # noqa: E402
from engine.run.fewshot_results import read_fewshot  # noqa: E402
from engine.run.folder import EVENTS_FILE, RUN_FILE  # noqa: E402


def corpus_fields(path: str) -> dict:
    """What the studio compares a run's corpus with: a demo by name, a file by name, size and content."""
    if path.startswith(DEMO_PREFIX):
        return {"corpus": path}
    data = Path(path).read_bytes()
    return {"corpus": Path(path).name, "corpus_sha256": hashlib.sha256(data).hexdigest(), "corpus_bytes": len(data)}


def metric_curves(evals: list) -> dict[str, list]:
    """val_loss and each scalar validation metric every evaluation recorded, rounded as the other curves are."""
    def scalar(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    names = [k for k, v in evals[0].fields.items() if k.startswith("val_") and k != "val_ppl"  # exp(val_loss)
             and scalar(v) and all(scalar(e.get(k)) for e in evals)]
    names.sort(key=lambda k: k != "val_loss")
    return {"steps": [e.step for e in evals]} | {k: [round(float(e[k]), 5) for e in evals] for k in names}


def fewshot_curves(run_dir: Path) -> list[dict]:
    return [{"task": e["task"], "checkpoint": e["checkpoint"], "kind": e["kind"], "rows": e["rows"],
             "chance": e.get("chance"), "shots": [s["k"] for s in e["shots"]],
             "accuracy": [round(s["accuracy"], 4) for s in e["shots"]]} for e in read_fewshot(run_dir)]


def reference(run_dir: Path, recipe: str, machine: str | None) -> dict:
    cfg = load(run_dir / RUN_FILE)
    events = read_events(run_dir / EVENTS_FILE)
    evals = [e for e in events if e.type == "eval" and e.get("val_loss") is not None]
    if not evals:
        raise SystemExit(f"{run_dir} has no evaluation with a validation loss: train the recipe first")
    started = next(e for e in events if e.type == "started")
    seconds = round(events[-1].time - started.time)
    day = datetime.date.fromtimestamp(started.time).isoformat()
    machine = machine or started.get("device") or "CPU"
    out = {"measured": f"{day}, this engine, {machine}, resources/recipes/{recipe}.toml ({cfg.data.path}), "
                       f"{seconds} s",
           **corpus_fields(cfg.data.path), "tokenizer": cfg.tokenizer.kind, **metric_curves(evals)}
    if fewshot := fewshot_curves(run_dir):
        out["fewshot"] = fewshot
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--recipe", help="the recipe's name (default: the run's meta.name)")
    parser.add_argument("--machine", help="where it was measured, in words (default: the run's device)")
    args = parser.parse_args()
    recipe = args.recipe or load(args.run_dir / RUN_FILE).name
    if not (RECIPES / f"{recipe}.toml").is_file():
        raise SystemExit(f"no recipe {recipe!r} in {RECIPES}: name one with --recipe")
    path = RECIPES / f"{recipe}.reference.json"
    path.write_text(json.dumps(reference(args.run_dir, recipe, args.machine), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
