"""The Fourier tab: a modular-addition run read as Nanda et al. (2023) read a model that grokked. For the chosen
checkpoint, the numbers' embedding norm per frequency as bars, its key frequencies in a strong colour; over the
run's checkpoints, the progress measures (restricted and excluded loss) beside the held-out loss.

The inference worker computes it (engine/probes/grokking.py, the `fourier` request); a run that is not modular
addition gets the engine's sentence saying what the view needs, shown here in place of the plots."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from engine.run.folder import checkpoints
from studio.inference import fourier_job, started
from studio.widgets.plots import PALETTE, MetricPlot

HELP = ("A model that groks a + b mod p embeds each number as a few waves around the circle of p: the key "
        "frequencies. Restricted loss: the held-out pairs' loss with only the key frequencies' part of the logits "
        "kept (it falls once they alone solve the task); excluded loss: the training pairs' loss with that part "
        "removed (it rises as the model stops leaning on its memorised table).")
EMPTY = "Train a run first: a modular-addition run's checkpoints appear here (Help → Open the grokking lab)."
PLAIN, KEY = "#94a3b8", "#d62728"
"""The bars of the other frequencies, and of the checkpoint's key frequencies."""
MEASURES = (("restricted_loss", "restricted loss", PALETTE[2]), ("excluded_loss", "excluded loss", PALETTE[4]),
            ("val_loss", "held-out loss", PALETTE[1]))


NOT_MODULAR = "reads a modular-addition classifier"
"""Part of the engine's refusal of a run that is not the grokking lab's (engine/probes/grokking.py NEEDS)."""


class FourierPanel(QWidget):
    def __init__(self, picker, parent=None):
        super().__init__(parent)
        self.picker = picker
        self.view: dict | None = None
        """The worker's answer for the run read last (engine/probes/fourier_command.as_json)."""
        self.refusal = ""
        """The engine's sentence when the run read last has no Fourier view."""
        self.read_for: tuple | None = None
        """(run folder, its checkpoints' names) that the view or the refusal was read for."""
        self.asked: tuple | None = None
        self.job = None
        self.status = QLabel(EMPTY)
        self.status.setObjectName("fourier_status")
        self.status.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setObjectName("fourier_caption")
        self.caption.setWordWrap(True)
        self.norms_plot = pg.PlotWidget()
        self.norms_plot.setObjectName("fourier_norms")
        self.norms_plot.setLabel("bottom", "frequency k (waves around the circle of p)")
        self.norms_plot.setLabel("left", "embedding norm")
        self.norms_plot.getAxis("left").enableAutoSIPrefix(False)  # "norm (x0.001)" helps no one
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=PLAIN, pen=None)
        self.key_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=KEY, pen=None)
        """Drawn over the plain bars at the checkpoint's key frequencies."""
        self.norms_plot.addItem(self.bars)
        self.norms_plot.addItem(self.key_bars)
        self.progress_plot = MetricPlot("Progress measures over the run's checkpoints", y_label="cross-entropy")
        self.progress_plot.setObjectName("fourier_progress")
        self.progress_plot.set_log_y(True)  # from log p before grokking to a thousandth after
        self.chosen_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(KEY, width=1, dash=[4, 4]))
        self.chosen_line.setVisible(False)
        self.progress_plot.addItem(self.chosen_line)
        self.plots = QSplitter()
        self.plots.addWidget(self.norms_plot)
        self.plots.addWidget(self.progress_plot)
        self.plots.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.caption)
        layout.addWidget(self.plots, 1)

    # ----- reading the run ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the chosen checkpoint; read the run again first when it is another or has new checkpoints."""
        run = self.picker.run_dir()
        wanted = None if run is None else (run, tuple(name for name, _, _ in checkpoints(run)))
        if wanted is None:
            self.read_for = self.view = None
            self._show_words(EMPTY)
        elif wanted == self.read_for:
            self._show_chosen()
        elif self.job is None or not self.job.running:  # else its answer comes first, and asks again
            if self.read_for is None or self.read_for[0] != run:  # nothing of another run stays on screen
                self._show_words("")
            self.asked = wanted
            self.status.setText(f"Reading every checkpoint of {Path(run).name}…")
            self.job = started(fourier_job(run), self, self._on_read, self._on_failed)

    def _on_read(self, view: dict) -> None:
        self._answered(view, "")

    def _on_failed(self, message: str) -> None:
        self._answered(None, message)

    def _answered(self, view: dict | None, refusal: str) -> None:
        self.read_for, self.view, self.refusal = self.asked, view, refusal
        if self.isVisible():  # else the tab draws it when it comes into view
            self.refresh()

    # ----- drawing -----------------------------------------------------------------------------------
    def _show_words(self, words: str, *, refused: bool = False) -> None:
        self.plots.setVisible(False)
        self.caption.setText("")
        if refused and NOT_MODULAR in words:  # what the engine says, after what a user of the studio does about it
            words = ("This run is not a modular-addition run, so it has no Fourier view: Help > Open the grokking lab "
                     f"sets one up. (The engine says: {words}.)")
        shown = f"<span style='color:#b91c1c'>{html.escape(words, quote=False)}</span>" if refused else words
        self.status.setText(shown)

    def chosen(self) -> dict | None:
        """The view of the checkpoint the picker names (the newest read when that one could not be read)."""
        if not self.view or not self.view["checkpoints"]:
            return None
        found = [c for c in self.view["checkpoints"] if c["checkpoint"] == self.picker.checkpoint()]
        return found[0] if found else self.view["checkpoints"][-1]

    def _show_chosen(self) -> None:
        if self.view is None:
            self._show_words(self.refusal, refused=True)
            return
        self.status.setText(HELP)
        self.plots.setVisible(True)
        self._draw_progress()
        c = self.chosen()
        norms = np.asarray(c["norms"], dtype=float)
        frequencies = np.arange(1, len(norms))
        keys = [k for k in c["own_keys"] if 1 <= k < len(norms)]
        self.bars.setOpts(x=frequencies, height=norms[1:], width=0.8)
        self.key_bars.setOpts(x=np.asarray(keys, dtype=float), height=norms[keys], width=0.8)
        self.norms_plot.setTitle(f"The numbers' embedding per frequency, {c['checkpoint']} (step {c['step']})",
                                 size="10pt")
        self.chosen_line.setPos(c["step"])
        self.chosen_line.setVisible(True)
        note = "" if c["checkpoint"] == self.picker.checkpoint() else \
            f" ({self.picker.checkpoint()} could not be read: the newest that could is shown)"
        self.caption.setText(
            f"a + b mod {self.view['p']}, {c['checkpoint']}{note}: key frequencies <b>{listed(keys)}</b> (largest "
            f"first) in red, the fewest carrying {self.view['share']:.0%} of the embedding's norm (the constant part "
            f"every number shares, {norms[0]:.2f}, is left out). The measures use the run's last key frequencies, "
            f"{listed(self.view['keys'])}; here training accuracy {c['train_accuracy']:.0%}, held-out accuracy "
            f"{c['val_accuracy']:.0%}.")

    def _draw_progress(self) -> None:
        steps = [c["step"] for c in self.view["checkpoints"]]
        for key, name, color in MEASURES:
            self.progress_plot.set_series(name, steps, [c[key] for c in self.view["checkpoints"]], color=color,
                                          symbol="o", faint=key == "val_loss")

    def bar_heights(self) -> dict[int, float]:
        """Each frequency's bar height, as drawn (tests and screenshots read it)."""
        x, h = self.bars.opts["x"], self.bars.opts["height"]
        return {int(k): float(v) for k, v in zip(x, h)}

    def marked(self) -> list[int]:
        """The frequencies drawn as key frequencies."""
        return [int(k) for k in self.key_bars.opts["x"]]


def listed(keys: list[int], limit: int = 8) -> str:
    """The first `limit` frequencies and how many there are in all: before grokking they are many."""
    shown = ", ".join(map(str, keys[:limit])) or "none"
    return shown if len(keys) <= limit else f"{shown} … ({len(keys)} in all)"
