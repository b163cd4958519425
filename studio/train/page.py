"""The Train page: header with status, progress and controls; four live plots; samples; log.

The second plot follows the objective (objective_plot.py): perplexity for a causal LM, masked-token and
next-sentence accuracy for a masked LM, training and validation accuracy and macro-F1 (plus a live confusion
matrix) for a classifier."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.run.humanlog import test_line
from studio.model.form_words import in_form_words
from studio.recipes import reference_for
from studio.store import RunState, Store
from studio.train.doctor_label import DoctorLabel
from studio.train.entity_panel import EntityPanel
from studio.train.intervene_box import InterveneBox
from studio.train.loss_marks import LossMarks
from studio.train.objective_plot import KNOWN_RANGES, LOG_METRICS, draw_objective_plot, objective_title
from studio.widgets.confusion import ConfusionMatrix
from studio.widgets.extend_dialog import ask_total_steps
from studio.widgets.first_steps import steps_line
from studio.widgets.plots import PALETTE, MetricPlot, RunningEma, set_x_axis

STATUS_WORDS = {"running": "Training", "paused": "Paused", "finished": "Finished", "stopped": "Stopped",
                "failed": "Failed", "interrupted": "Interrupted", "new": "Starting"}
PLOT_MIN_HEIGHT = 180
"""Pixels: room for a title, a three-row legend and the data under a doctor's note, at a 720-pixel-high window."""


class TrainPage(QWidget):
    sig_resume_requested = Signal(object, object)
    """(run folder, new total steps or None): resume, or extend a finished run."""
    sig_back_requested = Signal()
    """Go back to the Model page (after a run that failed to start)."""
    sig_progress_shown = Signal()
    """The header has just shown a live run's progress: the window's status bar reads the same run again, at once."""
    sig_retry_requested = Signal(object)
    """Train this RunConfig again (after running out of memory, with a smaller micro-batch)."""

    def __init__(self, store: Store, client, parent=None):
        super().__init__(parent)
        self.store, self.client = store, client
        self.shown_version = -1
        self._shown = (0, 0)  # samples and log lines on screen
        self._dirty: list[int] = []  # plots still to repaint with the newest data
        self.run: RunState | None = None
        self.smooth = RunningEma()  # the smoothed loss grows with the run instead of being recomputed

        self.title = QLabel(steps_line())  # a first start: what to do to see a run here
        self.title.setObjectName("run_title")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # a long path never
        # widens the window (the full path is in the tooltip)
        self.status = QLabel("")
        self.status.setObjectName("run_status")
        self.progress = QProgressBar()
        self.progress.setFormat("")
        self.progress.setValue(0)
        self.eta = QLabel("")
        self.pause_btn = QPushButton("Pause")
        self.stop_btn = QPushButton("Stop")
        self.resume_btn = QPushButton("Resume")
        self.retry_btn = QPushButton("Retry with a smaller micro-batch")
        self.retry_btn.setObjectName("retry_button")
        self.retry_btn.setVisible(False)
        self.back_btn = QPushButton("← Back to the Model page")
        self.back_btn.setObjectName("back_button")
        self.back_btn.setVisible(False)
        self.message = QLabel("")
        self.message.setObjectName("run_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b91c1c;")
        header = QGridLayout()
        header.addWidget(self.title, 0, 0, 1, 3)
        header.addWidget(self.status, 0, 3)
        header.addWidget(self.progress, 1, 0, 1, 2)
        header.addWidget(self.eta, 1, 2)
        buttons = QHBoxLayout()
        for b in (self.pause_btn, self.resume_btn, self.stop_btn):
            buttons.addWidget(b)
        header.addLayout(buttons, 1, 3)
        header.addWidget(self.message, 2, 0, 1, 3)
        header.addWidget(self.retry_btn, 2, 3)
        header.addWidget(self.back_btn, 3, 3)

        self.loss_plot = MetricPlot("Loss", y_label="cross-entropy")
        self.ppl_plot = MetricPlot("Validation perplexity")
        self.ppl_plot.setObjectName("metric_plot")
        self.lr_plot = MetricPlot("Learning rate")
        self.tps_plot = MetricPlot("Throughput", y_label="tokens/s")
        self.plots = [self.loss_plot, self.ppl_plot, self.lr_plot, self.tps_plot]
        self.loss_marks = LossMarks(self.loss_plot)  # spikes, the phase change, interventions
        self.intervene = InterveneBox()  # freeze, zero or re-initialise a part of the model while it trains
        self.doctor = DoctorLabel()  # the newest loss spike's likely cause and fix
        grid = QGridLayout()
        for i, plot in enumerate(self.plots):
            plot.setMinimumHeight(PLOT_MIN_HEIGHT)  # a doctor's note and a long legend never squash the data away
            grid.addWidget(plot, i // 2, i % 2)
        plots = QWidget()
        plots.setLayout(grid)

        self.smoothing = QSlider()
        self.smoothing.setOrientation(self.smoothing.orientation().Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.log_y = QCheckBox("log scale")
        self.x_axis = QComboBox()
        self.x_axis.addItems(["step", "time (s)"])
        options = QHBoxLayout()
        for widget in (QLabel("Smoothing"), self.smoothing, self.log_y, QLabel("x axis"), self.x_axis):
            options.addWidget(widget)
        options.addStretch()
        options.addWidget(self.intervene)

        self.samples = QPlainTextEdit(readOnly=True)
        self.samples.setObjectName("samples")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("log")
        self.confusion = ConfusionMatrix()
        self.tabs = tabs = QTabWidget()
        tabs.addTab(self.samples, "Samples")
        tabs.addTab(self.log, "Log")
        tabs.addTab(self.confusion, "Confusion matrix")
        tabs.setTabVisible(2, False)
        self.entities = EntityPanel()  # a tagger's entity F1, overall and per type
        tabs.addTab(self.entities, "Entities")
        tabs.setTabVisible(3, False)
        split = QSplitter()
        split.setOrientation(split.orientation().Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(options)
        top_layout.addWidget(self.doctor)
        top_layout.addWidget(plots)
        split.addWidget(top)
        split.addWidget(tabs)
        split.setCollapsible(1, False)  # the plots' minimum takes height from the samples, never all of it
        split.setSizes([560, 180])
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(split)

        self.pause_btn.clicked.connect(self._on_pause_clicked)
        self.stop_btn.clicked.connect(self._on_stop_clicked)
        self.resume_btn.clicked.connect(self._on_resume)
        self.retry_btn.clicked.connect(self._on_retry_clicked)
        self.back_btn.clicked.connect(self.sig_back_requested)
        self.smoothing.valueChanged.connect(self._redraw)
        self.log_y.toggled.connect(self._on_log_toggled)
        self.x_axis.currentIndexChanged.connect(lambda i: set_x_axis(self.plots, "time" if i else "step"))
        self.x_axis.currentIndexChanged.connect(self._redraw)
        store.sig_current_run_changed.connect(self._on_current_changed)
        store.sig_runs_changed.connect(self._update_header)
        store.sig_run_updated.connect(self._on_run_updated)
        store.state.training.changed.connect(self._update_header)
        self.timer = QTimer(self)  # one plot per tick: each plot redraws 5 times a second, whatever the event rate
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()
        self._update_header()

    # ----- slots ---------------------------------------------------------------------------------
    def _on_current_changed(self, path) -> None:
        self.run = self.store.run(path) if path else None
        self.shown_version = -1
        self._shown = (0, 0)
        for p in self.plots:
            p.clear_series()
        self.loss_marks.clear()
        self._set_objective(self.run.objective if self.run else "causal")
        self.samples.clear()
        self.log.clear()
        self.confusion.set_matrix(None, [])  # another classifier's labels (and the room they took) go too
        self.message.clear()
        self._on_timer()

    def _on_run_updated(self, path) -> None:
        """New events of the run shown, in the header at once: the status bar never shows a newer step than it."""
        if self.run is not None and path == self.run.path:
            self._update_header()

    def _on_timer(self) -> None:
        """Repaint one plot per tick, in turns: a plot paints in ~20 ms on a slow CPU, four at once would block input.
        New data queues the plots not already waiting behind those that are, so that events arriving every tick
        still reach every plot (restarting from the first starved the last two)."""
        if self.run is not None and self.run.version != self.shown_version:
            self.shown_version = self.run.version
            self._dirty += [i for i in range(len(self.plots)) if i not in self._dirty]
            self._draw_texts()
            self._update_header()
        if self._dirty and self.run is not None:
            self._draw_plot(self._dirty.pop(0))

    def _on_pause_clicked(self) -> None:
        if self.run is None:
            return
        paused = self.store.state.training.is_paused(self.run.path)
        self.client.control(self.run.path, "resume" if paused else "pause")
        self.pause_btn.setEnabled(False)  # until the trainer confirms with a status event

    def _on_resume(self) -> None:
        if self.run is None:
            return
        if self.run.summary.status == "finished":  # "Extend…": a finished run trains on only to a new total
            steps = ask_total_steps(self, self.run.summary.max_steps)
            if steps:
                self.sig_resume_requested.emit(self.run.path, steps)
        else:
            self.sig_resume_requested.emit(self.run.path, None)

    def _on_stop_clicked(self) -> None:
        if self.run is not None:
            self.client.stop(self.run.path)
            self.stop_btn.setEnabled(False)
            self.status.setText("Stopping: saving a checkpoint…")

    def oom_retry_config(self):
        """The run's config with the micro-batch the trainer suggested after running out of memory."""
        run = self.run
        err = run.last_error if run else None
        if err is None or err.get("kind") != "oom" or run.summary.config is None:
            return None
        cfg = run.summary.config.copy()
        cfg.train.batch_size = err.get("batch_size", max(1, cfg.train.batch_size // 2))
        cfg.train.grad_accum = err.get("grad_accum", cfg.train.grad_accum * 2)
        return cfg

    def _on_retry_clicked(self) -> None:
        cfg = self.oom_retry_config()
        if cfg is not None:
            self.sig_retry_requested.emit(cfg)

    def _on_log_toggled(self, on: bool) -> None:
        self.loss_plot.set_log_y(on)
        self.ppl_plot.set_log_y(on or getattr(self, "_objective", None) in LOG_METRICS)

    def show_message(self, text: str) -> None:
        self.message.setText(in_form_words(text))  # the Model page's labels, the key in brackets

    # ----- drawing -------------------------------------------------------------------------------
    def _x(self, curve) -> np.ndarray:
        if self.x_axis.currentIndex() == 0:
            return np.asarray(curve.steps, dtype=float)
        t0 = self.run.first_time or 0.0
        return np.asarray(curve.times, dtype=float) - t0

    def _redraw(self) -> None:
        """Redraw everything now (after a change of smoothing, axis or run)."""
        if self.run is None:
            return
        self.shown_version = self.run.version
        self._dirty = []
        for i in range(len(self.plots)):
            self._draw_plot(i)
        self._draw_texts()

    def _draw_plot(self, index: int) -> None:
        c = self.run.curves
        if index == 0:
            loss = np.asarray(c["loss"].values, dtype=float)
            x = self._x(c["loss"])
            self.loss_plot.set_series("train (raw)", x, loss, color=PALETTE[0], width=1, faint=True)
            self.loss_plot.set_series("train", x, self.smooth(loss, self.smoothing.value() / 100), color=PALETTE[0],
                                      width=2)
            self.loss_plot.set_series("validation", self._x(c["val_loss"]), c["val_loss"].values, color=PALETTE[1],
                                      width=2, symbol="o")
            self._draw_reference()
            self.loss_marks.draw(self.run, by_step=self.x_axis.currentIndex() == 0)
        elif index == 1:
            self._set_objective(self.run.objective)
            draw_objective_plot(self.ppl_plot, self.run, self._x)
        elif index == 2:
            self.lr_plot.set_series("lr", self._x(c["lr"]), c["lr"].values, color=PALETTE[2])
        else:
            self.tps_plot.set_series("tokens/s", self._x(c["tokens_per_s"]), c["tokens_per_s"].values,
                                     color=PALETTE[3])

    def _set_objective(self, objective: str) -> None:
        """Title the metric plot and show the confusion matrix for the run's objective."""
        if getattr(self, "_objective", None) != objective:
            self._objective = objective
            self.ppl_plot.clear_series()
            self.ppl_plot.set_title(objective_title(objective))
            self.ppl_plot.set_known_range(KNOWN_RANGES.get(objective))
            self.ppl_plot.set_log_y(self.log_y.isChecked() or objective in LOG_METRICS)
            self.tabs.setTabVisible(2, objective in ("classify", "tag"))  # a tagger's: one row a tag
            self.tabs.setTabVisible(3, objective == "tag")
            self.tabs.setTabText(0, "Predictions" if objective == "classify" else "Samples")

    def _draw_texts(self) -> None:
        run = self.run
        self.entities.show_scores(run.last_eval)
        self.doctor.show_run(run)
        if run.confusion is not None:
            last = run.curves["val_accuracy"].steps
            self.confusion.set_matrix(run.confusion, run.labels, int(last[-1]) if last else None)
        if len(run.samples) != self._shown[0]:
            self.samples.setPlainText("\n\n".join(f"— step {s.step} —\n{s.get('prompt', '')}{s.get('text', '')}"
                                                  for s in run.samples[-5:][::-1]))
        if len(run.log) != self._shown[1]:
            self.log.setPlainText("\n".join(run.log[-500:]))
            self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())
        self._shown = (len(run.samples), len(run.log))

    def _draw_reference(self) -> None:
        cfg = self.run.summary.config
        ref = reference_for(cfg) if cfg else None
        if ref and self.x_axis.currentIndex() == 0:
            self.loss_plot.set_series("reference (validation)", ref["steps"], ref["val_loss"], color="#888888",
                                      dashed=True, faint=True)
        else:
            self.loss_plot.remove_series("reference (validation)")

    def _update_header(self) -> None:
        run = self.run
        if run is None:
            for b in (self.pause_btn, self.stop_btn, self.resume_btn):
                b.setEnabled(False)
            self.back_btn.setVisible(False)
            self.intervene.show_run(None, training=False)
            self.doctor.show_run(None)
            return
        s = run.summary
        training = self.store.state.training  # the same state as the status bar's: one truth of what trains
        live = training.is_training(run.path)
        status = "paused" if training.is_paused(run.path) else ("running" if live else s.status)
        self.title.setText(f"<b>{s.name}</b> &nbsp; <span style='color:#666'>{run.path}</span>")
        self.title.setToolTip(str(run.path))
        self.status.setText(STATUS_WORDS.get(status, status))
        p = training.progress(run)  # the words and the bar of the status bar's Progress; a budget run's by time
        value, top = p.bar()
        step = run.last_step.step if run.last_step else s.step
        where = (p if p.step or p.budget_s else replace(p, step=step or 0)).where_text()  # the status bar's words
        self.progress.setMaximum(top)
        self.progress.setValue(value if p.step or p.budget_s else min(step or 0, top))
        self.progress.setFormat(where.replace("%", "%%") if step or status not in ("new", "failed") else
                                "preparing the corpus and the model…" if live else "")
        if run.last_step and live:
            self.eta.setText(training.progress_text(run))
        else:
            test = f" · test: {test_line(s.test)}" if s.test else ""  # scored once, at the end
            self.eta.setText((f"best val loss {s.best_val_loss:.4f}" if s.best_val_loss is not None else "") + test)
        # one control for each thing: while the run trains, Pause toggles to Resume and the Resume button (which
        # restarts an ended run) is hidden, so a paused run never shows two Resume buttons
        self.pause_btn.setText("Resume" if status == "paused" else "Pause")
        self.pause_btn.setEnabled(live)
        self.intervene.show_run(run, training=live, paused=status == "paused")
        self.pause_btn.setVisible(live)
        self.stop_btn.setEnabled(live)
        self.resume_btn.setText("Extend…" if status == "finished" else "Resume")
        self.resume_btn.setEnabled(not live and s.resumable)
        self.resume_btn.setVisible(not live)
        retry = None if live else self.oom_retry_config()
        self.retry_btn.setVisible(retry is not None)
        if retry is not None:
            self.retry_btn.setText(f"Retry with batch {retry.train.batch_size} × accumulation "
                                   f"{retry.train.grad_accum}")
        if status == "interrupted" and not self.message.text():
            self.message.setText("This run ended without finishing (the trainer was killed or crashed). Its last "
                                 "checkpoint is intact: press Resume to continue.")
        elif status == "failed" and s.message and not self.message.text():
            self.message.setText(in_form_words(s.message))
        self.back_btn.setVisible(status == "failed" and not s.checkpoints)
        if run.last_step and live:  # last, once the header is whole: the status bar follows, whoever started the run
            self.sig_progress_shown.emit()
