"""The main window: navigation on the left, one page at a time, the run's state in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from engine.config import schema as C
from studio.corpus.page import CorpusPage
from studio.corpus.session import corpus_state, restore_corpus
from studio.demo_runs import HELP_DEMOS, open_demo_run
from studio.grokking_lab import open_grokking_lab
from studio.inspect.page import InspectPage
from studio.model.page import ModelPage
from studio.playground.page import PlaygroundPage
from studio.runs.page import RunsPage
from studio.runs.queue_runner import QueueRunner
from studio.settings import Settings
from studio.state.demo import DEMO_CORPUS, demo_config
from studio.state.training import alongside_question, comparable
from studio.store import Store
from studio.train.page import TrainPage
from studio.trainer_client import TrainerClient
from studio.widgets.wheel_guard import install_wheel_guard

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
        install_wheel_guard(QApplication.instance())
        self.save_timer = QTimer(self, singleShot=True, interval=500)  # the user's work is kept as they go
        self.status_timer = QTimer(self, singleShot=True, interval=250)  # the status bar, 4 times a second at most

        self.settings = settings
        self.setWindowTitle("Attention Studio")
        self.store = Store(settings.workspace)
        self.client = TrainerClient(self.store)
        self.corpus_page = CorpusPage(self.store)
        self.state = self.store.state
        self.model_page = ModelPage(self.store, auto_measure=settings.auto_measure)
        self.train_page = TrainPage(self.store, self.client)
        self.runs_page = RunsPage(self.store)
        self.inspect_page = InspectPage(self.store)
        self.playground_page = PlaygroundPage(self.store)
        gpus = sum(d.type == "cuda" for d in self.model_page.devices)
        self.queue_runner = QueueRunner(self.store, self.client, gpus=gpus)
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
        self.model_page.sig_queue_requested.connect(self.add_to_queue)
        self.train_page.sig_resume_requested.connect(self.resume)
        self.train_page.sig_retry_requested.connect(self.start_training)
        self.train_page.sig_back_requested.connect(lambda: self.nav.setCurrentRow(PAGES.index("Model")))
        self.runs_page.sig_open_requested.connect(self.open_run)
        self.runs_page.sig_resume_requested.connect(self.resume)
        self.runs_page.sig_duplicate_requested.connect(self._on_duplicate)
        self.runs_page.sig_finetune_requested.connect(self._on_finetune)
        self.client.sig_events.connect(self.store.add_events)
        self.client.sig_process_ended.connect(self._on_process_ended)
        self.status_timer.timeout.connect(self._update_status)
        self.train_page.sig_progress_shown.connect(self._update_status)  # at once: the same step and time left
        self.store.sig_runs_changed.connect(self._schedule_status)
        self.store.sig_run_updated.connect(self._schedule_status)
        self.state.training.changed.connect(self._schedule_status)
        self.save_timer.timeout.connect(self.save_session)
        for changed in (self.corpus_page.sig_changed, self.model_page.form.sig_changed, self.nav.currentRowChanged,
                        self.runs_page.sig_sort_changed):
            changed.connect(self.save_timer.start)

        self.resize(1280, 820)
        self._restore_geometry()
        self.set_workspace(settings.workspace)
        self.nav.setCurrentRow(0)
        self.restored = self.restore_session()

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
        view.addSeparator()
        self.auto_measure_action = QAction("&Measure small models on this machine automatically", self)
        self.auto_measure_action.setCheckable(True)
        self.auto_measure_action.setChecked(self.settings.auto_measure)
        self.auto_measure_action.setToolTip("The Model page times three real steps of a shape that trains in well "
                                            "under a second a step, so its estimate is measured, not counted")
        self.auto_measure_action.toggled.connect(self._on_auto_measure_toggled)
        view.addAction(self.auto_measure_action)
        help_menu = self.menuBar().addMenu("&Help")
        demos = [(demo.menu, lambda _=False, name=name: open_demo_run(self, name)) for name, demo in HELP_DEMOS.items()]
        for text, slot in (("Open the &demo", self.offer_demo),
                           ("Open the &grokking lab (a + b mod 97)", lambda: open_grokking_lab(self)), *demos):
            action = QAction(text, self)
            action.triggered.connect(slot)
            help_menu.addAction(action)

    def _on_auto_measure_toggled(self, on: bool) -> None:
        self.settings.auto_measure = on
        self.model_page.set_auto_measure(on)

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
            if run.summary.live:
                self.client.follow(run_dir)
                self.store.set_current(run_dir)
        self._sync_training()

    def _on_choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the workspace folder", str(self.store.workspace))
        if folder:
            self.set_workspace(Path(folder))

    def start_training(self, cfg) -> Path | None:
        """Train a config now; while another run uses the device, first ask: queue it, run alongside, or not."""
        self._sync_training()
        training = self.state.training.paths
        if training:  # the same design training already: queueing it again would be refused, so not offered
            answer = self.ask_alongside(len(training), can_queue=comparable(cfg.to_dict()) not in self._designs())
            if answer == "queue":
                self.add_to_queue([cfg])
                return None
            if answer != "alongside":
                return None
        run_dir = self.client.launch(cfg)
        self._forget_queued(cfg)
        self.store.refresh()
        self._sync_training()
        self.nav.setCurrentRow(PAGES.index("Train"))
        return run_dir

    def ask_alongside(self, training: int, *, can_queue: bool = True) -> str:
        """"queue", "alongside" or "cancel": what to do with a new run while `training` runs use the device."""
        question, alongside_words = alongside_question(training)
        box = QMessageBox(self)
        box.setWindowTitle("A run is training")
        box.setText(question if can_queue else question + " This same design is training now, so it is not "
                    "offered to the queue.")
        queue = box.addButton("Queue it", QMessageBox.ButtonRole.AcceptRole) if can_queue else None
        alongside = box.addButton(alongside_words, QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(queue or cancel)
        box.exec()
        return {queue: "queue", alongside: "alongside"}.get(box.clickedButton(), "cancel")

    def _forget_queued(self, cfg) -> None:
        """The queue never holds a run that trains: the same design waiting there leaves it."""
        queue, design = self.queue_runner.queue, comparable(cfg.to_dict())
        try:
            waiting = queue.items()
        except Exception:  # noqa: BLE001 (a damaged queue file is said by the queue panel)
            return
        for item in waiting:
            try:
                same = comparable(C.load(item.config).to_dict()) == design
            except Exception:  # noqa: BLE001 (an unreadable queued config stays for the panel to show)
                continue
            if same:
                queue.remove(item.id)
        self.runs_page.queue_panel.reload()

    def resume(self, run_dir: Path, max_steps: int | None) -> None:
        if self.client.is_alive(run_dir):
            return
        self.train_page.show_message("")
        self.client.resume(Path(run_dir), max_steps)
        self._sync_training()
        self.nav.setCurrentRow(PAGES.index("Train"))

    def add_to_queue(self, configs: list) -> None:
        """Put runs in the workspace's queue (one from Add to queue, every point of a sweep); the queue starts
        them when a slot is free."""
        queue = self.queue_runner.queue
        training = self._designs()
        fresh = [cfg for cfg in configs if comparable(cfg.to_dict()) not in training]
        for cfg in fresh:
            queue.add(cfg, sweep=cfg.sweep)
        self.runs_page.queue_panel.reload()
        same = f"; {len(configs) - len(fresh)} already training, not queued again" if len(fresh) < len(configs) else ""
        self.statusBar().showMessage(f"{len(fresh)} run(s) queued{same}: the Runs page shows the queue", 8000)
        self.queue_runner.tick()

    def _designs(self) -> list[dict]:
        """The designs (configs without where they write) of the runs training now."""
        return self.state.training.designs(self.store.runs)

    def live_runs(self) -> list[Path]:
        """Runs training now: those this window launched and those it re-attached to."""
        return [d for d in self.store.runs if (d in self.client.procs or d in self.client.followers)
                and self.client.is_alive(d)]

    def open_run(self, run_dir: Path) -> None:
        self.store.set_current(Path(run_dir))
        if self.store.run(run_dir).summary.live:
            self.client.follow(run_dir)
        self.nav.setCurrentRow(PAGES.index("Train"))

    def _on_corpus_chosen(self, cfg, vocab, tokens) -> None:
        self.model_page.set_corpus(cfg, vocab, tokens)
        self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_duplicate(self, cfg) -> None:
        if self.model_page.replace_config(cfg, f"Duplicating {cfg.name.removesuffix('-copy') or 'the run'}"):
            self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_finetune(self, run_dir) -> None:
        """Start designing a run that continues this one: its model, on the corpus chosen next."""
        run = self.store.runs.get(Path(run_dir))
        name = f"{run.summary.name if run else Path(run_dir).name}-finetune"
        if self.model_page.finetune_from(name, str(run_dir)):
            self.nav.setCurrentRow(PAGES.index("Model"))

    def _on_process_ended(self, run_dir: Path, code: int, message: str) -> None:
        self._sync_training()
        self.store.resummarize(run_dir)
        if message and self.store.current == Path(run_dir):
            self.train_page.show_message(message)
        if code:
            self.statusBar().showMessage(f"{Path(run_dir).name}: {message or 'ended'}", 15000)

    def _schedule_status(self, *_) -> None:
        if not self.status_timer.isActive():  # at most one update per interval, however fast events come
            self.status_timer.start()

    def _sync_training(self) -> None:
        """The state learns which runs train now and which of them are paused (every view reads it there)."""
        self.state.training.set_live({d: self.store.run(d).state == "paused" for d in self.live_runs()})

    def _update_status(self) -> None:
        """The status bar shows the state's line: which run trains, where it is, the same words as the Train page."""
        self._sync_training()
        if self.state.training.live:
            self.statusBar().clearMessage()  # a hint from before must not hide a live run
        self.run_label.setText(self.state.training.status_line(self.store.runs, self.store.current))

    # ----- first start -------------------------------------------------------------------------------
    def offer_demo(self) -> None:
        """Put the built-in demo corpus and preset in place, so one click on Train shows a learning curve (the
        user's unsaved edits of the form are replaced only if they say so)."""
        if not self.model_page.may_replace("Opening the demo"):
            return
        corpus = self.corpus_page.use_demo(DEMO_CORPUS)
        cfg = demo_config(corpus, self.store.runs_dir)
        cfg.data.cache_dir = str(self.store.cache_dir)
        self.model_page.set_config(cfg)
        self.model_page.kept.mark()
        self.settings.mark_started()
        self.nav.setCurrentRow(PAGES.index("Model"))
        self.statusBar().showMessage("The demo is ready: the Python standard library as a corpus and a small "
                                     "model. Press Train on the Model page.", 20000)

    # ----- what the user left ------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        """The window where it was, exactly: the client rectangle, not the frame (which a window manager moves)."""
        rect, maximized = self.settings.window()
        screen = QApplication.primaryScreen()
        if rect is not None and screen is not None and screen.availableVirtualGeometry().intersects(rect):
            self.setGeometry(rect)
        if maximized:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def save_session(self) -> None:
        """Corpus page, model form, page and the Runs table's sort, as the user left them (kept as they work, not
        only at exit)."""
        cfg, _ = self.model_page.current_config()
        if self.isVisible():
            self.settings.save_window(self.normalGeometry() if self.isMaximized() else self.geometry(),
                                      self.isMaximized())
        self.settings.save_session({"corpus": corpus_state(self.corpus_page), "model": cfg.to_toml(),
                                    "model_kept": self.model_page.kept.values, "runs_sort": self.runs_page.sort_state(),
                                    "page": self.nav.currentRow(), "workspace": str(self.store.workspace)})

    def restore_session(self) -> bool:
        """Reopen where the user left off; False when there is nothing to restore (first start)."""
        session = self.settings.session()
        if not session or session.get("workspace") not in (None, str(self.store.workspace)):
            return False
        restore_corpus(self.corpus_page, session.get("corpus") or {})
        try:
            self.model_page.set_config(C.loads(session.get("model") or ""))
        except Exception:  # noqa: BLE001 (a config from an older version: the form keeps its defaults)
            pass
        self.model_page.kept.restore(session.get("model_kept"))  # edits not saved then are still unsaved
        self.runs_page.restore_sort(session.get("runs_sort"))
        page = session.get("page", 0)
        if not self.store.current:  # a re-attached run shows itself on the Train page
            self.nav.setCurrentRow(page if isinstance(page, int) and 0 <= page < len(PAGES) else 0)
        else:
            self.nav.setCurrentRow(PAGES.index("Train"))
        return True

    def moveEvent(self, event) -> None:  # noqa: N802 (Qt's name): the place is kept even if the studio is killed
        super().moveEvent(event)
        self.save_timer.start()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.save_timer.start()

    # ----- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        live = self.live_runs()
        if live:
            box = QMessageBox(self)
            box.setWindowTitle("Runs are training")
            box.setText(f"{len(live)} run{'s are' if len(live) != 1 else ' is'} still training.")
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
        self.save_session()
        for job in self.corpus_page.jobs.values():  # a preview or prepare stops at its next step, not at exit
            job.cancel()
        from studio import inference_client

        if inference_client._client is not None:  # the inference worker leaves with the window
            inference_client._client.shutdown()
        event.accept()
