"""The Runs page's Few-shot tab: the selected run's few-shot evaluations (its fewshot.json) as accuracy against the
number of examples k in the prompt, a line per task file and checkpoint, with the chance level of multiple choice
dashed. "Few-shot evaluation…" asks for a task file and the shots and runs `engine fewshot` in the background
(studio/engine_process.py), as Inspect's Features and Concepts tabs run their commands; the plot follows the file,
so an evaluation run from a terminal appears too. Figures and sentences: studio/state/fewshot.py."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.core.errors import UserError
from studio.engine_process import RunCommandView
from studio.runs.fewshot_dialog import FewshotDialog
from studio.state.fewshot import (
    SHOTS_TEXT,
    chance_levels,
    checked_request,
    done_words,
    fewshot_args,
    not_applicable,
    progress_words,
    run_lines,
    said,
    shot_scored,
    stamp,
    suggested_task,
    task_folder,
)
from studio.widgets.plots import PALETTE, UNIT, MetricPlot

HELP = ("How does the run do with 0, 1, 2, 4, 8 examples in its prompt? Few-shot evaluation scores it on a task "
        "file (JSONL: a question, and choices with the answer, or the answer alone) with k other rows as examples.")
EMPTY = "Select one run to see its few-shot evaluations."
POLL_MS = 1000
"""How often the shown run's fewshot.json is looked at (one stat) while the tab is shown."""


def error_html(words: str) -> str:
    return f"<span style='color:#b91c1c'>{html.escape(words, quote=False)}</span>"


class FewshotPanel(QWidget, RunCommandView):
    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        self.run: Path | None = None
        self.shown_stamp = None
        """The run's fewshot.json as last drawn (its time and size)."""
        self.task: Path | None = None
        self.shots: list[int] = []
        self.done: list[int] = []
        """The ks the running evaluation has scored."""
        self.said: tuple[Path | None, str] | None = None
        """What was last said of a run (a refusal, an evaluation done), shown while that run is."""
        self.said_error = False
        """What was said is an error: it goes when another run is chosen or a new evaluation appears."""
        self.typed: dict[Path, tuple[str, str]] = {}
        """Each run's task file and shots as last typed in the dialog (offered again, after an error too)."""
        self.evaluate_btn = QPushButton("Few-shot evaluation…")
        self.evaluate_btn.setObjectName("fewshot_evaluate_run")
        self.evaluate_btn.setToolTip("score the selected run on a task file with k examples in the prompt")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setVisible(False)
        self.status = QLabel(EMPTY)
        self.status.setObjectName("fewshot_status")
        self.status.setWordWrap(True)
        self.plot = MetricPlot("Few-shot accuracy of the selected run", y_label="accuracy", known_range=UNIT)
        self.plot.setObjectName("fewshot_plot")
        self.plot.setLabel("bottom", "examples in the prompt (k)")
        row = QHBoxLayout()
        row.addWidget(self.evaluate_btn)
        row.addWidget(self.stop_btn)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.evaluate_btn.clicked.connect(self.ask)
        self.stop_btn.clicked.connect(self.stop)
        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self._on_poll)
        self.poll.start()
        self._say()

    # ----- the run ---------------------------------------------------------------------------------------
    def set_run(self, run: Path | None) -> None:
        """Follow the run selected on the page (None: none, or several)."""
        if run != self.run:
            self._forget_error()
            self.run, self.shown_stamp = run, None
            self._draw()
        self._say()

    def _cfg(self):
        state = self.store.runs.get(self.run) if self.run is not None else None
        return state.summary.config if state is not None else None

    def _why_not(self) -> str:
        cfg = self._cfg()
        return not_applicable(cfg.model.objective if cfg is not None else None, self.run.name)

    def _on_poll(self) -> None:
        if self.isVisible() and self.run is not None and stamp(self.run) != self.shown_stamp:
            self._draw()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._on_poll()

    # ----- evaluating ------------------------------------------------------------------------------------
    def ask(self) -> None:
        if self.run is None or self.job_running or self._why_not():
            return self._say()
        cfg, run = self._cfg(), self.run
        task, shots = self.typed.get(run, (suggested_task(run, cfg.data.path), SHOTS_TEXT))
        dialog = FewshotDialog(self, run.name, task, task_folder(cfg.data.path), shots)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        self.typed[run] = (dialog.task.text(), dialog.shots.text())
        if accepted:
            self.evaluate(dialog.task.text(), dialog.shots.text())

    def evaluate(self, task: str, shots: str) -> None:
        """Evaluate the shown run on `task` with `shots`; a bad file or bad shots are said, nothing is started."""
        run = self.run
        try:
            self.task, self.shots = checked_request(task, shots)
        except UserError as e:
            return self._tell(run, error_html(said(e)), error=True)
        self.done, self.said = [], None
        self.start_job(run, fewshot_args(run, self.task, self.shots), on_line=self._on_line, on_done=self._on_done,
                       on_failed=lambda words: self._tell(self.job_run, error_html(words), error=True))
        self._say()

    def stop(self) -> None:
        self.stop_job()
        self._tell(self.job_run, "Stopped: nothing was recorded.")

    def _busy(self, busy: bool) -> None:
        self.evaluate_btn.setEnabled(not busy and self.run is not None and not self._why_not())
        self.stop_btn.setVisible(busy)

    def _on_line(self, line: str) -> None:
        if (k := shot_scored(line)) is not None:
            self.done.append(k)
            self._say()

    def _on_done(self) -> None:
        self._tell(self.job_run, html.escape(done_words(self.task, run_lines(self.job_run))))
        if self.job_run == self.run:
            self._draw()

    def _tell(self, run: Path | None, words: str, error: bool = False) -> None:
        self.said, self.said_error = (run, words), error
        self._busy(self.job_running)
        self._say()

    def _forget_error(self) -> None:
        """An error shown of the current run goes (one of a run in the background waits to be seen)."""
        if self.said_error and self.said is not None and self.said[0] == self.run:
            self.said, self.said_error = None, False

    # ----- drawing ---------------------------------------------------------------------------------------
    def _say(self) -> None:
        self._busy(self.job_running)
        if self.run is None:
            words = EMPTY
        elif why := self._why_not():
            words = html.escape(why)
        elif self.job_running and self.job_run == self.run:
            words = html.escape(progress_words(self.task, self.shots, self.done))
        elif self.said is not None and self.said[0] == self.run:
            words = self.said[1]
        elif self.plot.series:
            words = HELP
        else:
            words = f"{HELP} Nothing evaluated for this run yet: press Few-shot evaluation…"
        self.status.setText(words + html.escape(self.background_note(self.run, "Evaluating")))

    def _draw(self) -> None:
        self._forget_error()  # a new evaluation appeared (or another run is shown)
        self.shown_stamp = stamp(self.run)
        self.plot.clear_series()
        lines = run_lines(self.run) if self.run is not None and not self._why_not() else []
        for i, line in enumerate(lines):
            self.plot.set_series(line.name, line.ks, line.accuracy, color=PALETTE[i % len(PALETTE)], symbol="o")
        if lines:
            ks = [k for line in lines for k in line.ks]
            levels = chance_levels(lines)
            for level in levels:
                name = "chance" if len(levels) == 1 else f"chance ({level:.0%})"
                self.plot.set_series(name, [min(ks), max(ks)], [level, level], color="#888888", dashed=True)
        self.plot.setVisible(bool(lines))
        self._say()
