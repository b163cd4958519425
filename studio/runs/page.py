"""The Runs page: a table of runs, an overlay of the selected runs' curves, a run's few-shot evaluations
(studio/runs/fewshot_panel.py), their config differences, and actions (open, resume, extend, duplicate and edit,
fine-tune, export (Hugging Face or GGUF), delete, open folder)."""

from __future__ import annotations

import datetime
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.core.text import human_count, human_seconds
from engine.run.folder import CHECKPOINTS_DIR
from engine.run.runinfo import delete_run
from studio.runs.config_diff import config_differences
from studio.runs.fewshot_panel import FewshotPanel
from studio.runs.queue_panel import QueuePanel
from studio.runs.sorting import SORT_ROLE, SortItem, kept_sort, restore_sort, sort_keys
from studio.runs.sweep_view import SweepView, best_run
from studio.state.run_labels import run_labels
from studio.store import Store
from studio.widgets.export_dialog import ExportDialog
from studio.widgets.extend_dialog import ask_total_steps
from studio.widgets.plots import PALETTE, MetricPlot

COLUMNS = ["Name", "Status", "Objective", "Parameters", "Best val loss", "Test", "Steps", "Duration", "Started"]



def objective_text(cfg) -> str:
    if cfg is None:
        return "?"
    text = {"causal": "causal LM", "masked": "masked LM", "classify": "classifier", "seq2seq": "seq2seq (T5)",
            "instruct": "instruction-tuned LM"}.get(cfg.model.objective,
                                                                                     cfg.model.objective)
    if cfg.model.objective == "masked" and cfg.task.nsp:
        text += " + NSP"
    if cfg.finetune.source:
        source = Path(cfg.finetune.source)
        source = source.parent.parent if source.parent.name == CHECKPOINTS_DIR else source
        text += f" · {'LoRA' if cfg.finetune.method == 'lora' else 'fine-tune'} of {source.name}"
    return text


def test_text(test: dict | None) -> str:
    """The test split's result in a cell: exact match and BLEU where the run writes targets, else its loss."""
    if not test:
        return ""
    if test.get("exact_match") is not None:
        return f"EM {test['exact_match']:.0%} · BLEU {test.get('bleu', 0):.0f}"
    return f"loss {test['loss']:.4f}" if test.get("loss") is not None else ""


def steps_text(step: int, s) -> str:
    """"step/max_steps"; a time-budget run's max_steps is only a guard, so it says the budget instead."""
    budget = s.config.train.time_budget if s.config is not None else 0
    return f"{step} in a {human_seconds(budget)} budget" if budget else f"{step}/{s.max_steps}"


def row_values(run) -> list[str]:
    """A run's cells; a live run's step, best loss and duration come from its newest events."""
    s = run.summary
    last = run.last_step if run.loaded else None  # a run nobody looked at yet: its summary says enough
    step = max(s.step, last.step or 0) if last else s.step
    duration = max(s.duration, last.get("elapsed") or 0) if last else s.duration
    val = [v for v in run.curves["val_loss"].values if v is not None] if run.loaded else []
    best = min(val) if val else s.best_val_loss
    started = datetime.datetime.fromtimestamp(s.started).strftime("%Y-%m-%d %H:%M") if s.started else ""
    return [s.name, s.status, objective_text(s.config), human_count(s.n_params) if s.n_params else "",
            f"{best:.4f}" if best is not None else "", test_text(s.test), steps_text(step, s),
            human_seconds(duration) if duration else "", started]


class RunsPage(QWidget):
    sig_open_requested = Signal(object)
    """Show this run (a Path) on the Train page."""
    sig_resume_requested = Signal(object, object)
    """(run Path, max_steps or None) resume or extend a run."""
    sig_duplicate_requested = Signal(object)
    """Load this run's config (a RunConfig) into the Model page for editing."""
    sig_finetune_requested = Signal(object)
    """Design a run that fine-tunes this run (a Path) on the Model page."""
    sig_sort_changed = Signal()
    """The user sorted the table by another column or order (the window keeps it for the next session)."""

    def __init__(self, store: Store, parent=None):
        super().__init__(parent)
        self.store = store
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runs_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Started"), Qt.SortOrder.DescendingOrder)  # newest first, and the
        # header says so; a click on another header sorts by it
        self.table.horizontalHeader().sortIndicatorChanged.connect(lambda *_: self.sig_sort_changed.emit())
        self.plot = MetricPlot("Validation loss of the selected runs")
        self.diff = QPlainTextEdit(readOnly=True)
        self.diff.setObjectName("config_diff")
        self.diff.setPlaceholderText("Select two or more runs to see how their configs differ.")
        self.show_combo = QComboBox()
        self.show_combo.setObjectName("runs_show")
        self.show_combo.addItem("All runs")
        self.sweep_view = SweepView()
        self.buttons = {}
        listing, actions = QHBoxLayout(), QHBoxLayout()  # what is listed; what to do with the selection
        listing.addWidget(QLabel("Show"))
        listing.addWidget(self.show_combo)
        for row, keys in ((listing, [("refresh", "Refresh"), ("follow", "Follow a folder…")]),
                          (actions, [("open", "Open"), ("resume", "Resume"), ("extend", "Extend…"),
                                     ("duplicate", "Duplicate && edit"), ("finetune", "Fine-tune…"),
                                     ("export", "Export…"), ("folder", "Open folder"), ("delete", "Delete…")])):
            for key, label in keys:
                b = QPushButton(label)
                b.setObjectName(f"runs_{key}")
                self.buttons[key] = b
                row.addWidget(b)
            row.addStretch()
        self.views = QTabWidget()
        self.views.addTab(self.plot, "Curves")
        self.views.addTab(self.sweep_view, "Sweep")
        self.fewshot_panel = FewshotPanel(store)
        self.views.addTab(self.fewshot_panel, "Few-shot")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.views)
        right.addWidget(self.diff)
        self.queue_panel = QueuePanel(store)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.table)
        left.addWidget(self.queue_panel)
        left.setSizes([600, 200])
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([620, 520])
        layout = QVBoxLayout(self)
        layout.addLayout(listing)
        layout.addLayout(actions)
        layout.addWidget(split)

        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.show_combo.activated.connect(lambda _: self.reload())
        self.table.itemDoubleClicked.connect(lambda _: self._on_open())
        self.buttons["open"].clicked.connect(self._on_open)
        self.buttons["resume"].clicked.connect(lambda: self._on_resume(None))
        self.buttons["extend"].clicked.connect(self._on_extend)
        self.buttons["duplicate"].clicked.connect(self._on_duplicate)
        self.buttons["folder"].clicked.connect(self._on_folder)
        self.buttons["finetune"].clicked.connect(
            lambda: self.selected() and self.sig_finetune_requested.emit(self.selected()[0]))
        self.buttons["export"].clicked.connect(self._on_export)
        self.job = None
        self.buttons["delete"].clicked.connect(self._on_delete)
        self.buttons["refresh"].clicked.connect(store.refresh)
        self.buttons["follow"].clicked.connect(self._on_follow)
        self.buttons["follow"].setToolTip("List a run folder from elsewhere, such as a cluster job's on a shared file "
                                          "system, and follow it live")
        store.sig_runs_changed.connect(self.reload)
        self._live: set[Path] = set()  # runs with new events since the table last showed them
        self.live_timer = QTimer(self, singleShot=True, interval=500)
        self.live_timer.timeout.connect(self._show_live)
        store.sig_run_updated.connect(self._on_run_updated)
        self.reload()

    # ----- table -----------------------------------------------------------------------------------
    def sort_state(self) -> dict:
        return kept_sort(self.table.horizontalHeader(), COLUMNS)

    def restore_sort(self, kept) -> None:
        restore_sort(self.table, COLUMNS, kept)

    def reload(self) -> None:
        selected = set(self.selected())
        self.table.setSortingEnabled(False)
        runs = sorted(self.store.runs.values(), key=lambda r: r.summary.started or 0, reverse=True)
        runs = [r for r in runs if r.summary.config is not None or r.summary.status != "new"]
        sweep = self._sweep_choices(runs)
        if sweep:
            runs = [r for r in runs if r.summary.config and r.summary.config.sweep == sweep]
            self.sweep_view.show_sweep(sweep, runs)
        best = best_run(runs) if sweep else None
        self.table.setRowCount(len(runs))
        self.table.blockSignals(True)
        for row, run in enumerate(runs):
            values = row_values(run)
            for col, (value, key) in enumerate(zip(values, sort_keys(run, values))):
                item = SortItem(value)
                item.setData(SORT_ROLE, key)
                item.setData(Qt.ItemDataRole.UserRole, str(run.path))
                if col == 1 and run.summary.message:
                    item.setToolTip(run.summary.message)
                if run is best:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip("the best point of the sweep (lowest final validation loss)")
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        self.table.setSortingEnabled(True)
        self.select(selected)  # the user's selection survives every refresh

    def _sweep_choices(self, runs: list) -> str:
        """Fill the Show list with the sweeps among `runs`; the sweep chosen there, or "" for all runs."""
        names = sorted({r.summary.config.sweep for r in runs if r.summary.config and r.summary.config.sweep})
        chosen = self.show_combo.currentText().removeprefix("Sweep: ")
        wanted = ["All runs"] + [f"Sweep: {n}" for n in names]
        if [self.show_combo.itemText(i) for i in range(self.show_combo.count())] != wanted:
            self.show_combo.blockSignals(True)
            self.show_combo.clear()
            self.show_combo.addItems(wanted)
            self.show_combo.setCurrentText(f"Sweep: {chosen}" if chosen in names else "All runs")
            self.show_combo.blockSignals(False)
        return chosen if chosen in names else ""

    def show_sweep(self, name: str) -> None:
        self.show_combo.setCurrentText(f"Sweep: {name}")
        self.reload()
        self.views.setCurrentWidget(self.sweep_view)

    def _on_run_updated(self, path) -> None:
        self._live.add(Path(path))
        if not self.live_timer.isActive():
            self.live_timer.start()

    def _show_live(self) -> None:
        """Steps, best loss and duration of running runs follow their events, a few times a second at most."""
        live, self._live = self._live, set()
        self.table.setSortingEnabled(False)  # a changed cell would move its row while the rows are walked
        for r in range(self.table.rowCount()):
            path = Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole))
            if path in live and path in self.store.runs:
                values = row_values(self.store.runs[path])
                for col, (value, key) in enumerate(zip(values, sort_keys(self.store.runs[path], values))):
                    if self.table.item(r, col).text() != value:
                        self.table.item(r, col).setText(value)
                        self.table.item(r, col).setData(SORT_ROLE, key)
        self.table.setSortingEnabled(True)  # sorts again by the header's column

    def selected(self) -> list[Path]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]

    def select(self, paths) -> None:
        paths = {Path(p) for p in paths}
        model = self.table.selectionModel()
        self.table.blockSignals(True)
        self.table.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in range(self.table.rowCount()):
            if Path(self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)) in paths:
                model.select(self.table.model().index(r, 0), flags)
        self.table.blockSignals(False)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        paths = self.selected()
        self.plot.clear_series()
        configs = {}
        runs = [(path, self.store.runs[path]) for path in paths if path in self.store.runs]
        labels = run_labels([(path, run.summary.name) for path, run in runs])
        for i, ((path, run), label) in enumerate(zip(runs, labels)):
            curve = run.curves["val_loss"]
            self.plot.set_series(label, curve.steps, curve.values, color=PALETTE[i % len(PALETTE)], symbol="o")
            if run.summary.config:
                configs[label] = run.summary.config.to_dict()
        lines = config_differences(configs) if len(configs) > 1 else []
        self.diff.setPlainText("\n".join(lines) if lines else ("The selected configs are identical."
                                                               if len(configs) > 1 else ""))
        one = len(paths) == 1
        self.fewshot_panel.set_run(paths[0] if one else None)
        run = self.store.runs.get(paths[0]) if one else None
        self.buttons["open"].setEnabled(one)
        self.buttons["resume"].setEnabled(bool(run and run.summary.resumable and run.summary.status != "finished"))
        self.buttons["extend"].setEnabled(bool(run and run.summary.resumable))
        self.buttons["duplicate"].setEnabled(bool(run and run.summary.config))
        self.buttons["folder"].setEnabled(one)
        self.buttons["finetune"].setEnabled(bool(run and run.summary.checkpoints))
        self.buttons["export"].setEnabled(bool(run and run.summary.checkpoints) and self.job is None)
        self.buttons["delete"].setEnabled(bool(paths) and all(not self.store.runs[p].summary.live
                                                              for p in paths if p in self.store.runs))

    # ----- actions ---------------------------------------------------------------------------------
    def _on_open(self) -> None:
        if self.selected():
            self.sig_open_requested.emit(self.selected()[0])

    def _on_resume(self, max_steps) -> None:
        if self.selected():
            self.sig_resume_requested.emit(self.selected()[0], max_steps)

    def _on_extend(self) -> None:
        run = self.store.runs.get(self.selected()[0]) if self.selected() else None
        if run is None:
            return
        steps = ask_total_steps(self, run.summary.max_steps)
        if steps:
            self._on_resume(steps)

    def _on_duplicate(self) -> None:
        run = self.store.runs.get(self.selected()[0]) if self.selected() else None
        if run and run.summary.config:
            cfg = run.summary.config.copy()
            cfg.name = f"{cfg.name or run.path.name}-copy"
            self.sig_duplicate_requested.emit(cfg)

    def _on_export(self) -> None:
        if not self.selected():
            return
        run = self.selected()[0]
        dialog = ExportDialog(self, run)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.path.text().strip():
            self.export_to(run, dialog.out(), dialog.chosen_type())

    def export_to(self, run: Path, out: Path, gguf_type: str | None = None) -> None:
        """Export in the worker: a GGUF file when `out` ends in .gguf (of `gguf_type`, f16 when None), else a
        Hugging Face folder."""
        from studio.inference import export_job, started

        self.buttons["export"].setEnabled(False)
        self.job = started(export_job(run, out, gguf_type), self, lambda text: self._on_exported(True, text),
                           lambda text: self._on_exported(False, text))

    def _on_exported(self, ok: bool, text: str) -> None:
        self.job = None
        self._on_selection_changed()
        self.last_export_message = text
        box = QMessageBox.information if ok else QMessageBox.warning
        box(self, "Export", text if ok else f"The export failed: {text}")

    def _on_folder(self) -> None:
        if self.selected():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.selected()[0])))

    def _on_follow(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Follow which run folder?", str(Path.home()))
        if folder:
            self.follow(Path(folder))

    def follow(self, folder: Path) -> None:
        problem = self.store.follow_folder(folder)
        if problem:
            QMessageBox.warning(self, "Follow a run folder", problem)
            return
        self.select([Path(folder).resolve()])

    def _on_delete(self) -> None:
        paths = self.selected()
        if not paths:
            return
        names = ", ".join(p.name for p in paths)
        followed = [p for p in paths if self.store.is_followed(p)]
        own = len(paths) - len(followed)
        text = (f"Delete {own} run(s) and all their checkpoints?\n\n{names}\n\nThis cannot be undone." if own else
                f"Stop following {names}? The folder itself is left as it is.")
        if own and followed:
            text += f"\n\n({len(followed)} followed folder(s) are only taken off the list, not deleted.)"
        answer = QMessageBox.question(self, "Delete runs", text)
        if answer != QMessageBox.StandardButton.Yes:
            return
        for p in paths:
            if self.store.is_followed(p):  # someone else's folder: the workspace stops listing it, nothing is deleted
                self.store.unfollow(p)
                continue
            try:
                delete_run(p)
            except (OSError, ValueError) as e:
                QMessageBox.warning(self, "Delete runs", f"Could not delete {p.name}: {e}")
        self.store.refresh()
