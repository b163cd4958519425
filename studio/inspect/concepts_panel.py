"""The Concepts tab: probes over training. A concept given as a regex over the text (or a preset: "a digit follows",
"inside a quotation", "a capital letter"), a token list or a CSV of (text, label); Probe runs `engine concept` in
the background (a linear probe per layer and checkpoint, studio/engine_process.py) and shows its held-out accuracy
per (layer, checkpoint) as a heatmap, read against the majority-guess baseline. A run trained with
`train.concept_regex` shows what its evaluations measured the same way, without computing; tables probed before
are saved in the run folder (concepts/) and shown again."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.core.errors import UserError
from engine.run.folder import checkpoints
from studio.engine_process import RunCommandView
from studio.inspect.heatmaps import AccuracyGrid
from studio.state.concepts import (
    KINDS,
    LIVE,
    PRESETS,
    baseline_words,
    checked_concept,
    checkpoint_probed,
    concept_args,
    floor_of,
    live_problem,
    live_table,
    progress_words,
    read_table,
    result_path,
    saved_tables,
    table_title,
)

HELP = ("What does each layer know of a concept, and when does it learn it? A linear probe per layer reads the "
        "residual stream at each checkpoint and is scored on held-out examples: the heatmap's rows are the layers "
        "(the embeddings first), its columns the checkpoints.")
EMPTY = "Train a run first: its checkpoints appear here."
KIND_NAMES = {"regex": "Regex", "tokens": "Token list", "csv": "CSV file"}


class ConceptsPanel(QWidget, RunCommandView):
    def __init__(self, picker, parent=None):
        super().__init__(parent)
        self.picker, self.store = picker, picker.store
        self.run: Path | None = None
        self.tables: list[dict] = []
        """What the Shown list offers: the run's live table (if it has one), then its saved ones."""
        self.table: dict | None = None
        self.job_result: Path | None = None
        self.seconds: list[float] = []
        self.total = 0
        self.said: tuple[Path | None, str] | None = None
        """What was last said of a run (a refusal, a probe done), shown while that run is."""
        self.shown_version = None
        self.kind = QComboBox()
        self.kind.setObjectName("concept_kind")
        for key, name in KIND_NAMES.items():
            self.kind.addItem(name, key)
            self.kind.setItemData(self.kind.count() - 1, KINDS[key], 3)  # 3: the tooltip role
        self.preset = QComboBox()
        self.preset.setObjectName("concept_preset")
        self.preset.addItem("presets…", "")
        for name, regex in PRESETS.items():
            self.preset.addItem(name, regex)
        self.spec = QLineEdit()
        self.spec.setObjectName("concept_spec")
        self.preset.setCurrentIndex(1)  # the first preset, in the box
        self.spec.setText(self.preset.currentData())
        self.browse_btn = QPushButton("Browse…")
        self.browse_btn.setVisible(False)
        self.probe_btn = QPushButton("Probe")
        self.probe_btn.setObjectName("probe_concept")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setVisible(False)
        self.shown_pick = QComboBox()
        self.shown_pick.setObjectName("concept_shown")
        self.status = QLabel(HELP)
        self.status.setObjectName("concept_status")
        self.status.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setObjectName("concept_caption")
        self.caption.setWordWrap(True)
        self.grid = AccuracyGrid()
        self.grid.setObjectName("concept_heatmap")
        self.grid.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("Concept"))
        row.addWidget(self.kind)
        row.addWidget(self.preset)
        row.addWidget(self.spec, 1)
        row.addWidget(self.browse_btn)
        row.addWidget(self.probe_btn)
        row.addWidget(self.stop_btn)
        shown = QHBoxLayout()
        shown.addWidget(QLabel("Shown"))
        shown.addWidget(self.shown_pick, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(shown)
        layout.addWidget(self.status)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid, 1)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.browse_btn.clicked.connect(self._browse)
        self.probe_btn.clicked.connect(self.probe)
        self.spec.returnPressed.connect(self.probe)
        self.spec.textEdited.connect(lambda text: self.preset.setCurrentIndex(max(self.preset.findData(text), 0)))
        self.stop_btn.clicked.connect(self.stop)
        self.shown_pick.activated.connect(lambda i: self._show(self.tables[i] if 0 <= i < len(self.tables) else None))
        self.store.sig_run_updated.connect(self._on_run_updated)

    # ----- the concept ---------------------------------------------------------------------------------
    def _on_kind(self) -> None:
        kind = self.kind.currentData()
        self.preset.setVisible(kind == "regex")
        self.browse_btn.setVisible(kind == "csv")
        self.spec.setText(self.preset.currentData() if kind == "regex" else "")
        self.spec.setPlaceholderText({"regex": "a regex, such as [A-Z]", "tokens": "a,e,i,o,u or a=vowel,t=consonant",
                                      "csv": "a CSV file with the columns text and label"}[kind])
        self.spec.setToolTip(KINDS[kind])

    def _on_preset(self, index: int) -> None:
        if regex := self.preset.itemData(index):
            self.spec.setText(regex)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "A CSV of text and label", "", "CSV (*.csv);;All files (*)")
        if path:
            self.spec.setText(path)

    # ----- probing ---------------------------------------------------------------------------------------
    def probe(self) -> None:
        run = self.picker.run_dir()
        if run is None:
            return self._tell(None, EMPTY)
        if self.job_running:
            return
        try:
            concept = checked_concept(self.kind.currentData(), self.spec.text())
        except UserError as e:
            return self._tell(run, str(e), refused=True)
        self.job_result, self.seconds, self.said = result_path(run, concept), [], None
        self.total = len(checkpoints(run))
        self.start_job(run, concept_args(run, concept), on_line=self._on_line, on_done=self._on_done,
                       on_failed=lambda words: self._tell(self.job_run, words, refused=True))
        self._say()

    def stop(self) -> None:
        self.stop_job()
        self._tell(self.job_run, "Stopped: nothing was saved.")

    def _busy(self, busy: bool) -> None:
        self.probe_btn.setEnabled(not busy)
        self.stop_btn.setVisible(busy)

    def _tell(self, run: Path | None, words: str, *, refused: bool = False) -> None:
        self._busy(self.job_running)
        shown = html.escape(words, quote=False)
        self.said = (run, f"<span style='color:#b91c1c'>{shown}</span>" if refused else shown)
        self._say()

    def _on_line(self, line: str) -> None:
        if (seconds := checkpoint_probed(line)) is not None:
            self.seconds.append(seconds)
            self._say()

    def _on_done(self) -> None:
        table = read_table(self.job_result)
        if table is None:
            return self._tell(self.job_run, f"the probe ended without writing {self.job_result}", refused=True)
        self._tell(self.job_run, f"Probed {len(table['steps'])} checkpoints.")
        if self.picker.run_dir() == self.job_run == self.run:
            self._list(chosen=str(self.job_result))

    # ----- the run's tables ------------------------------------------------------------------------------
    def refresh(self) -> None:
        run = self.picker.run_dir()
        if run != self.run:
            self.run = run
            self._list()
        else:
            self._say()

    def _on_run_updated(self, path) -> None:
        """A run training with train.concept_regex: its live table grows with each evaluation."""
        if path == self.run and self.isVisible() and len(self.store.run(path).concepts) != self.shown_version:
            self._list(chosen=self.table.get("path") if self.table else None)

    def _list(self, chosen: str | None = None) -> None:
        """List the run's tables (live first, then saved, newest first) and show `chosen` (a saved table's path),
        else the first."""
        self.tables = []
        live = None
        if self.run is not None:
            state = self.store.run(self.run)
            cfg = state.summary.config
            self.shown_version = len(state.concepts)
            live = live_table(state.concepts, cfg.train.concept_regex if cfg is not None else "")
            if live is None and (problem := live_problem(state.concepts)):
                self.said = self.said or (self.run, html.escape(f"The concept this run watched while it trained "
                                                                f"could not be probed: {problem}"))
        self.tables = ([live] if live else []) + saved_tables(self.run)
        self.shown_pick.clear()
        for t in self.tables:
            self.shown_pick.addItem(table_title(t), t.get("path", LIVE))
        index = self.shown_pick.findData(chosen) if chosen else 0
        self.shown_pick.setCurrentIndex(max(index, 0))
        self._show(self.tables[max(index, 0)] if self.tables else None)

    def _say(self) -> None:
        if self.run is None:
            words = EMPTY
        elif self.job_running and self.job_run == self.run:
            words = progress_words(self.seconds, self.total)
        elif self.said is not None and self.said[0] == self.run:
            words = self.said[1]
        else:
            words = HELP if self.tables else f"{HELP} Nothing probed for this run yet: type a concept and press Probe."
        words += self.background_note(self.run, "Probing")
        self.status.setText(words)

    def _show(self, table: dict | None) -> None:
        self.table = table
        self._say()
        self.grid.setVisible(table is not None)
        if table is None:
            self.caption.setText("")
            return
        columns = [f"step {s}" for s in table["steps"]]
        self.grid.set_grid(table["accuracy"], table["layers"], columns, floor_of(table),
                           tip=f"the baseline: {table['chance']:.1%}" if table.get("chance") is not None else "")
        self.caption.setText(f"<b>{html.escape(table_title(table))}</b>: held-out accuracy per layer (rows) and "
                             f"checkpoint (columns). {html.escape(baseline_words(table))}")
