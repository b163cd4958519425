"""One application state, without Qt, that every page shows (in the way napari's ViewerModel holds what its
viewer shows): which runs train and are paused, the current corpus and what was derived from it, the designed
run's problems, each page's chosen run and checkpoint, and what uses the device. Pages read it and send
intents; derived figures (time left, throughput, best checkpoint, can-train) are computed here once.

The Store (studio/store.py) holds one AppState beside the workspace's runs, so every page that has the store
reads the same state."""

from __future__ import annotations

from studio.state.chat import ChatState
from studio.state.choice import RunChoice
from studio.state.corpus import CorpusState
from studio.state.design import CorpusFacts, Design, DesignState
from studio.state.device import DeviceUse
from studio.state.form import FormState
from studio.state.training import TrainingRuns


class AppState:
    def __init__(self) -> None:
        self.training = TrainingRuns()
        self.device = DeviceUse(self.training)
        self.corpus = CorpusState()
        self.form = FormState()
        self.design = DesignState()
        """The designed run as decided once (studio/state/design.py): its problems are the form's."""
        self.design.changed.connect(lambda: self.form.set_problems(self.design.current.problems))
        self.choices: dict[str, RunChoice] = {}
        self.chat = ChatState()
        """The Playground's conversation with an instruct run (studio/state/chat.py)."""

    def choice(self, page: str) -> RunChoice:
        """The run and checkpoint chosen on a page (one per picker: "inspect", "playground A", ...)."""
        return self.choices.setdefault(page, RunChoice())


__all__ = ["AppState", "ChatState", "CorpusFacts", "CorpusState", "Design", "DesignState", "DeviceUse", "FormState",
           "RunChoice", "TrainingRuns"]
