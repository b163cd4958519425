"""Time a few real training steps of a designed model on the chosen device, so the estimate of a run's
time is a measurement rather than a FLOP count: the optimizer step (its micro-batches included), a
forward pass (what an evaluation repeats) and a decoded token (what a sample repeats), and the memory
all that took at its peak (engine/runtime/peak_memory.py). It runs in a process of its own started as a
training process is (its allocator, threads and malloc settings), so that what a first step costs any
process (libraries paged in, thread pools) is counted as the run will count it, whatever the asking
process did before. Results are cached per device, threads and shape, so a form that comes back to a
shape asks nothing again:
    python -m engine.train.calibrate < {"config": TOML, "vocab_size": N, "device": "cpu"} > the result"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from engine.config import schema as config_mod
from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.data.files import default_cache_dir
from engine.infer.generate import SamplingOptions, stream
from engine.launch.allocator import training_env
from engine.model.build import build_model, gpt_config, label_head_of
from engine.plan.estimate import CALIBRATION_FILE, calibration_key
from engine.runtime import fp8
from engine.runtime.device import autocast, prepare, resolve_precision
from engine.runtime.peak_memory import PeakMemory
from engine.train.optim import make_optimizer

MEASURE_TIMEOUT_S = 900


def measure(cfg: RunConfig, vocab_size: int, *, device: str = "cpu", steps: int = 3) -> dict:
    """{"step_s", "first_step_s", "forward_s", "token_s", "memory_bytes"} in the run's precision: medians over
    `steps` timed steps after the first (warm-up) step, which is timed apart; the peak memory above what the
    process held before."""
    dev = torch.device(device)
    precision = resolve_precision(cfg.train.precision, dev)
    memory = PeakMemory(dev).start()
    torch.manual_seed(0)
    objective = cfg.model.objective  # a tagger's head: a few labels at every token (the demo has nine)
    labels = {"classify": 2, "tag": 9, "span": 2}.get(objective, 0)
    model = build_model(gpt_config(cfg.model, vocab_size, arch=cfg.arch, num_labels=labels,
                                   label_head=label_head_of(objective))).to(dev)
    model = fp8.apply(model, precision)
    optimizer = make_optimizer(model, cfg.train, dev.type)
    B, T = cfg.train.batch_size, cfg.model.block_size
    ids = torch.randint(0, vocab_size, (B, T), device=dev)
    batch = _batch(cfg, ids)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def step():
        for _ in range(cfg.train.grad_accum):
            with autocast(dev, precision):
                loss = model(**batch)[1]
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times = []
    for _ in range(steps + 1):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    first, times = times[0], times[1:]
    model.eval()
    forward = []
    with torch.no_grad(), autocast(dev, precision):
        for _ in range(3):
            t0 = time.perf_counter()
            model(**batch)
            sync()
            forward.append(time.perf_counter() - t0)
    token_s = 0.0
    if cfg.arch == "gpt" and cfg.model.objective not in ("classify", "tag", "span"):
        n = 16
        t0 = time.perf_counter()
        list(stream(model, [0], SamplingOptions(max_new_tokens=n, temperature=0.8, top_k=50, seed=0), device=dev))
        token_s = (time.perf_counter() - t0) / n
    return {"step_s": statistics.median(times), "first_step_s": first, "forward_s": statistics.median(forward),
            "token_s": token_s, "memory_bytes": memory.peak()}


def _batch(cfg: RunConfig, ids: torch.Tensor) -> dict:
    if cfg.arch == "t5":
        T = cfg.model.target_block_size or cfg.model.block_size
        tgt = ids[:, :T] if T <= ids.size(1) else torch.zeros(ids.size(0), T, dtype=ids.dtype, device=ids.device)
        return {"src": ids, "tgt_in": tgt, "targets": tgt}
    if cfg.model.objective == "classify":
        return {"idx": ids, "targets": torch.zeros(ids.size(0), dtype=torch.long, device=ids.device)}
    if cfg.model.objective == "tag":
        return {"idx": ids, "targets": torch.zeros_like(ids)}
    if cfg.model.objective == "span":  # the answer's start and end, the question and context as token types
        return {"idx": ids, "targets": torch.zeros(ids.size(0), 2, dtype=torch.long, device=ids.device),
                "token_types": torch.zeros_like(ids)}
    return {"idx": ids, "targets": ids}


def measure_apart(cfg: RunConfig, vocab_size: int, *, device: str = "cpu") -> dict:
    """measure() in a new process started as training processes are, with the run's thread count."""
    request = json.dumps({"config": cfg.to_toml(), "vocab_size": vocab_size, "device": device})
    try:
        done = subprocess.run([sys.executable, "-m", "engine.train.calibrate"], input=request, capture_output=True,
                              text=True, env=training_env(dict(os.environ)), timeout=MEASURE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UserError(f"timing three steps of this shape took over {MEASURE_TIMEOUT_S // 60} minutes: "
                        f"the estimate stays the FLOP count's") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["it stopped without a word"])[-1]
        raise UserError(f"the timing process failed: {last[:300]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cached_measure(cfg: RunConfig, vocab_size: int, *, device: str = "cpu", cache_dir: Path | None = None,
                   again: bool = False) -> dict:
    """measure_apart(), or what it said before for this device, threads and shape (`again`: measured anew, the
    new figures replacing the old, as when the machine was busy the first time)."""
    path = Path(cache_dir or default_cache_dir()) / CALIBRATION_FILE
    key = calibration_key(cfg, vocab_size, device)
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if again or key not in known:
        known[key] = measure_apart(cfg, vocab_size, device=device)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(known, indent=1))
    return known[key]


def _main() -> None:
    req = json.loads(sys.stdin.read())
    cfg = config_mod.loads(req["config"])
    prepare(torch.device(req["device"]), cfg.train.threads)  # as the trainer does: 0 is torch's default
    print(json.dumps(measure(cfg, int(req["vocab_size"]), device=req["device"])))


if __name__ == "__main__":
    _main()
