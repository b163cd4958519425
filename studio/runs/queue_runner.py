"""The studio runs the workspace's queue: whenever a slot is free (one run at a time on a CPU, one per GPU,
each GPU's run seeing only that GPU), the next waiting run starts, as if Train had been pressed. The
queue itself lives in the workspace (engine/runqueue), so it survives a restart and the CLI sees it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.runqueue.queue_file import RunQueue


class QueueRunner(QObject):
    sig_started = Signal(object)
    """(run_dir) a queued run has started."""

    def __init__(self, store, client, *, gpus: int = 0, poll_ms: int = 1000):
        super().__init__()
        self.store, self.client, self.gpus = store, client, gpus
        self.slots: dict[Path, int | None] = {}  # run started from the queue -> its GPU
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    @property
    def queue(self) -> RunQueue:
        return RunQueue(self.store.workspace)

    def busy(self) -> list[Path]:
        """The workspace's runs training now, started here or elsewhere (followed folders do not count)."""
        own = self.store.runs_dir.resolve()
        return [p for p, run in self.store.runs.items() if run.summary.live and Path(p).resolve().parent == own]

    def tick(self) -> None:
        for run_dir in [d for d in self.slots if not self.client.is_alive(d)]:
            del self.slots[run_dir]
        running = set(self.busy()) | set(self.slots)
        free_gpus = [g for g in range(self.gpus) if g not in self.slots.values()]
        while len(running) < max(1, self.gpus):
            try:
                item = self.queue.pop()
            except Exception:  # a damaged queue file is said by the panel; the runner waits
                return
            if item is None:
                return
            gpu = free_gpus.pop(0) if free_gpus else None
            env = dict(os.environ, CUDA_VISIBLE_DEVICES=str(gpu)) if gpu is not None else None
            run_dir = self.client.start_queued(item, env)
            self.slots[run_dir] = gpu
            running.add(run_dir)
            self.store.refresh()
            self.sig_started.emit(run_dir)
