"""One page's chosen run and checkpoint. The best checkpoint (lowest validation loss) is followed as the run
writes new ones, until the user picks another: then their pick stays. Choosing the one marked best, or
another run, follows the best again."""

from __future__ import annotations

from pathlib import Path

from studio.state.events import Event


class RunChoice:
    def __init__(self) -> None:
        self.run_switched = Event()
        """(run folder or None) another run is chosen: what was shown of the old one no longer holds."""
        self.run: Path | None = None
        self.pinned: str | None = None
        """The checkpoint the user picked, or None: follow the best."""

    def choose_run(self, run: Path | None) -> None:
        run = Path(run) if run else None
        if run != self.run:
            self.run, self.pinned = run, None
            self.run_switched.emit(run)

    def pick(self, checkpoint: str | None, best: str | None) -> None:
        """The user picked a checkpoint: it stays chosen, unless it is the best (which is then followed)."""
        self.pinned = None if checkpoint == best else checkpoint

    def checkpoint(self, available: list[str], best: str | None) -> str | None:
        """The checkpoint to show: the user's pick while it exists, else the best, else the newest."""
        if self.pinned in available:
            return self.pinned
        if best in available:
            return best
        return available[-1] if available else None
