"""The Model page: the config form | a live estimate card, inline problems, presets, Save/Load, Train.

The form follows the objective (masking options for a masked LM, label options for a classifier, the pair's
columns and the encoder's depth for seq2seq, whose layout is T5's own) and
the fine-tuning source: a source fixes the architecture and tokenizer, which are then shown, not edited.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
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
from engine.config.rules import precision_problem
from engine.core.errors import UserError
from engine.data.corpus_check import corpus_problems, holds_pairs
from engine.data.encode import split_problem
from engine.launch.local import local_plan
from engine.plan import preflight
from engine.plan.estimate import calibration_key, estimate, known_calibration
from engine.plan.memory import available_ram, memory_problem
from engine.run.source import SourceInfo, describe_source
from studio.model.auto_measure import AutoMeasure
from studio.model.edits import NAME, KeptForm, edited, flat
from studio.model.estimate_card import blank_estimate, estimate_card, show_estimate
from studio.model.fields import CLASSIFY_ONLY, DECODER_LAYOUT, LORA_ONLY, MASKED_ONLY, PAIRS_ONLY, SEQ2SEQ_ONLY, SHAPE
from studio.model.form import ConfigForm
from studio.model.form_words import in_form_words
from studio.model.hardware import find_devices
from studio.model.presets import apply_preset, preset_names
from studio.recipes import reference_note
from studio.widgets.cluster_dialog import ClusterDialog
from studio.widgets.first_steps import FirstSteps
from studio.widgets.replace_question import may_replace
from studio.widgets.sweep_dialog import SweepDialog

CHAR_VOCAB_GUESS = 100
MEASURE_TIP = ("Time three real training steps of this shape here (a few seconds), so the times and memory above "
               "are measured, not counted from FLOPs and a formula; remembered for this shape. Measure again when "
               "the machine was busy the first time")


class ModelPage(QWidget):
    sig_train_requested = Signal(object)
    sig_queue_requested = Signal(list)
    """[RunConfig] to put in the workspace's queue (one run, or a sweep's points)."""
    """Train this RunConfig (valid) in a new run."""

    def __init__(self, store, parent=None, *, auto_measure: bool = True):
        super().__init__(parent)
        self.store = store
        self.devices = find_devices()
        self.corpus_vocab: int | None = None
        self.corpus_tokens: int | None = None
        """Tokens of the corpus as the Corpus page measured it (None until prepared there)."""
        self._corpus_check: tuple[tuple, list[str]] = ((), [])
        self.source: SourceInfo | None = None
        self._source_path = ""
        self.name = QLineEdit("my-model")
        self.name.setObjectName("run_name")
        self.presets = QComboBox()
        self.presets.setObjectName("presets")
        self.presets.addItem("Presets…")
        self.presets.addItems(preset_names())
        self.form = ConfigForm()
        device = self.form.widget("train", "device")
        device.clear()
        device.addItems(["auto"] + [d.key for d in self.devices])
        gpus = [d.key.removeprefix("cuda:") for d in self.devices if d.type == "cuda"]
        if len(gpus) > 1:  # data parallel over every GPU of the workstation, one process each
            device.addItem("cuda:" + ",".join(gpus))
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        self.source_note, self.reference_note = QLabel(), QLabel()  # what is fine-tuned; the curve drawn behind
        for label, name in ((self.source_note, "source_note"), (self.reference_note, "reference_note")):
            label.setObjectName(name)
            label.setWordWrap(True)
        browse = QPushButton("Fine-tune a model folder…")
        browse.setToolTip("Start from a run folder, a checkpoint, or a Hugging Face GPT-2/BERT folder")
        browse.clicked.connect(self._on_browse_source)
        self.card = estimate_card()
        self.measure_btn = QPushButton("Measure on this machine")
        self.measure_btn.setObjectName("measure_speed")
        self.measure_btn.clicked.connect(self.measure)
        self.measure_job = None
        self.auto_measure = AutoMeasure(self, self.measure, enabled=auto_measure, device=store.state.device)
        store.state.device.changed.connect(self._on_device_changed)
        self.first_steps = FirstSteps(store, self.name, self)  # a first start: what to do, until a run exists
        self.problems = QLabel()
        self.problems.setObjectName("problems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)  # escaped text shows as typed, never as &#x27;
        self.problems.setStyleSheet("color: #b91c1c;")
        self.train_btn = QPushButton("Train")
        self.train_btn.setObjectName("train_button")
        self.train_btn.setDefault(True)
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
        side = QVBoxLayout()
        side.addWidget(self.first_steps)
        side.addWidget(self.card)
        side.addWidget(self.measure_btn)
        side.addWidget(self.source_note)
        side.addWidget(self.reference_note)
        side.addWidget(self.problems)
        side.addStretch()
        side.addWidget(self.train_btn)
        queue_row = QHBoxLayout()
        self.queue_btn = QPushButton("Add to queue")
        self.queue_btn.setToolTip("Train this run when the runs before it in the queue have finished (Runs page)")
        self.sweep_btn = QPushButton("Sweep…")
        self.sweep_btn.setToolTip("Queue a grid or random search over chosen fields: each point a run")
        queue_row.addWidget(self.queue_btn)
        queue_row.addWidget(self.sweep_btn)
        side.addLayout(queue_row)
        self.cluster_btn = QPushButton("Run on a cluster…")
        self.cluster_btn.setToolTip("Write a SLURM batch script for this run and follow its folder")
        side.addWidget(self.cluster_btn)
        body = QHBoxLayout()
        body.addWidget(scroll, 3)
        body.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body)

        self.form.sig_changed.connect(self._on_form_changed)
        self.presets.activated.connect(self._on_preset_chosen)
        self.train_btn.clicked.connect(self._on_train_clicked)
        self.cluster_btn.clicked.connect(self._on_cluster)
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
    def current_config(self) -> tuple[C.RunConfig, list[str]]:
        cfg, problems = self.form.config()
        cfg.name = self.name.text().strip()
        problems += preflight.problems(cfg)
        if not cfg.name:
            problems.append("give the run a name")
        return cfg, problems

    def set_config(self, cfg: C.RunConfig) -> None:
        if cfg.name:
            self.name.setText(cfg.name)
        self.form.set_config(cfg)

    def set_corpus(self, corpus: C.RunConfig, vocab_size: int | None = None, tokens: int | None = None) -> None:
        """Called by the Corpus page: its data and tokenizer settings and, once measured, vocabulary and size."""
        cfg, _ = self.form.config()
        cfg.name = self.name.text()
        if cfg.data.path != corpus.data.path:  # prompts and probe text written for another corpus do not carry over
            defaults = C.TrainConfig()
            cfg.train.sample_prompts, cfg.train.probe_text = defaults.sample_prompts, defaults.probe_text
        cfg.data, cfg.tokenizer = corpus.data, corpus.tokenizer
        if cfg.model.objective not in C.PAIR_OBJECTIVES and holds_pairs(cfg.data):
            cfg.model.objective = "seq2seq"  # a table of pairs is what the encoder-decoder learns from
        self.corpus_vocab, self.corpus_tokens = vocab_size, tokens
        before = flat(self.current_config()[0])
        self.set_config(cfg)
        self.kept.mark(keys=edited(flat(self.current_config()[0]), before))  # chosen on its page: not an edit

    def measure(self) -> None:
        """Time a few real steps of the designed shape in the inference worker; the estimate then uses them
        (a shape measured before is measured again, the new figures replacing the old)."""
        from studio.inference import calibration_job, started

        cfg, problems = self.current_config()
        if any(p.startswith("model.") for p in problems):
            return
        again = known_calibration(cfg, self._vocab(cfg), "cpu", self.store.cache_dir) is not None
        if self.store.state.training.live:  # never beside a training run: both would be timed slower
            return
        self.store.state.device.measurement_started(calibration_key(cfg, self._vocab(cfg), "cpu"))
        self.measure_job = started(calibration_job(cfg.to_dict(), self._vocab(cfg), self.store.cache_dir,
                                                   again=again), self, self._on_measured, self._on_measure_failed)
        self._on_form_changed()

    def _on_measured(self, _result) -> None:
        self.measure_job = None
        self.store.state.device.measurement_ended(self.store.state.device.measuring or "", ok=True)
        self._on_form_changed()

    def _on_measure_failed(self, message: str) -> None:
        self.measure_job = None
        self.store.state.device.measurement_ended(self.store.state.device.measuring or "", ok=False)
        self._on_form_changed()
        self.card.set("step", f"could not be measured: {message}")

    def _corpus_problems(self, cfg: C.RunConfig) -> list[str]:
        """What the engine would refuse about the corpus for this run (asked again only when it could change)."""
        d = cfg.data
        m = cfg.model
        key = (d.path, d.text_column, d.source_column, d.target_column, m.objective, cfg.task.label_column,
               m.block_size, m.target_block_size, cfg.tokenizer.kind)
        if key != self._corpus_check[0]:
            self._corpus_check = (key, corpus_problems(cfg))
        problems = list(self._corpus_check[1])
        if self.corpus_tokens and not cfg.finetune.source and cfg.model.objective not in C.PAIR_OBJECTIVES:
            problems += filter(None, [split_problem(self.corpus_tokens, d.val_fraction, cfg.model.block_size)])
        return problems

    def _vocab(self, cfg: C.RunConfig) -> int:
        if cfg.tokenizer.kind == "char":
            return self.corpus_vocab or CHAR_VOCAB_GUESS
        return cfg.tokenizer.vocab_size

    def _device(self, key: str):
        if "," in key:
            key = key.split(",")[0]
        if key == "auto":
            return next((d for d in self.devices if d.type == "cuda"), self.devices[0])
        return next((d for d in self.devices if d.key == key), self.devices[0])

    def refresh_sources(self) -> None:
        """Offer the workspace's runs that have a checkpoint as fine-tuning sources."""
        combo = self.form.widget("finetune", "source")
        current = combo.currentText()
        runs = sorted(str(r.path) for r in getattr(self.store, "runs", {}).values() if r.summary.checkpoints)
        with self.form.quietly():
            combo.clear()
            combo.addItems(["", *runs])
            combo.setCurrentText(current)

    def _apply_source(self, cfg: C.RunConfig) -> list[str]:
        """Follow the fine-tuning source: fill in and lock its shape; returns problems reading it."""
        path = cfg.finetune.source
        problems = []
        if path != self._source_path:
            self._source_path = path
            self.source = None
            if path:
                try:
                    self.source = describe_source(path)
                except UserError as e:
                    problems.append(str(e))
            if self.source:
                for key, value in self.source.shape.items():
                    setattr(cfg.model, key, value)
                cfg.model.arch = self.source.arch
                self.form.set_config(cfg)
        for section, key in SHAPE:
            self.form.widget(section, key).setEnabled(self.source is None)
        self.source_note.setText(f"Fine-tuning {self.source.description}: its architecture and tokenizer are "
                                 f"kept." if self.source else "")
        return problems

    def _follow_objective(self, cfg: C.RunConfig) -> None:
        objective = cfg.model.objective
        for fields, shown in ((MASKED_ONLY, objective == "masked"), (CLASSIFY_ONLY, objective == "classify"),
                              (PAIRS_ONLY, objective in C.PAIR_OBJECTIVES), (SEQ2SEQ_ONLY, objective == "seq2seq"),
                              (DECODER_LAYOUT, objective != "seq2seq"), (LORA_ONLY, cfg.finetune.method == "lora")):
            for section, key in fields:
                self.form.set_row_visible(section, key, shown)

    def _on_form_changed(self) -> None:
        cfg, problems = self.current_config()
        problems = self._apply_source(cfg) + problems
        if self.source:
            cfg, problems = self.current_config()
        problems += self._corpus_problems(cfg)
        self._follow_objective(cfg)
        device = self._device(cfg.train.device)
        ok_shape = not any(p.startswith("model.") for p in problems)
        if ok_shape:
            world, _ = local_plan(cfg.train.device, cfg.train.processes)
            measurable = device.type == "cpu" and world == 1
            measured = known_calibration(cfg, self._vocab(cfg), "cpu", self.store.cache_dir) if measurable else None
            e = estimate(cfg, vocab_size=self._vocab(cfg), peak_flops=device.peak_flops, device_type=device.type,
                         world_size=world, measured=measured)
            unmeasured = measurable and measured is None and self.measure_job is None
            device_use = self.store.state.device
            self.measure_btn.setEnabled(measurable and self.measure_job is None and not device_use.training.live)
            self.measure_btn.setToolTip(device_use.why_not_measure() or MEASURE_TIP)
            self.auto_measure.consider(calibration_key(cfg, self._vocab(cfg), "cpu") if unmeasured else None,
                                       e.seconds_per_step)
            self.measure_btn.setText("Measuring…" if self.measure_job else "Measure again" if measured
                                     else "Measure on this machine")
            approx = "≈ " if cfg.tokenizer.kind == "char" and not self.corpus_vocab else ""
            under_load = measured is not None and calibration_key(cfg, self._vocab(cfg), "cpu") in \
                device_use.under_load
            show_estimate(self.card, cfg, e, device, measured, approx, under_load=under_load)
            cpu = device.type == "cpu"  # what the trainer would refuse (auto batch: even one sequence too many)
            checked = cfg if not cfg.train.auto_batch_size else _one_sequence(cfg)
            too_big = memory_problem(checked, vocab_size=self._vocab(cfg), device_type=device.type,
                                     available=available_ram() if cpu else device.memory,
                                     where="this machine" if cpu else device.name)
            cannot = precision_problem(cfg.train.precision, device.type, device.name, device.capability)
            problems += [p for p in (too_big, cannot) if p]
        else:
            blank_estimate(self.card)
            self.auto_measure.consider(None, 0.0)
        world, _ = local_plan(cfg.train.device, cfg.train.processes)
        self.card.set("device", device.name + (f" × {world} processes" if world > 1 else ""))
        self.reference_note.setText(reference_note(cfg))
        self.problems.setText("<br>".join(f"• {html.escape(in_form_words(p))}" for p in problems))
        form = self.store.state.form
        form.set_problems(problems)
        for button in (self.train_btn, self.queue_btn):  # one decision: the queue never takes what Train refuses
            button.setEnabled(form.can_train)
        self.train_btn.setToolTip("Fix the problems listed above first" if problems else "Start training")

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
        cfg, _ = self.form.config()
        cfg.name = self.name.text()
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
        self._corpus_check = ((), [])
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

    def _on_cluster(self) -> None:
        cfg, problems = self.current_config()
        problems += self._corpus_problems(cfg)  # this machine's memory is not the cluster's: not checked here
        if problems:
            QMessageBox.warning(self, "Run on a cluster", "Fix these first:\n\n"
                                + "\n".join(in_form_words(p) for p in problems))
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dialog = ClusterDialog(self, self.store.workspace / "cluster" / f"{cfg.name or 'run'}-{stamp}")
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.write_cluster_job(dialog.plan(), Path(dialog.folder.text().strip()).expanduser())

    def write_cluster_job(self, plan, folder: Path) -> Path | None:
        """Write the job (script and config), follow its run folder, and say what to do next."""
        from engine.launch.slurm import write_cluster_job

        cfg, _ = self.current_config()
        try:
            script = write_cluster_job(cfg, plan, folder, repo=Path(__file__).resolve().parents[2])
        except UserError as e:
            QMessageBox.warning(self, "Run on a cluster", str(e))
            return None
        self.store.follow_folder(script.parent / "run", pending=True)
        QMessageBox.information(self, "Run on a cluster", f"Wrote {script}.\n\nOn the cluster's login node run:\n"
                                f"    sbatch {script}\n\nThe run is listed on the Runs page once the job starts "
                                f"writing {script.parent / 'run'} (Refresh); open it there to follow it live.")
        return script

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


def _one_sequence(cfg: C.RunConfig) -> C.RunConfig:
    """The run at a micro-batch of one: the least an automatic batch size can choose."""
    one = cfg.copy()
    one.train.batch_size = 1
    return one
