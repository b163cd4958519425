"""Running the real engine in a child process, as the studio and users do, and reading what it left."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import tomli_w

from engine.run.events import read_events

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, corpus: Path, name="run", **train) -> Path:
    cfg = {"data": {"path": str(corpus), "cache_dir": str(tmp_path / "cache")}, "tokenizer": {"kind": "char"},
           "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16},
           "train": {"batch_size": 4, "max_steps": 60, "eval_interval": 10, "eval_batches": 2, "lr": 3e-3,
                     "warmup_steps": 2, "device": "cpu", "threads": 1, "sample_interval": -1, "keep_last": 3,
                     "out_dir": str(tmp_path / name)} | train}
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(cfg))
    return path


def env(**extra) -> dict:
    e = dict(os.environ, PYTHONPATH=str(ROOT), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def engine(*args, timeout=900, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True,
                          env=env(**extra_env), timeout=timeout, cwd=ROOT)


def engine_here(*args) -> subprocess.CompletedProcess:
    """engine(), in this process: the same main() and exit status, without the second or two a child takes to
    import torch. For commands that end in a refusal; what depends on the process (its environment, the
    allocator's restart) goes through engine()."""
    import contextlib
    import io

    from engine.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own refusals
            code = e.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def start(*args, **extra_env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env(**extra_env), cwd=ROOT)


def wait_for(condition, timeout=600.0, poll=0.05):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("condition not reached")
        threading.Event().wait(poll)  # polling a child process's files; no Qt event loop here


def losses(run_dir: Path) -> dict[int, float]:
    """The last loss logged for each step (a resumed run replays the steps after its checkpoint)."""
    return {e.step: e["loss"] for e in read_events(run_dir / "events.jsonl") if e.type == "step"}


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def digest(folder: Path) -> str:
    """One hash of a folder's names and contents: equal before and after means nothing was written there."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def refused(*args, expect: str, **extra_env) -> str:
    """Run a command that must be refused: exit 2, no traceback, one `error:` line (the last) holding `expect`.
    In this process through engine_here, or in a child when an environment is given."""
    r = engine(*args, **extra_env) if extra_env else engine_here(*args)
    assert r.returncode == 2, (r.returncode, r.stderr[-1500:])
    assert "Traceback" not in r.stderr + r.stdout
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and errors[0] == last_line(r.stderr), r.stderr
    assert expect in errors[0], errors[0]
    return errors[0]


def trained_run(folder: Path, max_steps: int = 20) -> Path:
    """A finished tiny run on pangrams in `folder` (checkpoints every 10 steps), trained by the real command line."""
    from tests.conftest import pangram_text

    corpus = folder / "corpus.txt"
    corpus.write_text(pangram_text())
    r = engine("train", write_config(folder, corpus, max_steps=max_steps))
    assert r.returncode == 0, r.stderr
    return folder / "run"
