"""A tiny event of our own: callbacks connected to one kind of change, called in order with what changed.

The application state is plain Python (no Qt), so its pieces announce changes through these; the Qt views
connect their slots to them the way they connect to a signal."""

from __future__ import annotations

from collections.abc import Callable


class Event:
    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):  # a callback may disconnect itself
            callback(*args)
