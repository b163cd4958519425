"""The Features tab: features forming over training. For the chosen run, a layer and an SAE width, and Find
features runs `engine features` in the background (an SAE per checkpoint, off the GUI thread and off the
training process, studio/engine_process.py), its progress and cost said as each checkpoint is done. Then, for the
checkpoint the picker names: its features (label, density), the chosen one's top-activating contexts as shaded
text, and the timeline of features kept, born, split, merged and died across the checkpoints.

What was found is saved in the run folder (features/), so a run opened again shows it without computing."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.run.folder import checkpoints
from studio.engine_process import RunCommandView
from studio.inspect.feature_views import ContextsView, FeatureList, TimelineTable
from studio.state.features import (
    WIDTH_PER_DIM,
    FeatureOptions,
    checkpoint_done,
    describe,
    entry_for,
    features_args,
    live_features,
    progress_words,
    saved_features,
    saved_for,
    timeline_rows,
    width_choices,
)

HELP = ("A sparse autoencoder (TopK) on the chosen layer's residual stream for each checkpoint, over the run's own "
        "validation tokens, each continued from the one before: its features, what they fire on, and which are "
        "kept, born, split, merged or die as training goes on. Find features runs it in the background.")
EMPTY = "Train a run first: its checkpoints appear here."


def error_html(words: str) -> str:
    return f"<span style='color:#b91c1c'>{html.escape(words, quote=False)}</span>"


class FeaturesPanel(QWidget, RunCommandView):
    def __init__(self, picker, parent=None):
        super().__init__(parent)
        self.picker, self.store = picker, picker.store
        self.run: Path | None = None
        """The run whose choices and saved features are shown."""
        self.saved: list[dict] = []
        self.data: dict | None = None
        """The features shown (a features.json)."""
        self.job_options: FeatureOptions | None = None
        self.seconds: list[float] = []
        """How long each checkpoint of the running job took."""
        self.total = 0
        self.said: tuple[Path, str] | None = None
        """What the last job said of its run (done, or why it failed), shown while that run is."""
        self.layer = QComboBox()
        self.layer.setObjectName("features_layer")
        self.layer.setToolTip("the block whose output (the residual stream after it) the SAE reads")
        self.width = QComboBox()
        self.width.setObjectName("features_width")
        self.width.setToolTip("how many features each SAE has, as a multiple of the model's width (n_embd)")
        self.steps = QSpinBox()
        self.steps.setObjectName("features_steps")
        self.steps.setRange(0, 100_000)
        self.steps.setSingleStep(100)
        self.steps.setSpecialValueText("default")
        self.steps.setToolTip("training steps of each checkpoint's SAE (default: the engine's 1000); fewer is "
                              "faster and rougher")
        self.find_btn = QPushButton("Find features")
        self.find_btn.setObjectName("find_features")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setObjectName("stop_features")
        self.stop_btn.setVisible(False)
        self.shown_pick = QComboBox()
        self.shown_pick.setObjectName("features_saved")
        self.shown_pick.setToolTip("the features found before for this run (saved in its features/ folder)")
        self.status = QLabel(EMPTY)
        self.status.setObjectName("features_status")
        self.status.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setObjectName("features_caption")
        self.caption.setWordWrap(True)
        self.features = FeatureList()
        self.contexts = ContextsView()
        self.timeline = TimelineTable()
        self.views = QSplitter()
        self.views.addWidget(self.features)
        self.views.addWidget(self.contexts)
        self.views.setSizes([380, 620])
        self.body = QSplitter()
        self.body.setOrientation(self.body.orientation().Vertical)
        self.body.addWidget(self.views)
        self.body.addWidget(self.timeline)
        self.body.setSizes([500, 200])
        self.body.setVisible(False)
        row = QHBoxLayout()
        for label, widget in (("Layer", self.layer), ("Width", self.width), ("SAE steps", self.steps)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.find_btn)
        row.addWidget(self.stop_btn)
        row.addStretch()
        row.addWidget(QLabel("Shown"))
        row.addWidget(self.shown_pick, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.caption)
        layout.addWidget(self.body, 1)
        self.find_btn.clicked.connect(self.find)
        self.stop_btn.clicked.connect(self.stop)
        self.shown_pick.activated.connect(self._on_saved_picked)
        self.features.sig_chosen.connect(self.contexts.set_card)

    # ----- the run and what it holds -----------------------------------------------------------------
    def refresh(self) -> None:
        """The chosen run's layers, widths and saved features; the chosen checkpoint's features."""
        run = self.picker.run_dir()
        if run != self.run:
            self.run = run
            self._fill_choices()
            self._read_saved()
        else:
            self._show()

    def _fill_choices(self) -> None:
        cfg = self.store.run(self.run).summary.config if self.run is not None else None
        self.layer.clear()
        self.width.clear()
        if cfg is None:
            return
        for i in range(cfg.model.n_layer):
            self.layer.addItem(f"{i}" + (" (the middle)" if i == cfg.model.n_layer // 2 else ""), i)
        self.layer.setCurrentIndex(cfg.model.n_layer // 2)
        for words, width in width_choices(cfg.model.n_embd):
            self.width.addItem(words, width)
        self.width.setCurrentIndex(self.width.findData(WIDTH_PER_DIM * cfg.model.n_embd))

    def _read_saved(self, chosen: dict | None = None) -> None:
        """Read the run's saved features again; show `chosen` (layer, width), else what the choices name, else the
        first saved."""
        self.saved = saved_features(self.run)
        self.shown_pick.clear()
        for data in self.saved:
            self.shown_pick.addItem(describe(data), data["folder"])
        want = chosen or {"layer": self.layer.currentData(), "width": self.width.currentData()}
        self.data = saved_for(self.saved, want["layer"], want["width"]) or (self.saved[0] if self.saved else None)
        if self.data is not None:
            self.shown_pick.setCurrentIndex(self.shown_pick.findData(self.data["folder"]))
        self._show()

    def _on_saved_picked(self, index: int) -> None:
        self.data = self.saved[index] if 0 <= index < len(self.saved) else None
        self._show()

    # ----- finding features --------------------------------------------------------------------------
    def options(self) -> FeatureOptions:
        return FeatureOptions(self.layer.currentData(), self.width.currentData(), self.steps.value() or None)

    def find(self) -> None:
        run = self.picker.run_dir()
        if run is None:
            self.status.setText(EMPTY)
            return
        if self.job_running:
            return
        self.job_options, self.seconds, self.said = self.options(), [], None
        self.total = len(checkpoints(run))
        self.start_job(run, features_args(run, self.job_options), on_line=self._on_line, on_done=self._on_done,
                       on_failed=self._on_failed)
        self._say()

    def stop(self) -> None:
        self.stop_job()
        self.said = (self.job_run, "Stopped: nothing was saved (the features are written once every checkpoint is "
                                   "done).")
        self._say()

    def _busy(self, busy: bool) -> None:
        self.find_btn.setEnabled(not busy)
        self.stop_btn.setVisible(busy)

    def _on_line(self, line: str) -> None:
        if (done := checkpoint_done(line)) is not None:
            self.seconds.append(done[1])
            self._say()

    def _on_done(self) -> None:
        self._busy(False)
        each = f", about {sum(self.seconds) / len(self.seconds):.0f} s per checkpoint" if self.seconds else ""
        self.said = (self.job_run, f"Found the features of {len(self.seconds)} checkpoints{each}.")
        if self.picker.run_dir() == self.job_run == self.run:  # else they are saved for the run's return
            self._read_saved({"layer": self.job_options.layer, "width": self.job_options.width})

    def _on_failed(self, words: str) -> None:
        self._busy(False)
        self.said = (self.job_run, error_html(words))
        self._say()

    # ----- drawing -----------------------------------------------------------------------------------
    def _say(self) -> None:
        """The status: the job's progress while it works on the run shown, what it said when it ended, or help."""
        if self.run is None:
            words = EMPTY
        elif self.job_running and self.job_run == self.run:
            words = progress_words(self.seconds, self.total)
        elif self.said is not None and self.said[0] == self.run:
            words = self.said[1]
        else:
            words = HELP if self.data is not None else f"{HELP} Nothing found for this run yet."
        words += self.background_note(self.run, "Finding the features of")
        self.status.setText(words)

    def _show(self) -> None:
        self._say()
        if self.data is None:
            self.body.setVisible(False)
            self.caption.setText("")
            return
        self.body.setVisible(True)
        entry, own = entry_for(self.data, self.picker.checkpoint())
        cards = live_features(entry)
        self.features.set_features(cards)
        self.timeline.set_rows(timeline_rows(self.data), entry["checkpoint"])
        note = "" if own else (f" ({self.picker.checkpoint()} came after these features were found: Find features "
                               f"again to include it; the newest found is shown)")
        self.caption.setText(
            f"{describe(self.data)}, {entry['checkpoint']}{note}: {len(cards)} features fire in the "
            f"{self.data['positions']:,} positions sampled ({entry['dead']} never do); the SAE explains "
            f"{entry['explained']:.1%} of the residual stream's variance. The timeline counts each checkpoint "
            f"against the one before, matching features whose decoder directions have a cosine of at least "
            f"{self.data['match']}.")
