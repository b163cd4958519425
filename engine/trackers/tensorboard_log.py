"""TensorBoard event files in the run's tensorboard/ folder (`tensorboard --logdir runs`)."""

from __future__ import annotations

from pathlib import Path

from engine.run.events import Event, EventWriter
from engine.trackers.scalars import scalars
from engine.trackers.tracker import Tracker


class TensorBoardLog(Tracker):
    name = "TensorBoard"

    def __init__(self, writer, events: EventWriter):
        super().__init__(events)
        self.writer = writer

    @classmethod
    def open(cls, run_dir: Path, events: EventWriter) -> TensorBoardLog | None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # optional: the trackers (or tensorboard) extra
        except ImportError:
            events.emit("warning", kind="tensorboard", message="TensorBoard is not installed, so this run writes "
                        "no TensorBoard files: ./dev install trackers (or pip install tensorboard)")
            return None
        return cls(SummaryWriter(str(run_dir / "tensorboard")), events)

    def handle(self, event: Event) -> None:
        for name, value in scalars(event).items():
            self.writer.add_scalar(name, value, event.step)
        if event.type == "sample":
            self.writer.add_text("samples", f"{event.get('prompt')}{event.get('text')}", event.step)
        if event.type == "finished":
            self.writer.flush()

    def finish(self) -> None:
        self.writer.close()
