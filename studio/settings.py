"""Settings remembered between sessions (QSettings): the workspace folder, the window's place, and the
user's unfinished work (Corpus page, model form, page) as one JSON value."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QRect, QSettings

from engine.runqueue.queue_file import DEFAULT_WORKSPACE


class Settings:
    def __init__(self, settings: QSettings | None = None):
        self.q = settings or QSettings()

    @property
    def workspace(self) -> Path:
        return Path(self.q.value("workspace", str(DEFAULT_WORKSPACE)))

    @workspace.setter
    def workspace(self, path: Path) -> None:
        self.q.setValue("workspace", str(path))

    @property
    def first_start(self) -> bool:
        return not self.q.value("started_before", False, type=bool)

    def mark_started(self) -> None:
        self.q.setValue("started_before", True)

    def window(self) -> tuple[QRect | None, bool]:
        """(the window's client rectangle, maximized) as last saved."""
        value = self.q.value("window/rect")
        try:
            rect = QRect(*[int(v) for v in value]) if value else None
        except (TypeError, ValueError):
            rect = None
        return (rect if rect is not None and rect.isValid() else None,
                self.q.value("window/maximized", False, type=bool))

    def save_window(self, rect: QRect, maximized: bool) -> None:
        self.q.setValue("window/rect", [rect.x(), rect.y(), rect.width(), rect.height()])
        self.q.setValue("window/maximized", maximized)

    @property
    def auto_measure(self) -> bool:
        """Whether the Model page times small shapes unasked (studio/model/auto_measure.py)."""
        return self.q.value("model/auto_measure", True, type=bool)

    @auto_measure.setter
    def auto_measure(self, on: bool) -> None:
        self.q.setValue("model/auto_measure", bool(on))

    def session(self) -> dict | None:
        try:
            value = json.loads(self.q.value("session", "") or "null")
        except (TypeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def save_session(self, session: dict) -> None:
        self.q.setValue("session", json.dumps(session))
        self.q.sync()
