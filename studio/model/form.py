"""A form widget generated from the run config dataclasses: set_config / config round-trip exactly."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.config import schema as C
from studio.model.fields import (
    CHOICES,
    CLASSIFY_ONLY,
    DECODER_LAYOUT,
    DURATIONS,
    EDITABLE,
    ENCODER_ONLY,
    GROUP_NOTES,
    GROUPS,
    INT_RANGE,
    ITEM_HINTS,
    LABELLED,
    LORA_ONLY,
    MASKED_ONLY,
    PAIRS_ONLY,
    SCIENTIFIC,
    SEQ2SEQ_ONLY,
    SPAN_ONLY,
    STEP_SCHEDULE,
    ZERO_MEANS,
    field_docs,
    label,
)
from studio.state.budget import budget_text, read_budget


class ConfigForm(QWidget):
    sig_changed = Signal()
    """Any field changed."""

    def __init__(self, parent=None, *, groups=GROUPS):
        super().__init__(parent)
        self.widgets: dict[tuple[str, str], QWidget] = {}
        self.forms: dict[tuple[str, str], QFormLayout] = {}
        self._loading = False
        layout = QVBoxLayout(self)
        defaults = C.RunConfig()
        for title, fields in groups.items():
            box = QGroupBox(title)
            form = QFormLayout(box)
            if title in GROUP_NOTES:
                note = QLabel(GROUP_NOTES[title])
                note.setWordWrap(True)
                form.addRow(note)
            for section, key in fields:
                default = getattr(getattr(defaults, section), key)
                w = self._make(section, key, default)
                w.setObjectName(f"{section}.{key}")
                w.setToolTip(field_docs(type(getattr(defaults, section))).get(key, ""))
                form.addRow(label(key, section), w)
                self.widgets[(section, key)] = w
                self.forms[(section, key)] = form
            layout.addWidget(box)
        layout.addStretch()
        self.set_config(defaults)

    def _make(self, section: str, key: str, default) -> QWidget:
        if (section, key) in DURATIONS:
            w = QLineEdit()
            w.setPlaceholderText("off (such as 90s, 10m or 1h)")
            w.textChanged.connect(self._on_changed)
            return w
        if (section, key) in CHOICES:
            w = QComboBox()
            w.setEditable((section, key) in EDITABLE)
            w.addItems(list(CHOICES[(section, key)]))
            hints = ITEM_HINTS.get((section, key), {})
            for i, item in enumerate(CHOICES[(section, key)]):
                if item in hints:
                    w.setItemData(i, hints[item], Qt.ItemDataRole.ToolTipRole)
            if hints:
                w.currentTextChanged.connect(lambda text, w=w: w.setToolTip(f"{text}: {hints.get(text, '')}"))
            w.currentTextChanged.connect(self._on_changed)
            return w
        if key == "device":
            w = QComboBox()
            w.setEditable(True)
            w.addItems(["auto", "cpu"])
            w.currentTextChanged.connect(self._on_changed)
            return w
        if isinstance(default, bool):
            w = QCheckBox()
            w.toggled.connect(self._on_changed)
            return w
        if isinstance(default, int):
            w = QSpinBox()
            w.setRange(-1 if key == "sample_interval" else INT_RANGE[0], INT_RANGE[1])
            w.setGroupSeparatorShown(True)
            if (section, key) in ZERO_MEANS and w.minimum() == 0:
                w.setSpecialValueText(ZERO_MEANS[(section, key)])
            w.valueChanged.connect(self._on_changed)
            return w
        if isinstance(default, float) and (section, key) not in SCIENTIFIC:
            w = QDoubleSpinBox()
            w.setDecimals(3)
            w.setRange(-1.0, 1e6)
            w.setSingleStep(0.01)
            if (section, key) in ZERO_MEANS:
                w.setMinimum(0.0)
                w.setSpecialValueText(ZERO_MEANS[(section, key)])
            w.valueChanged.connect(self._on_changed)
            return w
        w = QLineEdit()  # strings, scientific floats ("3e-4"), and lists (one per line, '|' separated)
        w.textChanged.connect(self._on_changed)
        return w

    def _on_changed(self, *_):
        if not self._loading:
            self.sig_changed.emit()

    def set_config(self, cfg: C.RunConfig) -> None:
        self._loading = True
        try:
            for (section, key), w in self.widgets.items():
                self._show(section, key, getattr(getattr(cfg, section), key))
        finally:
            self._loading = False
        self.name = cfg.name
        self.sig_changed.emit()

    def set_values(self, values: dict[str, object]) -> None:
        """Show these values ({"section.key": value}) without announcing the change."""
        with self.quietly():
            for dotted, value in values.items():
                self._show(*dotted.split("."), value)

    def _show(self, section: str, key: str, value) -> None:
        w = self.widgets[(section, key)]
        if isinstance(w, QComboBox):
            if w.findText(str(value)) < 0:
                w.addItem(str(value))
            w.setCurrentText(str(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
            w.setValue(value)
        elif (section, key) in DURATIONS:
            w.setText(budget_text(value))
        elif isinstance(value, list):
            w.setText(" | ".join(v.replace("\n", "\\n") for v in value))
        else:
            w.setText(repr(value) if isinstance(value, float) else str(value))

    def config(self) -> tuple[C.RunConfig, list[str]]:
        """The config the form shows, and the problems of fields the form could not even read."""
        cfg = C.RunConfig(name=getattr(self, "name", ""))
        problems = []
        for (section, key), w in self.widgets.items():
            target = getattr(cfg, section)
            default = getattr(target, key)
            if isinstance(w, QComboBox):
                value = w.currentText()
            elif isinstance(w, QCheckBox):
                value = w.isChecked()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                value = w.value()
            elif (section, key) in DURATIONS:
                value, problem = read_budget(w.text())
                if problem:
                    problems.append(problem)
                    continue
            elif isinstance(default, list):
                value = [v.strip().replace("\\n", "\n") for v in w.text().split("|") if v.strip()]
            elif isinstance(default, float):
                try:
                    value = float(w.text())
                except ValueError:
                    problems.append(f"{section}.{key} must be a number like 3e-4, got {w.text()!r}")
                    continue
            else:
                value = w.text()
            setattr(target, key, value)
        return cfg, problems

    @contextmanager
    def quietly(self):
        """Change widgets without announcing each change."""
        self._loading = True
        try:
            yield
        finally:
            self._loading = False

    def follow(self, cfg: C.RunConfig) -> None:
        """Show the fields this run's objective, fine-tuning method and schedule use, and only those."""
        objective = cfg.model.objective
        for fields, shown in ((MASKED_ONLY, objective == "masked"), (CLASSIFY_ONLY, objective == "classify"),
                              (LABELLED, objective in ("classify", "tag")),
                              (PAIRS_ONLY, objective in C.PAIR_OBJECTIVES), (SEQ2SEQ_ONLY, objective == "seq2seq"),
                              (SPAN_ONLY, objective == "span"),
                              (DECODER_LAYOUT, objective != "seq2seq"), (ENCODER_ONLY, cfg.arch == "bert"),
                              (LORA_ONLY, cfg.finetune.method == "lora"), (STEP_SCHEDULE, not cfg.train.time_budget)):
            for section, key in fields:
                self.set_row_visible(section, key, shown)

    def set_row_visible(self, section: str, key: str, visible: bool) -> None:
        self.forms[(section, key)].setRowVisible(self.widgets[(section, key)], visible)

    def is_row_visible(self, section: str, key: str) -> bool:
        return self.forms[(section, key)].isRowVisible(self.widgets[(section, key)])

    def widget(self, section: str, key: str) -> QWidget:
        return self.widgets[(section, key)]
