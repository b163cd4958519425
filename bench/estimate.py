"""The Model page's time estimate against what the run then measures, for three shapes on this machine:
the baby recipe (its 2000 steps whole), the "small" preset's shape (6 x 384, context 256) and a GPT-2
small shape (12 x 768, context 1024, a 50k vocabulary), each a few steps on CPU.

For each: the FLOP-count estimate, the calibrated one (engine/train/calibrate.py times three real
steps of the shape first), and the run: its median step (the step events' step_time) and its wall
time from process start to exit, and its peak memory above what the process held before the model was
built (the `finished` event's peak_memory). Prints one JSON line per shape with the ratios estimate /
measured.
    python bench/estimate.py [--corpus ../shared/data/tinyshakespeare.txt] [--threads 2] [--only baby]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHAPES = {  # name: (overrides of the baby recipe, steps)
    "baby": ([], 2000),
    "small": (["model.n_layer=6", "model.n_head=6", "model.n_embd=384", "model.block_size=256",
               "train.eval_interval=20", "train.eval_batches=4", "train.sample_tokens=32"], 40),
    "gpt2-small": (["model.n_layer=12", "model.n_head=12", "model.n_embd=768", "model.block_size=1024",
                    "model.vocab_size=50304", "model.position=learned", "train.batch_size=2",
                    "train.eval_interval=4", "train.eval_batches=1", "train.sample_interval=-1"], 4),
}


def config(corpus: str, sets: list[str], steps: int, threads: int, out: Path):
    from engine.config import schema as C
    from engine.core.tomlio import read_toml

    raw = read_toml(ROOT / "resources/recipes/baby-shakespeare.toml")
    every = [f"data.path={corpus}", f"train.max_steps={steps}", f"train.threads={threads}", f"train.out_dir={out}",
             "train.compile=off", *sets]
    C.apply_overrides(raw, every)
    return C.from_dict(raw), every


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=list(SHAPES))
    a = ap.parse_args()
    import torch

    from engine.plan.estimate import estimate
    from engine.run.folder import EVENTS_FILE
    from engine.runtime.device import peak_flops
    from engine.train.calibrate import measure_apart

    torch.set_num_threads(a.threads)
    peak = peak_flops(torch.device("cpu"), "fp32")
    for name, (sets, steps) in SHAPES.items():
        if a.only and name != a.only:
            continue
        out = Path(tempfile.mkdtemp(prefix="as-estimate-")) / "run"
        cfg, every = config(str(Path(a.corpus).resolve()), sets, steps, a.threads, out)
        vocab = 65
        formula = estimate(cfg, vocab_size=vocab, peak_flops=peak)
        t0 = time.perf_counter()
        measured = measure_apart(cfg, cfg.model.vocab_size or vocab)
        calibration_s = time.perf_counter() - t0
        calibrated = estimate(cfg, vocab_size=vocab, peak_flops=peak, measured=measured)
        cmd = [sys.executable, "-m", "engine", "train", str(ROOT / "resources/recipes/baby-shakespeare.toml"),
               "--events"]
        for s in every:
            cmd += ["--set", s]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        events = [json.loads(x) for x in (out / EVENTS_FILE).read_text().splitlines() if x.strip()]
        step_time = next(e for e in reversed(events) if e["type"] == "step")["step_time"]
        done = next(e for e in reversed(events) if e["type"] == "finished")
        spent, used = done["time_spent"], done.get("peak_memory")
        mib = lambda b: round(b / 2**20, 1) if b else None  # noqa: E731
        print(json.dumps({
            "shape": name, "steps": steps, "measured": {"step_s": round(step_time, 4), "wall_s": round(wall, 1),
                                                        "spent_s": {k: round(v, 2) for k, v in spent.items()}},
            "formula": {"step_s": round(formula.seconds_per_step, 4), "total_s": round(formula.seconds_total, 1)},
            "calibrated": {"step_s": round(calibrated.seconds_per_step, 4),
                           "total_s": round(calibrated.seconds_total, 1), "calibration_s": round(calibration_s, 1)},
            "ratio_step": {"formula": round(formula.seconds_per_step / step_time, 2),
                           "calibrated": round(calibrated.seconds_per_step / step_time, 2)},
            "ratio_total": {"formula": round(formula.seconds_total / wall, 2),
                            "calibrated": round(calibrated.seconds_total / wall, 2)},
            "memory_mib": {"measured_peak": mib(used), "formula": mib(formula.memory_bytes),
                           "calibrated": mib(calibrated.memory_bytes)},
            "ratio_memory": {"formula": round(formula.memory_bytes / used, 2) if used else None,
                             "calibrated": round(calibrated.memory_bytes / used, 2) if used else None}}), flush=True)


if __name__ == "__main__":
    main()
