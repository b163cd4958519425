"""A recipe of resources/recipes trained whole on its built-in demo corpus, and the bar its README section states
checked on its last evaluation. The qa recipe is here rather than in `./dev test`: trained whole it takes about
13 minutes of one thread (17 beside the rest of the suite), most of the suite's 20-minute allowance; the shorter
recipes' bars are tests (tests/engine/train/).

    python bench/recipes.py [qa] [--set train.seed=2 ...] [--out DIR]

Prints one JSON line a recipe: its last evaluation's metrics, the bar and whether it was met; exits 1 if one was not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cli import main as engine  # noqa: E402
from engine.demo import make_demo_corpus  # noqa: E402
from engine.run.events import read_events  # noqa: E402
from engine.run.folder import EVENTS_FILE  # noqa: E402

# recipe: (its demo corpus, the metric of its last evaluation, the least it must reach)
BARS = {"qa": ("qa", "val_exact_match", 0.9)}


def train_recipe(name: str, folder: Path, fields: list[str]) -> dict:
    """`name`'s recipe trained on its demo corpus made in `folder` (`fields`: --set overrides); its result line."""
    demo, metric, least = BARS[name]
    corpus = make_demo_corpus(demo, folder)
    run = folder / "run"
    sets = [f"data.path={corpus}", f"data.cache_dir={folder / 'cache'}", f"train.out_dir={run}", *fields]
    code = engine(["train", str(ROOT / "resources" / "recipes" / f"{name}.toml"),
                   *[a for f in sets for a in ("--set", f)]])
    evals = [e for e in read_events(run / EVENTS_FILE) if e.type == "eval"] if code == 0 else []
    last = evals[-1] if evals else None
    metrics = {k: v for k, v in last.fields.items() if k.startswith("val_")} if last else {}
    return {"recipe": name, "exit": code, "step": last.step if last else None, "metrics": metrics,
            "bar": {metric: least}, "met": metrics.get(metric, -1.0) >= least}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipes", nargs="*", default=sorted(BARS), choices=sorted(BARS))
    ap.add_argument("--set", dest="fields", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", type=Path, help="where the runs go (default: a temporary folder, removed after)")
    args = ap.parse_args(argv)
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.recipes:
            line = train_recipe(name, (args.out or Path(tmp)) / name, args.fields)
            print(json.dumps(line), flush=True)
            met &= line["met"]
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
