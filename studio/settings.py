"""Settings remembered between sessions (QSettings): the workspace folder, window geometry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings


class Settings:
    def __init__(self, settings: QSettings | None = None):
        self.q = settings or QSettings()

    @property
    def workspace(self) -> Path:
        return Path(self.q.value("workspace", str(Path.home() / "AttentionStudio")))

    @workspace.setter
    def workspace(self, path: Path) -> None:
        self.q.setValue("workspace", str(path))

    @property
    def first_start(self) -> bool:
        return not self.q.value("started_before", False, type=bool)

    def mark_started(self) -> None:
        self.q.setValue("started_before", True)

    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def save_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) else None
