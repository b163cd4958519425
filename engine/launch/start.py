"""Starting a trainer for a run folder in its own process, as the studio and the queue do: the engine's
command line with JSON events, its stdout and stderr kept in the run folder (a start that fails still
leaves its reason there), in its own session so it outlives whoever started it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from engine.launch.allocator import training_env
from engine.run.folder import STDERR_FILE, STDOUT_FILE

ROOT = Path(__file__).resolve().parents[2]


def start_trainer(run_dir: Path, args: list[str], *, env: dict | None = None) -> subprocess.Popen:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = training_env(dict(env or os.environ, PYTHONUNBUFFERED="1", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["ENGINE_PROCESS_START"] = repr(time.time())  # a stop asked from now on counts, even mid-start
    with open(run_dir / STDOUT_FILE, "ab") as out, open(run_dir / STDERR_FILE, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "engine", *args, "--events"], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=str(ROOT), env=env, start_new_session=True)
