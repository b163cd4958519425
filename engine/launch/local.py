"""Several processes on this machine without torchrun: one per selected GPU, or CPU processes (gloo).

`train.processes = N` or `train.device = "cuda:0,2"` makes the engine start itself N times with the
environment torchrun would give (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT) and wait. Rank 0
alone talks (events on stdout, the run folder); a stop (SIGTERM, Ctrl-C) is passed to every process;
if one process fails, the others are stopped and its exit status is returned. Several machines use
`torchrun` itself with the same config (README).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from engine.launch.allocator import training_env


def local_plan(device: str, processes: int) -> tuple[int, str | None]:
    """(number of processes, CUDA_VISIBLE_DEVICES or None) for a device and a process count."""
    if device.startswith("cuda:") and "," in device:
        gpus = [g.strip() for g in device[5:].split(",") if g.strip()]
        return len(gpus), ",".join(gpus)
    return processes, None


def under_launcher() -> bool:
    return "LOCAL_RANK" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch_local(argv: list[str], n: int, visible: str | None) -> int:
    port = _free_port()
    procs: list[subprocess.Popen] = []
    for rank in range(n):
        threads = os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n)))
        env = training_env(dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(n),
                                LOCAL_WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                                OMP_NUM_THREADS=threads))
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        quiet = subprocess.DEVNULL if rank else None  # rank 0 alone prints events
        procs.append(subprocess.Popen([sys.executable, "-m", "engine", *argv], env=env, stdout=quiet))

    def forward(signum, frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _wait_all(procs)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _wait_all(procs: list[subprocess.Popen]) -> int:
    failed_at = None
    while any(p.poll() is None for p in procs):
        bad = [p for p in procs if p.returncode not in (None, 0)]
        if bad and failed_at is None:
            failed_at = time.monotonic()
            for p in procs:  # the others would wait for the failed one forever in a collective
                if p.poll() is None:
                    p.terminate()
        if failed_at is not None and time.monotonic() - failed_at > 20:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(0.1)
    codes = [p.returncode for p in procs]
    return codes[0] if codes[0] else next((c for c in codes if c), 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
