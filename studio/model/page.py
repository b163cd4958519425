"""The Model page: the config form | a live estimate card, inline problems, presets, Save/Load, Train.

The form follows the objective (masking options for a masked LM, label options for a classifier and a tagger,
the pair's columns and the encoder's depth for seq2seq, whose layout is T5's own; a corpus of pairs chooses seq2seq,
a tagged one tag) and the fine-tuning source: a source fixes the architecture and tokenizer, shown, not edited.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.config import schema as C
from engine.core.errors import UserError
from engine.data.corpus_check import holds_pairs
from engine.plan.estimate import UNDER_LOAD, known_calibration, note_calibration_load
from engine.plan.vocab import VOCAB_KEY
from studio.model.auto_measure import AutoMeasure
from studio.model.budget_box import BudgetMarks
from studio.model.cluster_job import ask_cluster_job, write_cluster_job
from studio.model.edits import NAME, KeptForm, edited, flat
from studio.model.estimate_card import MEASURE_TIP, blank_estimate, show_estimate
from studio.model.fields import SHAPE
from studio.model.form import ConfigForm
from studio.model.form_words import in_form_words
from studio.model.hardware import find_devices
from studio.model.presets import apply_preset, preset_names
from studio.model.side_panel import SidePanel
from studio.recipes import reference_note
from studio.state.corpus import records_objective, shown_elsewhere
from studio.state.demo import holds_demo, name_for_corpus
from studio.state.design import CorpusFacts, Design
from studio.widgets.first_steps import FirstSteps
from studio.widgets.replace_question import may_replace
from studio.widgets.sweep_dialog import SweepDialog


class ModelPage(QWidget):
    sig_train_requested = Signal(object)
    sig_queue_requested = Signal(list)
    """[RunConfig] to put in the workspace's queue (one run, or a sweep's points)."""
    """Train this RunConfig (valid) in a new run."""

    def __init__(self, store, parent=None, *, auto_measure: bool = True):
        super().__init__(parent)
        self.store = store
        self.devices = find_devices()
        self.corpus = CorpusFacts()
        """The corpus as the Corpus page prepared and measured it (empty until prepared there)."""
        self._filled: tuple | None = None
        """The fine-tuning source and the fields it fixed, last put in the form."""
        self.name = QLineEdit("my-model")
        self.name.setObjectName("run_name")
        self.presets = QComboBox()
        self.presets.setObjectName("presets")
        self.presets.addItem("Presets…")
        self.presets.addItems(preset_names())
        self.form = ConfigForm()
        self.budget_marks = BudgetMarks(self.form, store.state.design.budget)  # what a time budget chooses
        store.state.training.changed.connect(self._on_form_changed)  # Add to queue follows what trains
        store.state.corpus.changed.connect(self._on_form_changed)  # the note while the Corpus page shows another
        device = self.form.widget("train", "device")
        device.clear()
        device.addItems(["auto"] + [d.key for d in self.devices])
        gpus = [d.key.removeprefix("cuda:") for d in self.devices if d.type == "cuda"]
        if len(gpus) > 1:  # data parallel over every GPU of the workstation, one process each
            device.addItem("cuda:" + ",".join(gpus))
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        browse = QPushButton("Fine-tune a model folder…")
        browse.setToolTip("Start from a run folder, a checkpoint, or a Hugging Face GPT-2/BERT folder")
        browse.clicked.connect(self._on_browse_source)
        self.first_steps = FirstSteps(store, self.name, lambda: holds_demo(  # a first start: what to do
            self.name.text().strip(), self.form.config()[0], store.corpora_dir), self)
        self.side = side = SidePanel(self.first_steps)
        self.card, self.measure_btn, self.demo_note = side.card, side.measure_btn, side.demo_note
        self.source_note, self.reference_note, self.problems = side.source_note, side.reference_note, side.problems
        self.corpus_note = side.corpus_note
        self.train_btn, self.queue_btn, self.sweep_btn, self.cluster_btn = (side.train_btn, side.queue_btn,
                                                                            side.sweep_btn, side.cluster_btn)
        self.measure_btn.clicked.connect(self.measure)
        self.measure_job = None
        self.auto_measure = AutoMeasure(self, self.measure, enabled=auto_measure, device=store.state.device)
        store.state.device.changed.connect(self._on_device_changed)
        save = QPushButton("Save TOML…")
        load = QPushButton("Load TOML…")
        top = QHBoxLayout()
        top.addWidget(QLabel("Run name"))
        top.addWidget(self.name)
        top.addWidget(self.presets)
        top.addStretch()
        top.addWidget(browse)
        top.addWidget(load)
        top.addWidget(save)
        body = QHBoxLayout()
        body.addWidget(scroll, 3)
        body.addWidget(side, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body)

        self.form.sig_changed.connect(self._on_form_changed)
        self.name.textChanged.connect(self._on_form_changed)  # the name too: an empty one, or another run to queue
        self.presets.activated.connect(self._on_preset_chosen)
        self.train_btn.clicked.connect(self._on_train_clicked)
        self.cluster_btn.clicked.connect(lambda: ask_cluster_job(self))
        self.queue_btn.clicked.connect(self._on_queue)
        self.sweep_btn.clicked.connect(self._on_sweep)
        save.clicked.connect(self._on_save)
        load.clicked.connect(self._on_load)
        source = self.form.widget("finetune", "source")  # long folder paths must not widen the window
        source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        source.setMinimumContentsLength(24)
        store.sig_runs_changed.connect(self.refresh_sources)
        self.refresh_sources()
        self._on_form_changed()
        self.kept = KeptForm(lambda: self.current_config()[0])

    # ----- reading and showing the config ---------------------------------------------------------
    def design(self) -> Design:
        """Decide the designed run from the form (studio/state/design.py): AppState.design holds the result."""
        cfg, problems = self.form.config()
        cfg.name = self.name.text().strip()
        return self.store.state.design.decide(cfg, problems, self.corpus, self.devices, self.store.cache_dir)

    def current_config(self) -> tuple[C.RunConfig, list[str]]:
        """The run as designed (the source's fixed fields in it) and what the engine would refuse about it, the
        corpus included (this machine's memory and precision not: a cluster has its own)."""
        d = self.design()
        return d.written, [p for p in d.problems if p not in (d.memory_problem, d.precision_problem)]

    @property
    def corpus_tokens(self) -> int | None:
        return self.corpus.tokens

    def set_config(self, cfg: C.RunConfig) -> None:
        """Put `cfg` in the form; a demo's note from before goes (a demo shows its own after this)."""
        self.show_demo_note("")
        if cfg.name:
            self.name.setText(cfg.name)
        self.store.state.design.budget.load(cfg)  # its dial fields off their defaults are the user's
        self.form.set_config(cfg)

    def show_demo_note(self, text: str) -> None:
        self.side.show_demo_note(text)

    def set_corpus(self, corpus: C.RunConfig, vocab_size: int | None = None, tokens: int | None = None) -> None:
        """Called by the Corpus page: its data and tokenizer settings and, once measured, vocabulary and size."""
        cfg, _ = self.form.config()
        cfg.name = self.name.text()
        if cfg.data.path != corpus.data.path:  # prompts and probe text written for another corpus do not carry over
            self.show_demo_note("")  # nor does what a demo on the other corpus shows
            cfg.name = name_for_corpus(cfg.name, cfg.data.path, corpus.data.path)  # "demo" is no name for a novel
            defaults = C.TrainConfig()
            cfg.train.sample_prompts, cfg.train.probe_text = defaults.sample_prompts, defaults.probe_text
        cfg.data, cfg.tokenizer = corpus.data, dataclasses.replace(corpus.tokenizer)
        self.store.state.design.budget.keep_shown(cfg, VOCAB_KEY)  # left to the budget there: still its choice
        if cfg.model.objective not in C.PAIR_OBJECTIVES and holds_pairs(cfg.data):
            cfg.model.objective = "seq2seq"  # a table of pairs is what the encoder-decoder learns from
        elif objective := records_objective(cfg.data.path):  # tagged sentences, conversations
            cfg.model.objective = objective
        self.corpus = CorpusFacts(corpus.tokenizer, vocab_size, tokens)
        before = flat(self.current_config()[0])
        self.name.setText(cfg.name)
        self.form.set_config(cfg)  # the form's own config: what a time budget chose stays the budget's
        self.kept.mark(keys=edited(flat(self.current_config()[0]), before))  # chosen on its page: not an edit

    def measure(self) -> None:
        """Time a few real steps of the designed shape in the inference worker; the estimate then uses them
        (a shape measured before is measured again, the new figures replacing the old)."""
        from studio.inference import calibration_job, started

        d = self.design()
        if d.estimate is None or self.store.state.training.live:  # never beside a run: both would time slower
            return
        again = known_calibration(d.config, d.vocab, "cpu", self.store.cache_dir) is not None
        self.store.state.device.measurement_started(d.calibration_key)
        self.measure_job = started(calibration_job(d.config.to_dict(), d.vocab, self.store.cache_dir, again=again),
                                   self, self._on_measured, self._on_measure_failed)
        self._on_form_changed()

    def _on_measured(self, _result) -> None:
        self.measure_job = None
        key = self.store.state.device.measuring or ""
        under_load = self.store.state.device.measurement_ended(ok=True)
        note_calibration_load(key, self.store.cache_dir, under_load)  # kept with the figures, shown after a restart
        self._on_form_changed()

    def _on_measure_failed(self, message: str) -> None:
        self.measure_job = None
        self.store.state.device.measurement_ended(ok=False)
        self._on_form_changed()
        self.card.set("step", f"could not be measured: {message}")

    def refresh_sources(self) -> None:
        """Offer the workspace's runs that have a checkpoint as fine-tuning sources."""
        combo = self.form.widget("finetune", "source")
        current = combo.currentText()
        runs = sorted(str(r.path) for r in getattr(self.store, "runs", {}).values() if r.summary.checkpoints)
        with self.form.quietly():
            combo.clear()
            combo.addItems(["", *runs])
            combo.setCurrentText(current)

    def _on_form_changed(self) -> None:
        d = self.design()
        self.budget_marks.show(d)
        filled = (d.config.finetune.source, tuple(d.fixed.items())) if d.source else None
        if filled != self._filled:
            self._filled = filled
            if filled:  # the source's architecture, shape and tokenizer, shown (then shown again, filled in)
                self.form.set_config(d.config)
                return
        for section, key in SHAPE:
            self.form.widget(section, key).setEnabled(d.source is None)
        self.source_note.setText(f"Fine-tuning {d.source.description}: its architecture and tokenizer (a vocabulary "
                                 f"of {d.vocab:,}) are kept." if d.source else "")
        self.form.follow(d.config)
        self._show_estimate(d)
        self.card.set("device", d.device.name + (f" × {d.world} processes" if d.world > 1 else ""))
        self.reference_note.setText(reference_note(d.config))
        self.corpus_note.setText(shown_elsewhere(self.store.state.corpus.source, d.config.data.path))
        self.side.show_problems(d.problems)
        self.train_btn.setEnabled(d.can_train)  # the queue never takes what Train refuses, nor a design training now
        training = self.store.state.training.trains_design(d.written, self.store.runs)
        self.queue_btn.setEnabled(d.can_train and not training)
        self.first_steps.update_steps()  # what the demo is, only while the form still holds it

    def _show_estimate(self, d: Design) -> None:
        """The estimate card and Measure, as the design decided them."""
        if d.estimate is None:
            blank_estimate(self.card)
            self.auto_measure.consider(None, 0.0)
            return
        device_use = self.store.state.device
        unmeasured = d.measurable and d.measured is None and self.measure_job is None
        self.measure_btn.setEnabled(d.measurable and self.measure_job is None and not device_use.training.live)
        self.measure_btn.setToolTip(device_use.why_not_measure() or MEASURE_TIP)
        self.auto_measure.consider(d.calibration_key if unmeasured else None, d.estimate.seconds_per_step)
        self.measure_btn.setText("Measuring…" if self.measure_job else "Measure again" if d.measured
                                 else "Measure on this machine")
        show_estimate(self.card, d.counted, d.estimate, d.device, d.measured, d.approx,
                      under_load=bool(d.measured and d.measured.get(UNDER_LOAD)), head_note=d.head_note,
                      budget=d.budget)

    def _on_device_changed(self) -> None:
        """A run started or ended training, or a measurement did: Measure follows (never beside a run)."""
        if self.measure_job is None:
            self._on_form_changed()

    def set_auto_measure(self, on: bool) -> None:
        self.auto_measure.enabled = on
        self._on_form_changed()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._on_form_changed()  # a small shape left unmeasured while the page was hidden is measured now

    # ----- actions ---------------------------------------------------------------------------------
    def _on_preset_chosen(self, index: int) -> None:
        if index <= 0:
            return
        cfg = self.current_config()[0]  # as written: what a time budget chose is not the preset's to keep
        name = self.presets.itemText(index)
        self.presets.setCurrentIndex(0)
        try:
            preset = apply_preset(name, cfg)
        except UserError as e:
            QMessageBox.warning(self, "Preset", in_form_words(str(e)))
            return
        now, after = flat(self.current_config()[0]), flat(preset)
        changes = [k for k in edited(now, after) if k != NAME or preset.name]
        if self.may_replace(f"The preset {name.removeprefix('recipe: ')}", keys=changes):
            self.set_config(preset)
            self.kept.mark(keys=changes)  # what a preset set is not the user's to lose

    def _on_browse_source(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Fine-tune which model? (a run, a checkpoint or a Hugging Face "
                                                      "folder)", str(self.store.runs_dir))
        if path:
            self.set_source(path)

    def set_source(self, path: str) -> None:
        self.form.widget("finetune", "source").setCurrentText(path)

    def _recheck(self) -> bool:
        """Every check again, the corpus's too (it may have changed on disk since): may this run train?"""
        self.store.state.design.recheck()
        self._on_form_changed()
        return self.train_btn.isEnabled()

    def _on_train_clicked(self) -> None:
        if self._recheck():
            self.sig_train_requested.emit(self.current_config()[0])
            self.kept.mark()  # the run keeps the form's config

    def _on_queue(self) -> None:
        if self._recheck():  # the same checks as Train
            self.sig_queue_requested.emit([self.current_config()[0]])
            self.kept.mark()

    def _on_sweep(self) -> None:
        if not self._recheck():
            QMessageBox.warning(self, "Sweep", "Fix the problems listed first: every point starts from this run.")
            return
        dialog = SweepDialog(self, self.current_config()[0])
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.sig_queue_requested.emit(dialog.configs)

    def write_cluster_job(self, plan, folder: Path) -> Path | None:
        return write_cluster_job(self, plan, folder)

    def _on_save(self) -> None:
        cfg, problems = self.current_config()
        start = str(self.store.configs_dir / f"{cfg.name or 'run'}.toml")
        path, _ = QFileDialog.getSaveFileName(self, "Save run config", start, "TOML (*.toml)")
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        from engine.core.tomlio import write_atomic

        cfg, _ = self.current_config()
        write_atomic(path, cfg.to_toml())
        self.kept.mark()

    def _on_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load run config", str(self.store.configs_dir), "TOML (*.toml)")
        if path:
            self.load_from(Path(path))

    def load_from(self, path: Path) -> bool:
        try:
            cfg = C.load(path)
        except UserError as e:
            QMessageBox.warning(self, "Load run config", f"{path.name} cannot be used:\n\n"
                                + "\n".join(f"• {in_form_words(p)}" for p in e.problems))
            return False
        return self.replace_config(cfg, f"Loading {path.name}")

    # ----- the user's edits: nothing replaces them without asking ------------------------------------
    def may_replace(self, action: str, keys: list[str] | None = None) -> bool:
        """Ask before `action` replaces edited fields (all, or those of `keys`); True when it may go ahead."""
        edits = self.kept.edited()
        if keys is not None:
            edits = [k for k in edits if k in keys]
        return may_replace(self, action, edits)

    def replace_config(self, cfg: C.RunConfig, action: str) -> bool:
        """Put `cfg` in the form, asking first if that loses the user's edits; False when they cancelled."""
        if not self.may_replace(action):
            return False
        self.set_config(cfg)
        self.kept.mark()
        return True

    def finetune_from(self, name: str, source: str) -> bool:
        """Design a fine-tune of `source` named `name` (its shape then replaces the form's), asking first."""
        keys = [NAME, "finetune.source", *(f"{s}.{k}" for s, k in SHAPE)]
        if not self.may_replace("Fine-tuning", keys=keys):
            return False
        self.name.setText(name)
        self.set_source(source)
        self.kept.mark(keys=keys)
        return True

