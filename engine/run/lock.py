"""One writer per run folder: a lock file holding pid, host and start time; stale when the pid is gone."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from engine.core.errors import UserError
from engine.run.folder import LOCK_FILE


def lock_holder(run_dir: Path) -> dict | None:
    """Who holds the run's lock, or None when free or stale (its process is gone)."""
    path = Path(run_dir) / LOCK_FILE
    try:
        info = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", 0))):
        return None
    return info


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.held = False

    def acquire(self) -> None:
        holder = lock_holder(self.path.parent)
        if holder is not None and holder.get("pid") != os.getpid():
            raise UserError(f"run {self.path.parent.name} is already being trained by process {holder['pid']} on "
                            f"{holder['host']} (since {time.ctime(holder.get('time', 0))}); stop it first")
        self.path.unlink(missing_ok=True)  # stale
        info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise UserError(f"run {self.path.parent.name} was just locked by another process") from None
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
