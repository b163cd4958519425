"""The studio stays responsive while a run streams metrics, and watching a run does not slow it down.

Offscreen, a real main window follows a real trainer that logs every step. A 5 ms timer measures how
late the event loop answers (p50/p99); the same run trained headless and with the window attached,
alternately, gives the throughput ratio. Prints JSON lines:
    python bench/gui_latency.py [--steps 300] [--rounds 2]
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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def config(tmp: Path, name: str, steps: int):
    from engine.config.schema import from_dict

    return from_dict({"meta": {"name": name}, "data": {"path": str(CORPUS), "cache_dir": str(tmp / "cache")},
                      "model": {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64},
                      "train": {"batch_size": 12, "max_steps": steps, "eval_interval": 100, "eval_batches": 4,
                                "log_interval": 1, "device": "cpu", "threads": 1, "sample_tokens": 40,
                                "out_dir": str(tmp / "runs" / name)}})


def median_tps(run_dir: Path) -> float:
    from engine.run.events import read_events
    from engine.run.folder import EVENTS_FILE

    steps = [e for e in read_events(run_dir / EVENTS_FILE) if e.type == "step"]
    return statistics.median(e["tokens_per_s"] for e in steps[len(steps) // 4:])


def headless(tmp: Path, name: str, steps: int) -> float:
    cfg = config(tmp, name, steps)
    path = tmp / f"{name}.toml"
    path.write_text(cfg.to_toml())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "engine", "train", str(path)], check=True, capture_output=True, env=env)
    return median_tps(Path(cfg.train.out_dir))


def with_gui(app, window, tmp: Path, name: str, steps: int) -> tuple[float, list[float]]:
    from PySide6.QtCore import QTimer

    run_dir = window.start_training(config(tmp, name, steps))
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - 0.005))
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    while window.client.is_alive(run_dir) or run_dir in window.client.procs:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    app.processEvents()
    return median_tps(run_dir), lateness


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.main_window import MainWindow
    from studio.settings import Settings

    app = QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="as-gui-bench-"))
    settings = Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    settings.workspace = tmp
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    head, gui, late = [], [], []
    for r in range(args.rounds):
        head.append(headless(tmp, f"headless-{r}", args.steps))
        tps, lateness = with_gui(app, window, tmp, f"gui-{r}", args.steps)
        gui.append(tps)
        late += lateness
    late_ms = sorted(1000 * x for x in late)
    print(json.dumps({"event_loop_lateness_ms_p50": round(late_ms[len(late_ms) // 2], 2),
                      "event_loop_lateness_ms_p99": round(late_ms[int(len(late_ms) * 0.99)], 2),
                      "ticks": len(late_ms)}))
    print(json.dumps({"headless_tokens_per_s": round(statistics.median(head)),
                      "gui_attached_tokens_per_s": round(statistics.median(gui)),
                      "gui_over_headless": round(statistics.median(gui) / statistics.median(head), 3),
                      "rounds": args.rounds, "steps": args.steps}))


if __name__ == "__main__":
    main()
