"""What a run spends besides its training steps, on the baby recipe with its default cadence.

Trains resources/recipes/baby-shakespeare.toml (evaluation every 250 steps with the head probes,
attention and embedding maps, a sample after each, checkpoints) and prints the share of the run's
time that evaluation, samples and checkpoints took, as the run's `finished` event records it, and
their sum against the issue's 5% budget:
    python bench/overhead.py [--corpus ../shared/data/tinyshakespeare.txt] [--steps 2000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="another SECTION.KEY=VALUE for the recipe")
    a = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="as-overhead-")) / "run"
    sets = [f"data.path={Path(a.corpus).resolve()}", f"train.out_dir={out}", f"train.max_steps={a.steps}",
            f"train.threads={a.threads}", *a.set]
    cmd = [sys.executable, "-m", "engine", "train", str(ROOT / "resources/recipes/baby-shakespeare.toml"), "--events"]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines() if line.strip()]
    done = next(e for e in reversed(events) if e["type"] == "finished")
    elapsed, spent = done["elapsed"], done["time_spent"]
    shares = {k: round(v / elapsed, 4) for k, v in spent.items()}
    print(json.dumps({"recipe": "baby-shakespeare", "steps": a.steps, "elapsed_s": round(elapsed, 2),
                      "seconds": {k: round(v, 2) for k, v in spent.items()}, "share": shares,
                      "outside_steps_share": round(sum(spent.values()) / elapsed, 4), "budget": 0.05,
                      "val_loss": done.get("best_val_loss"), "set": a.set}))


if __name__ == "__main__":
    main()
