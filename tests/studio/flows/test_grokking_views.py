"""The grokking lab in the studio, on a tiny real run of the modular-addition recipe (a + b mod 11, a few steps):
the Train page draws training and validation accuracy together from the run's evaluations, the Inspect page's
Fourier tab shows the engine's embedding norm per frequency with the key frequencies marked and the progress
measures over the checkpoints, a run that is not modular addition gets the engine's sentence on the tab, and the
Help menu opens the lab's table and recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine.cli import main
from engine.demo.modular import modular_csv
from engine.probes.grokking import NEEDS, fourier_views
from engine.run.events import read_events
from tests.conftest import PANGRAMS
from tests.reliability.helpers import write_config
from tests.studio.helpers import go_to, help_action, open_run

RECIPE = Path(__file__).resolve().parents[3] / "resources" / "recipes" / "modular-addition.toml"
P = 11
WAIT = 120_000
"""A hang guard only: every wait below ends on a condition."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    """A workspace with a tiny modular-addition run (checkpoints at steps 4, 8, 12) and a tiny text run."""
    root = tmp_path_factory.mktemp("grokking")
    runs = root / "runs"
    runs.mkdir()
    (root / "table.csv").write_text(modular_csv(P))
    small = {"data.path": root / "table.csv", "data.cache_dir": root / "cache", "train.out_dir": runs / "modular",
             "train.max_steps": 12, "train.eval_interval": 4, "train.checkpoint_interval": 4, "model.n_embd": 32,
             "train.batch_size": 32, "train.threads": 1}
    assert main(["train", str(RECIPE), *[a for k, v in small.items() for a in ("--set", f"{k}={v}")]]) == 0
    (root / "c.txt").write_text("\n\n".join(PANGRAMS * 10))
    assert main(["train", str(write_config(runs, root / "c.txt", "pangrams", max_steps=4, eval_interval=2))]) == 0
    return root


@pytest.fixture
def lab_window(qtbot, settings, lab):
    from studio.main_window import MainWindow

    settings.workspace = lab
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    return w


def test_training_and_validation_accuracy_are_drawn_together(qtbot, lab_window, lab):
    run = lab / "runs" / "modular"
    evals = [e for e in read_events(run / "events.jsonl") if e.type == "eval"]
    open_run(qtbot, lab_window, run)
    plot = lab_window.train_page.ppl_plot
    qtbot.waitUntil(lambda: plot.point_count("training accuracy") == len(evals) == 4, timeout=WAIT)
    for name, key in (("training accuracy", "train_accuracy"), ("validation accuracy", "val_accuracy")):
        x, y = plot.series[name].getData()
        assert list(x) == [e.step for e in evals] and np.allclose(y, [e[key] for e in evals]), name
    assert plot.getPlotItem().titleLabel.text.startswith("Training and validation accuracy")
    # macro-F1 equals the accuracy on a balanced table: dashed over a wider validation line, both stay visible
    f1, val = plot.series["macro-F1"].opts["pen"], plot.series["validation accuracy"].opts["pen"]
    assert f1.style() == Qt.PenStyle.DashLine and val.style() == Qt.PenStyle.SolidLine and val.widthF() > f1.widthF()


def open_fourier(qtbot, window, run: Path, checkpoint: str | None = None):
    go_to(qtbot, window, "Inspect")
    page = window.inspect_page
    page.picker.choose(run, checkpoint)
    page.tabs.setCurrentWidget(page.fourier_panel)
    return page.fourier_panel


def test_the_fourier_tab_shows_the_engines_view_of_the_chosen_checkpoint(qtbot, lab_window, lab):
    run = lab / "runs" / "modular"
    _, keys, views = fourier_views(run)
    panel = open_fourier(qtbot, lab_window, run, "step-000008")
    qtbot.waitUntil(lambda: panel.plots.isVisible() and panel.chosen()["checkpoint"] == "step-000008", timeout=WAIT)
    for name in ("step-000008", "step-000012"):
        lab_window.inspect_page.picker.choose(run, name)
        view = next(v for v in views if v.name == name)
        heights = panel.bar_heights()
        assert sorted(heights) == list(range(1, P // 2 + 1)), "a bar per frequency"
        assert np.allclose([heights[k] for k in sorted(heights)], view.norms[1:], atol=1e-5)
        assert panel.marked() == view.own_keys and panel.marked(), "its key frequencies in red"
        assert name in panel.norms_plot.getPlotItem().titleLabel.text
    assert panel.view["keys"] == keys
    for series, key in (("restricted loss", "restricted_loss"), ("excluded loss", "excluded_loss")):
        item = panel.progress_plot.series[series]
        x, y = item.xData, item.yData  # as given (getData is on the log axis)
        assert list(x) == [v.step for v in views] == [4, 8, 12]
        assert np.allclose(y, [v.measures[key] for v in views], rtol=1e-6), series


def test_a_run_that_is_not_modular_addition_gets_the_engines_sentence(qtbot, lab_window, lab):
    panel = open_fourier(qtbot, lab_window, lab / "runs" / "pangrams")
    qtbot.waitUntil(lambda: NEEDS in panel.status.text(), timeout=WAIT)
    assert panel.status.text().index("Help &gt; Open the grokking lab") < panel.status.text().index(NEEDS)
    assert not panel.plots.isVisible() and QApplication.activeModalWidget() is None
    panel = open_fourier(qtbot, lab_window, lab / "runs" / "modular")  # and back: the view of a modular run
    qtbot.waitUntil(panel.plots.isVisible, timeout=WAIT)
    assert NEEDS not in panel.status.text()


def test_the_help_menu_opens_the_grokking_lab(qtbot, window):
    help_action(window, "grokking").trigger()
    page = window.model_page
    assert window.stack.currentWidget() is page
    cfg, _ = page.current_config()
    assert cfg.model.objective == "classify" and cfg.train.weight_decay == 1.0 and cfg.data.val_fraction == 0.7
    assert Path(cfg.data.path).name == "modular.csv" and Path(cfg.data.path).is_file()
    assert window.corpus_page.path.text() == cfg.data.path
    assert "grokking lab is ready" in window.statusBar().currentMessage()
    assert "Inspect → Fourier" in page.demo_note.text() and not page.demo_note.isHidden()
    qtbot.waitUntil(page.train_btn.isEnabled, timeout=WAIT)
