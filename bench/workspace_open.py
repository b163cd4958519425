"""How long the studio takes to open on a workspace of many runs (issue: 2,000 runs, under 2 s), with the
summary index (runs/.index.json) and without it (every run's config and events read, as before).

    python bench/workspace_open.py [--runs 2000] [--rounds 3]

Each opening is a fresh process, from its start to the Runs page listing every run; the two kinds take
turns (A B A B ...), so drift on a shared machine hits both alike. Prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from studio.main_window import MainWindow
from studio.settings import Settings
settings = Settings(QSettings(sys.argv[2], QSettings.Format.IniFormat))
settings.workspace = sys.argv[1]
w = MainWindow(settings)
w.show()
while w.runs_page.table.rowCount() < int(sys.argv[3]):
    app.processEvents()
"""


def make_runs(root: Path, n: int) -> None:
    """`n` finished runs of 200 logged steps and 4 evaluations each, written as the engine writes them."""
    from engine.config.schema import RunConfig
    from engine.run.folder import EVENTS_FILE, RUN_FILE

    cfg = RunConfig()
    cfg.data.path = str(root / "corpus.txt")
    for i in range(n):
        d = root / "runs" / f"run-{i:05d}"
        d.mkdir(parents=True, exist_ok=True)
        cfg.name = d.name
        (d / RUN_FILE).write_text(cfg.to_toml())
        t = 1.79e9 + i
        ev = [{"v": 1, "type": "started", "time": t, "step": 0, "run_dir": str(d), "config": {}, "n_params": 1000,
               "device": "cpu", "world_size": 1, "resumed_from": None}]
        for s in range(1, 201):
            ev.append({"v": 1, "type": "step", "time": t + s, "step": s, "loss": 3 - s / 1000, "lr": 1e-3,
                       "grad_norm": 1.0, "tokens_per_s": 1e4, "mfu": 0.1, "elapsed": s / 10, "eta": 1.0})
            if s % 50 == 0:
                ev.append({"v": 1, "type": "eval", "time": t + s, "step": s, "train_loss": 2.9,
                           "val_loss": 3 - s / 900})
        ev.append({"v": 1, "type": "finished", "time": t + 201, "step": 200, "reason": "finished",
                   "best_val_loss": 2.8, "elapsed": 20.0})
        (d / EVENTS_FILE).write_text("\n".join(json.dumps(e) for e in ev) + "\n")


def open_once(ws: Path, n: int, settings: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(ws), str(settings), str(n)], env=env, check=True)
    return time.perf_counter() - t  # process start included


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        make_runs(ws, a.runs)
        times = {"with the index": [], "without (every run read, the index written)": []}
        open_once(ws, a.runs, Path(tmp) / "s0.ini")  # builds the index once, as the first opening does
        for r in range(a.rounds):
            times["with the index"].append(open_once(ws, a.runs, Path(tmp) / f"a{r}.ini"))
            index = ws / "runs" / ".index.json"
            index.unlink()
            times["without (every run read, the index written)"].append(open_once(ws, a.runs, Path(tmp) / f"b{r}.ini"))
        for name, ts in times.items():
            print(f"{a.runs} runs, {name}: median {statistics.median(ts):.2f} s from process start "
                  f"({', '.join(f'{t:.2f}' for t in ts)})")
        without, with_index = (statistics.median(ts) for ts in reversed(times.values()))
        ratio = without / with_index
        print(f"the index opens the studio {ratio:.1f}x sooner")


if __name__ == "__main__":
    main()
