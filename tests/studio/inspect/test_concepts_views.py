"""Inspect's Concepts tab, driven as a user would: a preset regex probed over a real run's checkpoints gives the
accuracy heatmap (layers x checkpoints) with its baseline; a bad regex or a CSV without its columns is refused in
one sentence before anything runs; a run trained with train.concept_regex shows its evaluations' table without
computing."""

import json

import pytest
from PySide6.QtCore import Qt

from engine.run.folder import CONCEPTS_DIR
from tests.conftest import pangram_text, tiny_config
from tests.helpers import train
from tests.studio.helpers import RUN, open_tab, shown_text

WAIT = 300_000


def probe(qtbot, panel, kind: str, spec: str) -> None:
    panel.kind.setCurrentIndex(panel.kind.findData(kind))
    panel.spec.setText(spec)
    qtbot.mouseClick(panel.probe_btn, Qt.MouseButton.LeftButton)


@pytest.mark.slow
def test_a_preset_regex_probed_over_the_checkpoints_gives_the_heatmap(qtbot, window_on, trained_run):
    panel = open_tab(qtbot, window_on.inspect_page, "Concepts")
    assert "Nothing probed for this run yet" in panel.status.text() and not panel.grid.isVisible()
    panel.preset.setCurrentIndex(panel.preset.findText("a capital letter"))
    assert panel.spec.text() == "[A-Z]"
    qtbot.mouseClick(panel.probe_btn, Qt.MouseButton.LeftButton)
    assert "Probing every layer of 3 checkpoints" in panel.status.text()
    qtbot.waitUntil(lambda: not panel.job.running and panel.grid.isVisible(), timeout=WAIT)
    assert "Probed 3 checkpoints" in panel.status.text(), panel.status.text()
    saved = json.loads((trained_run.joinpath(*RUN) / CONCEPTS_DIR / "regex-A-Z.json").read_text())
    grid = panel.grid
    assert grid.rowCount() == 3 and grid.columnCount() == 3  # the embeddings and two blocks x three checkpoints
    assert [grid.verticalHeaderItem(r).text() for r in range(3)] == ["embed", "0", "1"]
    assert [grid.horizontalHeaderItem(c).text() for c in range(3)] == ["step 20", "step 40", "step 60"]
    assert grid.item(2, 1).text() == f"{saved['accuracy'][2][1]:.1%}"
    assert f"scores {saved['chance']:.1%}" in shown_text(panel.caption)  # the majority-guess baseline, said
    assert panel.shown_pick.currentText() == "regex '[A-Z]'"


def test_bad_concepts_are_refused_in_one_sentence_before_anything_runs(qtbot, window_on, tmp_path):
    panel = open_tab(qtbot, window_on.inspect_page, "Concepts")
    probe(qtbot, panel, "regex", "[A-")
    assert "'[A-' does not compile" in panel.status.text() and panel.job is None
    assert "color:#b91c1c" in panel.status.text()
    table = tmp_path / "labels.csv"
    table.write_text("sentence,kind\nThe fox,animal\n")
    probe(qtbot, panel, "csv", str(table))
    assert "labels.csv needs the columns text and label" in shown_text(panel.status) and panel.job is None
    probe(qtbot, panel, "tokens", " ")
    assert "List the concept's tokens" in panel.status.text() and panel.job is None


@pytest.mark.slow
def test_a_run_trained_with_a_concept_shows_its_evaluations_without_computing(qtbot, window, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(pangram_text(), encoding="utf-8")
    out = window.store.runs_dir / "watched"
    train(tiny_config(corpus, tmp_path, train={"concept_regex": "[aeiou]", "out_dir": str(out)}))
    window.store.refresh()
    page = window.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(out)))
    panel = open_tab(qtbot, page, "Concepts")
    assert panel.job is None and panel.grid.isVisible()
    assert panel.shown_pick.currentText() == "regex '[aeiou]' (measured during training)"
    grid = panel.grid
    assert [grid.verticalHeaderItem(r).text() for r in range(grid.rowCount())] == ["embed", "0"]
    assert [grid.horizontalHeaderItem(c).text() for c in range(grid.columnCount())] == ["step 0", "step 10",
                                                                                          "step 20"]
    live = window.store.run(out).concepts[-1]["concept_accuracy"]
    assert grid.item(0, 2).text() == f"{live['embed']:.1%}"
    assert "baseline is not recorded there" in shown_text(panel.caption)


@pytest.mark.slow
def test_a_seq2seq_run_gets_the_engines_sentence(qtbot, window):
    from tests.studio.fake_runs import write_run

    folder = write_run(window.store.runs_dir, "translator", started=1000.0, objective="seq2seq")
    window.store.refresh()
    page = window.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(folder)))
    panel = open_tab(qtbot, page, "Concepts")
    qtbot.mouseClick(panel.probe_btn, Qt.MouseButton.LeftButton)  # the first preset's regex is in the box
    qtbot.waitUntil(lambda: not panel.job.running and panel.probe_btn.isEnabled(), timeout=WAIT)
    assert "translator is a seq2seq run" in panel.status.text() and not panel.grid.isVisible()
