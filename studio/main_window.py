"""The main window: navigation on the left, one page at a time, the run's state in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from engine.demo import demo_config_toml
from studio.corpus.page import CorpusPage
from studio.inspect.page import InspectPage
from studio.model.page import ModelPage
from studio.playground.page import PlaygroundPage
from studio.runs.page import RunsPage
from studio.settings import Settings
from studio.store import Store
from studio.train.page import TrainPage
from studio.trainer_client import TrainerClient

PAGES = ("Corpus", "Model", "Train", "Runs", "Inspect", "Playground")
STYLE = """
QListWidget#nav { background: #1f2937; color: #e5e7eb; font-size: 14px; border: none; }
QListWidget#nav::item { padding: 12px 18px; }
QListWidget#nav::item:selected { background: #2563eb; color: white; }
QFrame#card { background: #f8fafc; border: 1px solid #e2e8f0; border-radius: 6px; }
QPushButton#train_button { background: #2563eb; color: white; font-weight: bold; padding: 8px; }
QPushButton#train_button:disabled { background: #94a3b8; }
"""


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings
        self.setWindowTitle("Attention Studio")
        self.store = Store(settings.workspace)
        self.client = TrainerClient(self.store)
        self.corpus_page = CorpusPage(self.store)
        self.model_page = ModelPage(self.store)
        self.train_page = TrainPage(self.store, self.client)
        self.runs_page = RunsPage(self.store)
        self.inspect_page = InspectPage(self.store)
        self.playground_page = PlaygroundPage(self.store)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(140)
        self.stack = QStackedWidget()
        for page in (self.corpus_page, self.model_page, self.train_page, self.runs_page, self.inspect_page,
                     self.playground_page):
            self.stack.addWidget(page)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setStyleSheet(STYLE)
        self.workspace_label = QLabel()
        self.run_label = QLabel()
        self.statusBar().addWidget(self.run_label, 1)
        self.statusBar().addPermanentWidget(self.workspace_label)
        self._make_menus()

        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.corpus_page.sig_corpus_chosen.connect(self._on_corpus_chosen)
        self.model_page.sig_train_requested.connect(self.start_training)
        self.train_page.sig_resume_requested.connect(self.resume)
        self.train_page.sig_retry_requested.connect(self.start_training)
        self.runs_page.sig_open_requested.connect(self.open_run)
        self.runs_page.sig_resume_requested.connect(self.resume)
        self.runs_page.sig_duplicate_requested.connect(self._on_duplicate)
        self.runs_page.sig_finetune_requested.connect(self._on_finetune)
        self.client.sig_events.connect(self.store.add_events)
        self.client.sig_process_ended.connect(self._on_process_ended)
        self.store.sig_runs_changed.connect(self._update_status)

        self.resize(1280, 820)
        if settings.geometry() is not None:
            self.restoreGeometry(settings.geometry())
        self.set_workspace(settings.workspace)
        self.nav.setCurrentRow(0)

    def _make_menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        for text, shortcut, slot in [
            ("Choose &workspace…", "Ctrl+Shift+W", self._on_choose_workspace),
            ("&Open run config…", QKeySequence.StandardKey.Open, self.model_page._on_load),
            ("&Save run config…", QKeySequence.StandardKey.Save, self.model_page._on_save),
            ("&Train", "Ctrl+Return", self.model_page._on_train_clicked),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ]:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            file.addAction(action)
        view = self.menuBar().addMenu("&View")
        for i, name in enumerate(PAGES):
            action = QAction(name, self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.nav.setCurrentRow(i))
            view.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        demo = QAction("Open the &demo", self)
        demo.triggered.connect(self.offer_demo)
        help_menu.addAction(demo)

    # ----- workspace and runs ----------------------------------------------------------------------
    def set_workspace(self, path: Path) -> None:
        path = Path(path)
        try:
            for sub in ("runs", "configs", "corpora", "cache"):
                (path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            QMessageBox.warning(self, "Workspace", f"The workspace {path} cannot be used: {e.strerror}. "
                                "Choose another folder.")
            return
        self.settings.workspace = path
        self.store.set_workspace(path)
        self.workspace_label.setText(f"Workspace: {path}")
        for run_dir, run in self.store.runs.items():  # re-attach to runs still training
            if run.summary.status == "running":
                self.client.follow(run_dir)
                self.store.set_current(run_dir)

    def _on_choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the workspace folder", str(self.store.workspace))
        if folder:
            self.set_workspace(Path(folder))

    def start_training(self, cfg) -> Path:
        run_dir = self.client.launch(cfg)
        self.store.refresh()
        self.nav.setCurrentRow(PAGES.index("Train"))
        return run_dir

    def resume(self, run_dir: Path, max_steps: int | None) -> None:
        if self.client.is_alive(run_dir):
            return
        self.train_page.show_message("")
        self.client.resume(Path(run_dir), max_steps)
        self.nav.setCurrentRow(PAGES.index("Train"))

    def open_run(self, run_dir: Path) -> None:
        self.store.set_current(Path(run_dir))
        if self.store.run(run_dir).summary.status == "running":
            self.client.follow(run_dir)
        self.nav.setCurrentRow(PAGES.index("Train"))

    def _on_corpus_chosen(self, cfg, vocab) -> None:
        self.model_page.set_corpus(cfg, vocab)
        self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_duplicate(self, cfg) -> None:
        self.model_page.set_config(cfg)
        self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_finetune(self, run_dir) -> None:
        """Start designing a run that continues this one: its model, on the corpus chosen next."""
        run = self.store.runs.get(Path(run_dir))
        self.model_page.name.setText(f"{run.summary.name if run else Path(run_dir).name}-finetune")
        self.model_page.set_source(str(run_dir))
        self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_process_ended(self, run_dir: Path, code: int, message: str) -> None:
        self.store.resummarize(run_dir)
        if message and self.store.current == Path(run_dir):
            self.train_page.show_message(message)
        if code:
            self.statusBar().showMessage(f"{Path(run_dir).name}: {message or 'ended'}", 15000)

    def _update_status(self) -> None:
        live = self.client.running()
        self.run_label.setText(f"{len(live)} run(s) training" if live else "No run is training")

    # ----- first start -------------------------------------------------------------------------------
    def offer_demo(self) -> None:
        """Put the built-in demo corpus and preset in place, so one click on Train shows a learning curve."""
        corpus = self.corpus_page.use_demo("python-stdlib")
        from engine import config as C

        cfg = C.loads(demo_config_toml(corpus, self.store.runs_dir / "demo"))
        cfg.data.cache_dir = str(self.store.cache_dir)
        self.model_page.set_config(cfg)
        self.settings.mark_started()
        self.statusBar().showMessage("The demo is ready: the Python standard library as a corpus and a small "
                                     "model. Press Train on the Model page.", 20000)

    # ----- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        live = self.client.running()
        if live:
            box = QMessageBox(self)
            box.setWindowTitle("Runs are training")
            box.setText(f"{len(live)} run(s) are still training.")
            box.setInformativeText("Let them continue in the background (the studio re-attaches when it opens "
                                   "again), or stop them now? Stopping saves a checkpoint first.")
            keep = box.addButton("Keep training", QMessageBox.ButtonRole.AcceptRole)
            stop = box.addButton("Stop them", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is stop:
                for run_dir in live:
                    self.client.control(run_dir, "stop")
            elif box.clickedButton() is not keep:
                event.ignore()
                return
        self.settings.save_geometry(self.saveGeometry(), self.saveState())
        from studio import inference_client

        if inference_client._client is not None:  # the inference worker leaves with the window
            inference_client._client.shutdown()
        event.accept()
