"""The queue of a workspace: `queue.json` (the order and whether it is paused) and `queue/ID.toml` (each
waiting run's config, its run folder already named), changed under a file lock so the studio and the
command line can both use it."""

from __future__ import annotations

import fcntl
import json
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.core.tomlio import write_atomic

DEFAULT_WORKSPACE = Path.home() / "AttentionStudio"
QUEUE_FILE = "queue.json"
CONFIGS = "queue"


@dataclass
class QueueItem:
    id: str
    name: str
    config: str
    """The run config's path (queue/ID.toml); its train.out_dir is the run folder to be."""
    run_dir: str
    sweep: str = ""
    added: float = 0.0


def slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-")[:60] or "run"


class RunQueue:
    def __init__(self, workspace: str | Path):
        self.root = Path(workspace).expanduser().absolute()  # what it stores holds from any folder
        self.path = self.root / QUEUE_FILE

    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".queue.lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"paused": False, "items": []}
        except ValueError:
            raise UserError(f"{self.path} is damaged (not JSON): move it away to start an empty queue") from None
        return {"paused": bool(data.get("paused")), "items": data.get("items", [])}

    def _write(self, data: dict) -> None:
        write_atomic(self.path, json.dumps(data, indent=2))

    def items(self) -> list[QueueItem]:
        return self.state()[0]

    @property
    def paused(self) -> bool:
        return self._read()["paused"]

    def state(self) -> tuple[list[QueueItem], bool]:
        """The waiting runs and whether the queue is paused, from one reading of the file."""
        data = self._read()
        return [QueueItem(**d) for d in data["items"]], data["paused"]

    def add(self, cfg: RunConfig, *, sweep: str = "", name: str = "") -> QueueItem:
        """Queue a copy of `cfg`; its run folder is named now (workspace/runs/NAME-ID). NAME is the config's
        name, else `name` (the command line gives its config file's stem), else "run"."""
        with self._locked():
            data = self._read()
            stamp = time.strftime("%Y%m%d-%H%M%S")
            taken = {d["id"] for d in data["items"]}
            n = 1
            while f"{stamp}-{n}" in taken or (self.root / CONFIGS / f"{stamp}-{n}.toml").exists():
                n += 1
            item_id = f"{stamp}-{n}"
            cfg = cfg.copy()
            name = cfg.name or name or "run"
            run_dir = self.root / "runs" / f"{slug(name)}-{item_id}"
            cfg.train.out_dir = str(run_dir)
            if not cfg.data.cache_dir:
                cfg.data.cache_dir = str(self.root / "cache")
            config = self.root / CONFIGS / f"{item_id}.toml"
            write_atomic(config, cfg.to_toml())
            item = QueueItem(item_id, name, str(config), str(run_dir), sweep, time.time())
            data["items"].append(asdict(item))
            self._write(data)
            return item

    def pop(self) -> QueueItem | None:
        """The next run to start, taken off the queue; None when it is empty or paused."""
        if not self.path.exists():  # nothing was ever queued here: no lock file either
            return None
        with self._locked():
            data = self._read()
            if data["paused"] or not data["items"]:
                return None
            first = data["items"].pop(0)
            self._write(data)
            return QueueItem(**first)

    def put_back(self, item: QueueItem) -> None:
        """Return a popped run that was stopped before it trained to the head of the queue."""
        with self._locked():
            data = self._read()
            if not any(d["id"] == item.id for d in data["items"]):
                data["items"].insert(0, asdict(item))
                self._write(data)

    def remove(self, item_id: str) -> None:
        with self._locked():
            data = self._read()
            self._known(data, item_id)
            data["items"] = [d for d in data["items"] if d["id"] != item_id]
            self._write(data)
        (self.root / CONFIGS / f"{item_id}.toml").unlink(missing_ok=True)

    def move(self, item_id: str, index: int) -> None:
        """Put the item at `index` (0 = next to start; beyond the end = last). The command line checks the
        place it is given first (engine/runqueue/commands.py); the studio's buttons move within the list."""
        with self._locked():
            data = self._read()
            item = next(d for d in data["items"] if d["id"] == self._known(data, item_id))
            data["items"].remove(item)
            data["items"].insert(max(0, index), item)
            self._write(data)

    def set_paused(self, paused: bool) -> None:
        with self._locked():
            data = self._read()
            data["paused"] = paused
            self._write(data)

    @staticmethod
    def _known(data: dict, item_id: str) -> str:
        if not any(d["id"] == item_id for d in data["items"]):
            raise UserError(f"no run {item_id!r} in the queue (`queue list` shows them)")
        return item_id
