"""The Inspect page: run + checkpoint + text over eight tabs. Attention: heads grid | one head large | the token view
(or a step of training), exports as PNG, CSV or NumPy; Heads: head roles over training; Logit lens; Ablation;
Embeddings; Fourier (fourier_panel.py); Features (SAE features forming); Concepts (probes over training)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.probes.head_scores import head_roles
from studio.inference import attention_job, started
from studio.inspect.ablation_panel import AblationPanel
from studio.inspect.concepts_panel import ConceptsPanel
from studio.inspect.embeddings_panel import EmbeddingsPanel
from studio.inspect.features_panel import FeaturesPanel
from studio.inspect.fourier_panel import FourierPanel
from studio.inspect.heads_panel import HeadsPanel
from studio.inspect.heatmaps import HeadsGrid, HeadView
from studio.inspect.lens_panel import LensPanel
from studio.inspect.lines_view import LinesView, scrolled
from studio.inspect.shaded_text import shaded_html
from studio.inspect.stacks import STACKS, load_recorded, recorded_steps, stack_axes
from studio.inspect.text_cut import with_cut
from studio.widgets.run_picker import RunPicker
from studio.widgets.run_texts import run_text, unknown_note

PLACEHOLDER = ("Choose a run, type a text (or keep the start of the run's own validation data) and press Show "
               "attention: every head's weights appear here.")


class InspectPage(QWidget):
    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        self.maps: np.ndarray | None = None
        self.tokens: list[str] = []
        self.keys: list[str] = []
        """The columns' tokens: the rows' own, or a cross-attention map's source."""
        self.stacks: dict | None = None
        """An encoder-decoder's three stacks, and the pair they were computed on."""
        self.pair: dict = {}
        self.causal = True
        self.layer, self.head = 0, 0
        self.job = None

        self.picker = RunPicker(store, page="inspect")
        self.computed_for: Path | None = None
        """The run the maps being computed belong to: a result for a run no longer chosen is not shown."""
        self.computed_checkpoint: str | None = None  # another one chosen marks what is shown as out of date
        self.text = QPlainTextEdit()
        self.text.setObjectName("inspect_text")
        self.text.setMaximumHeight(70)
        self.default_text = ""
        """The run's own text last put in the box; replaced when another run is chosen, unless the user typed."""
        self.text_note = QLabel("")
        self.text_note.setObjectName("inspect_text_note")
        self.text_note.setWordWrap(True)
        self.text_note.setStyleSheet("color: #92400e;")
        self.show_btn = QPushButton("Show attention")
        self.show_btn.setObjectName("show_attention")
        self.busy = QProgressBar()
        self.busy.setRange(0, 1)
        self.busy.setMaximumWidth(160)
        self.busy.setVisible(False)
        self.status = QLabel("")
        self.status.setObjectName("inspect_status")
        self.mean = QCheckBox("mean over heads")
        self.stack = QComboBox()
        self.stack.setObjectName("attention_stack")
        for key, text in STACKS.items():
            self.stack.addItem(text, key)
        self.stack.setToolTip("An encoder-decoder attends three ways: the encoder over the source, the decoder "
                              "over the target so far, and the decoder's cross-attention from each target token "
                              "to the source (where it looks to write that token).")
        self.stack.setVisible(False)
        self.steps = QSlider()
        self.steps.setOrientation(self.steps.orientation().Horizontal)
        self.steps.setObjectName("training_steps")
        self.steps_label = QLabel("Attention over training: (no recorded steps)")
        self.grid = HeadsGrid()
        self.view = HeadView()
        self.lines = LinesView()
        self.head_views = QTabWidget()  # the chosen head as a map, or as lines between the tokens (long texts)
        self.head_views.setObjectName("head_views")
        self.head_views.addTab(self.view, "Map")
        self.head_views.addTab(scrolled(self.lines), "Lines")
        self.head_views.setTabToolTip(1, "the chosen head as lines from each token (left) to the tokens it "
                                         "attends to (right), one row a token: readable for long texts")
        self.head_views.setVisible(False)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setObjectName("inspect_placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #666; padding: 40px;")
        self.hover = QLabel("")
        self.hover.setObjectName("hover")
        self.query = QComboBox()
        self.query.setObjectName("query_token")
        self.token_view = QLabel()
        self.token_view.setObjectName("token_view")
        self.token_view.setWordWrap(True)
        exports = QHBoxLayout()
        for text, slot in (("Export PNG…", self._on_export_png), ("Export CSV…", lambda: self._on_export("csv")),
                           ("Export NumPy…", lambda: self._on_export("npy"))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            exports.addWidget(b)
        exports.addStretch()

        self.heads_panel = HeadsPanel(store, self.picker)
        self.lens_panel = LensPanel(self.picker, self.text.toPlainText)
        self.ablation_panel = AblationPanel(self.picker, self.text.toPlainText, self._head_roles)
        self.embeddings_panel = EmbeddingsPanel(self.picker)
        self.fourier_panel = FourierPanel(self.picker)
        self.features_panel, self.concepts_panel = FeaturesPanel(self.picker), ConceptsPanel(self.picker)
        actions = QHBoxLayout()
        actions.addWidget(self.show_btn)
        actions.addWidget(self.busy)
        actions.addWidget(self.stack)
        actions.addWidget(self.mean)
        actions.addStretch()
        training = QHBoxLayout()
        training.addWidget(self.steps_label)
        training.addWidget(self.steps, 1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("<b>All heads</b> (rows: layers, columns: heads; click one)"))
        lv.addWidget(self.grid)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.head_views, 1)
        rv.addWidget(self.placeholder, 1)
        rv.addWidget(self.hover)
        row = QHBoxLayout()
        row.addWidget(QLabel("Token"))
        row.addWidget(self.query, 1)
        rv.addLayout(row)
        rv.addWidget(self.token_view)
        rv.addLayout(exports)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([420, 780])
        attention = QWidget()
        av = QVBoxLayout(attention)
        av.addLayout(actions)
        av.addLayout(training)
        av.addWidget(self.status)
        av.addWidget(split, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("inspect_tabs")
        self.tips: dict[QWidget, str] = {}
        for widget, name, tip in (
                (attention, "Attention", "every head's attention weights on the text"),
                (self.heads_panel, "Heads", "what each head does, scored at every evaluation of training"),
                (self.lens_panel, "Logit lens", "each layer's guess at the next token"),
                (self.ablation_panel, "Ablation", "zero heads and see what the text's loss does"),
                (self.embeddings_panel, "Embeddings", "the token embeddings as a map, over training"),
                (self.fourier_panel, "Fourier", "a modular-addition run's embedding per frequency, over training"),
                (self.features_panel, "Features", "a sparse autoencoder's features of a layer, forming over training"),
                (self.concepts_panel, "Concepts", "what each layer knows of a concept, probed over training")):
            self.tabs.addTab(widget, name)
            self.tabs.setTabToolTip(self.tabs.count() - 1, tip)
            self.tips[widget] = tip
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addWidget(self.text)
        layout.addWidget(self.text_note)
        layout.addWidget(self.tabs, 1)

        self.show_btn.clicked.connect(self.compute)
        self.picker.sig_changed.connect(self._on_run_changed)
        self.picker.choice.run_switched.connect(self._on_run_switched)
        self.grid.sig_head_clicked.connect(self.select_head)
        self.view.sig_hovered.connect(self.hover.setText)
        self.lines.sig_hovered.connect(self.hover.setText)
        self.lines.sig_token_clicked.connect(self.query.setCurrentIndex)
        self.mean.toggled.connect(lambda _: self._show_head())
        self.stack.currentIndexChanged.connect(lambda _: self._show_stack())
        self.query.currentIndexChanged.connect(lambda _: self._show_token_view())
        self.steps.valueChanged.connect(self._on_step_moved)
        self.text.textChanged.connect(self._check_text)
        self.tabs.currentChanged.connect(lambda _: self._refresh_panels())
        self._on_run_changed()

    # ----- computing -----------------------------------------------------------------------------
    def compute(self) -> None:
        run = self.picker.run_dir()
        if run is None:
            self.status.setText("Train a run first: its checkpoints appear here.")
            return
        self.busy.setRange(0, 0)
        self.busy.setVisible(True)
        self.show_btn.setEnabled(False)
        self.status.setText("Computing…")
        self.hover.setText("")
        self.computed_for, self.computed_checkpoint = run, self.picker.checkpoint()
        self.job = started(attention_job(run, self.picker.checkpoint(), self.text.toPlainText()), self,
                           self._on_maps, self._on_failed)

    def _on_maps(self, result) -> None:
        if self.computed_for != self.picker.run_dir():  # another run was chosen meanwhile
            return
        maps, tokens, cut = result  # cut: the worker's word that a long text was cut to the model's context
        if isinstance(maps, dict):
            self._idle(with_cut(f"the source as the model translates it: {self.picker.checkpoint()} wrote "
                                f"{''.join(tokens['target'])!r}", cut))
            self.show_stacks(maps, tokens)
            return
        self._idle(with_cut(f"{maps.shape[0]} layers × {maps.shape[1]} heads over {len(tokens)} tokens "
                            f"({self.picker.checkpoint()})", cut))
        self.set_maps(maps, tokens)

    def _on_failed(self, message: str) -> None:
        self._idle("")
        if self.computed_for != self.picker.run_dir():
            return
        self.status.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")

    def _idle(self, message: str) -> None:
        self.busy.setRange(0, 1)
        self.busy.setVisible(False)
        self.show_btn.setEnabled(True)
        self.status.setText(message)

    def show_stacks(self, stacks: dict, pair: dict) -> None:
        """An encoder-decoder's maps: the stack chosen above is shown (cross-attention first)."""
        if self.stacks is None:  # the last layer first: where cross-attention lines up the words
            self.layer = next(iter(stacks.values())).shape[0] - 1
        self.stacks, self.pair = stacks, pair
        self.stack.setVisible(True)
        self._show_stack()

    def _show_stack(self) -> None:
        if self.stacks is None:
            return
        key = self.stack.currentData()
        rows, cols = stack_axes(key, self.pair["source"], self.pair["target"])
        self.set_maps(self.stacks[key], rows, keys=cols, causal=key == "decoder", keep_stacks=True)

    def set_maps(self, maps: np.ndarray, tokens: list[str], *, keys: list[str] | None = None, causal: bool = True,
                 keep_stacks: bool = False) -> None:
        if not keep_stacks:
            self.stacks = None
            self.stack.setVisible(False)
        self.maps, self.tokens, self.keys, self.causal = maps, tokens, keys or tokens, causal
        self.grid.setVisible(True)
        self.layer = min(self.layer, maps.shape[0] - 1)
        self.head = min(self.head, maps.shape[1] - 1)
        self.grid.set_maps(maps)
        self.head_views.setVisible(True)
        self.placeholder.setVisible(False)
        with QSignalBlocker(self.query):
            self.query.clear()
            self.query.addItems([f"{i}: {t!r}" for i, t in enumerate(tokens)])
            self.query.setCurrentIndex(len(tokens) - 1)
        self._show_head()

    def select_head(self, layer: int, head: int) -> None:
        self.layer, self.head = layer, head
        self.mean.setChecked(False)
        self.hover.setText("")
        self._show_head()

    def current_map(self) -> np.ndarray:
        if self.mean.isChecked():
            return self.maps[self.layer].mean(axis=0)
        return self.maps[self.layer, self.head]

    def _show_head(self) -> None:
        if self.maps is None:
            return
        which = "mean over heads" if self.mean.isChecked() else f"head {self.head}"
        self.grid.highlight(self.layer, None if self.mean.isChecked() else self.head)
        stack = f"{self.stack.currentText().lower()}, " if self.stacks is not None else ""
        self.view.set_map(self.current_map(), self.tokens, f"{stack}layer {self.layer}, {which}", keys=self.keys)
        self.lines.set_map(self.current_map(), self.tokens, f"{stack}layer {self.layer}, {which}", keys=self.keys)
        self._show_token_view()

    def _show_token_view(self) -> None:
        """The chosen token's attention as shaded text: darker = attended to more."""
        if self.maps is None or self.query.currentIndex() < 0:
            return
        q = self.query.currentIndex()
        row = self.current_map()[q]
        weights = [w if k <= q or not self.causal else 0.0 for k, w in enumerate(row[:len(self.keys)])]
        self.token_view.setText(shaded_html(self.keys, weights, mark=q if self.keys is self.tokens else None,
                                            top=float(row.max())))

    # ----- attention over training ---------------------------------------------------------------
    def _check_text(self) -> None:
        note = unknown_note(self.picker.run_dir(), self.text.toPlainText())
        self.text_note.setText(note)
        self.text_note.setVisible(bool(note))

    def _on_run_switched(self, _run) -> None:
        """Another run is chosen: nothing shown of the one before (maps, their caption, a translation) stays."""
        self.maps, self.stacks, self.tokens, self.keys, self.pair = None, None, [], [], {}
        self.stack.setVisible(False)
        self.grid.setVisible(False)
        self.head_views.setVisible(False)
        self.placeholder.setVisible(True)
        with QSignalBlocker(self.query):
            self.query.clear()
        for label in (self.status, self.hover, self.token_view):
            label.setText("")

    def _on_run_changed(self) -> None:
        shown = self.maps is not None and self.computed_for == self.picker.run_dir() and self.computed_checkpoint
        if shown and shown != self.picker.checkpoint():  # the map on screen is of the checkpoint chosen before
            self.status.setText(f"These maps are of {shown}: press Show attention for {self.picker.checkpoint()}")
        typed = self.text.toPlainText()
        if not typed.strip() or typed == self.default_text:  # the user's own text stays
            self.default_text = run_text(self.store, self.picker.run_dir())
            self.text.setPlainText(self.default_text)
        self._check_text()
        steps = recorded_steps(self.picker.run_dir())
        self.recorded = steps
        with QSignalBlocker(self.steps):
            self.steps.setRange(0, max(0, len(steps) - 1))
            self.steps.setValue(max(0, len(steps) - 1))
            self.steps.setEnabled(bool(steps))
        self.steps_label.setText(f"Attention over training: step {steps[-1]}" if steps else
                                 "Attention over training: (no recorded steps)")
        run = self.picker.run_dir()
        pairs = run is not None and self.store.run(run).objective == "seq2seq"
        for panel in (self.heads_panel, self.lens_panel, self.ablation_panel):  # they read one stack
            i = self.tabs.indexOf(panel)
            self.tabs.setTabEnabled(i, not pairs)
            self.tabs.setTabToolTip(i, "for a decoder or an encoder: an encoder-decoder's three stacks are on the "
                                       "Attention tab" if pairs else self.tips[panel])
        self._refresh_panels()

    def _head_roles(self) -> list[list[str]]:
        run = self.picker.run_dir()
        heads = self.store.run(run).heads if run is not None else []
        return head_roles(heads[-1][1]) if heads and "entropy" in heads[-1][1] else []

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name): a run may have moved on while away
        super().showEvent(event)
        self._refresh_panels()

    def _refresh_panels(self) -> None:
        """The tabs that read the run (Heads, Embeddings, Fourier, Features...) do it when they come into view."""
        if (refresh := getattr(self.tabs.currentWidget(), "refresh", None)) is not None:
            refresh()

    def _on_step_moved(self, index: int) -> None:
        run = self.picker.run_dir()
        if run is None or not self.recorded:
            return
        step = self.recorded[index]
        maps, tokens = load_recorded(run, step)
        self.steps_label.setText(f"Attention over training: step {step} (the run's probe text)")
        self.hover.setText("")
        if isinstance(maps, dict):  # the first validation pair, on its reference target
            self.show_stacks(maps, tokens)
            self.status.setText(f"recorded during training at step {step}, on the first validation pair and its "
                                f"reference target")
            return
        self.set_maps(maps, tokens)
        self.status.setText(f"{maps.shape[0]} layers × {maps.shape[1]} heads over {len(tokens)} tokens "
                            f"(recorded during training at step {step}, on the run's probe text)")

    # ----- export --------------------------------------------------------------------------------
    def _on_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the map as PNG", "attention.png", "PNG (*.png)")
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> None:
        (self.lines if self.head_views.currentIndex() == 1 else self.view).grab().save(str(path))

    def _on_export(self, kind: str) -> None:
        if self.maps is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the weights", f"attention.{kind}", f"*.{kind}")
        if path:
            from engine.probes.attention import save_maps  # imports torch: only when asked

            save_maps(path, self.maps, self.tokens)
