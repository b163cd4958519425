"""What every tracker shares: a tracker that fails (a server gone, a full disk) stops logging with one
warning in the run's events and never stops the training; its id in the run folder lets a resumed run
continue the same tracker run."""

from __future__ import annotations

import json
from pathlib import Path

from engine.core.tomlio import write_atomic
from engine.run.events import Event, EventWriter

IDS_FILE = "trackers.json"


class Tracker:
    name = ""

    def __init__(self, events: EventWriter):
        self.events = events
        self.broken = False

    def __call__(self, event: Event) -> None:
        if self.broken:
            return
        try:
            self.handle(event)
        except Exception as e:  # a tracker's own failure, whatever its library raises
            self.broken = True
            self.events.emit("warning", event.step, kind="tracker",
                             message=f"{self.name} stopped logging this run: {str(e).splitlines()[0][:300]}")

    def handle(self, event: Event) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if not self.broken:
            try:
                self.finish()
            except Exception:  # closing is best effort: the run's own files have everything
                pass

    def finish(self) -> None:
        pass


def tracker_ids(run_dir: Path) -> dict[str, str]:
    try:
        return json.loads((Path(run_dir) / IDS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def remember_id(run_dir: Path, key: str, value: str) -> None:
    write_atomic(Path(run_dir) / IDS_FILE, json.dumps(tracker_ids(run_dir) | {key: value}, indent=2))
