"""The Model page's designed run: its problems, and so whether it can train. Train and Add to queue both read
`can_train`, so neither is offered when the other is refused."""

from __future__ import annotations

from studio.state.events import Event


class FormState:
    def __init__(self) -> None:
        self.changed = Event()
        """() the problems changed."""
        self.problems: list[str] = []

    @property
    def can_train(self) -> bool:
        return not self.problems

    def set_problems(self, problems: list[str]) -> None:
        if list(problems) != self.problems:
            self.problems = list(problems)
            self.changed.emit()
