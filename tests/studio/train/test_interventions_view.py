"""Interventions and the loss-spike doctor through the window: the Train page's Intervene box zeroes a head of a
run training from the GUI and the trainer's event comes back as a line on the loss plot and in the Log; a run whose
config zeroed a head shows it on the Train page and greys that head on Inspect's Heads tab from the evaluation
after; a diagnosis in a run's events shows as the doctor's note, and the spike marks get their legend entry."""

import json

from PySide6.QtCore import Qt

from engine.config import schema as config_mod
from engine.run.events import Event, read_events
from engine.train.diagnosis import Readings, diagnose
from studio.inspect.heads_panel import ZEROED
from studio.model.form_words import in_form_words
from tests.conftest import tiny_config
from tests.helpers import train
from tests.studio.helpers import LONG, RUN_TIMEOUT, WAIT, open_run, open_tab, train_through_gui, write_corpus


def legend_names(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def line_labels(page) -> list[str]:
    return [line.label.toPlainText() for line in page.loss_marks.lines]


def test_the_intervene_box_zeroes_a_head_of_the_run_training_and_the_loss_plot_and_log_show_it(qtbot, window,
                                                                                                  tmp_path):
    page = window.train_page
    box = page.intervene
    assert not box.apply_btn.isEnabled() and "No run" in box.apply_btn.toolTip()
    run_dir = train_through_gui(qtbot, window, tmp_path, name="intervened", max_steps=LONG, eval_interval=500)
    qtbot.waitUntil(lambda: box.apply_btn.isEnabled() and page.run.last_step is not None, timeout=RUN_TIMEOUT)
    assert [box.part.itemText(i) for i in range(box.part.count())] == [
        "h.0.attn.head.0", "h.0.attn.head.1", "h.0.attn", "h.0.mlp", "h.0"]  # the Model page's 1 layer, 2 heads
    box.action.setCurrentIndex(box.action.findText("zero"))
    box.part.setCurrentIndex(box.part.findText("h.0.attn.head.1"))
    qtbot.mouseClick(box.apply_btn, Qt.MouseButton.LeftButton)
    assert box.said.text().startswith("Asked to zero h.0.attn.head.1")
    qtbot.waitUntil(lambda: bool(page.run.interventions), timeout=RUN_TIMEOUT)
    step = page.run.interventions[0].step
    qtbot.waitUntil(lambda: line_labels(page) == ["zero h.0.attn.head.1"], timeout=WAIT)
    assert page.loss_marks.lines[0].value() == step and "intervention" in legend_names(page.loss_plot)
    qtbot.waitUntil(lambda: f"intervention: zeroed h.0.attn.head.1 at step {step}" in page.log.toPlainText(),
                    timeout=WAIT)
    assert box.said.text().startswith(f"zeroed h.0.attn.head.1 at step {step}")
    qtbot.mouseClick(page.stop_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Stopped", timeout=RUN_TIMEOUT)
    assert not box.apply_btn.isEnabled() and "not training" in box.apply_btn.toolTip()
    recorded = config_mod.load(run_dir / "run.toml").train.interventions  # a resume makes it again
    assert recorded == [{"step": step, "action": "zero", "target": "h.0.attn.head.1"}]


def zeroed_run(workspace) -> tuple:
    """A 2-layer run trained in this process whose config zeroes head 0 of layer 1 at step 20 (evaluations every
    10 steps), with a loss spike and its diagnosis written into its events as the trainer writes them."""
    runs = workspace / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    cfg = tiny_config(write_corpus(workspace), workspace, model={"n_layer": 2},
                      train={"max_steps": 40, "interventions": [{"step": 20, "action": "zero",
                                                                  "target": "h.1.attn.head.0"}]})
    cfg.train.out_dir = str(runs / "zeroed")
    train(cfg)
    r = Readings(step=30, loss=9.0, recent_loss=2.0, lr=3e-2, peak_lr=3e-3, warmup_steps=2, lr_median=3e-3)
    d = diagnose(r)
    spike = Event("warning", 30, fields={"kind": "loss_spike", "loss": 9.0, "message": "loss spiked to 9.000"})
    said = Event("diagnosis", 30, fields={"cause": d.cause, "advice": d.advice, "message": d.sentence(r),
                                          "readings": r.plain()})
    folder = runs / "zeroed"
    events = folder / "events.jsonl"
    lines = events.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if json.loads(line).get("step", 0) > 30)
    events.write_text("\n".join(lines[:at] + [spike.to_json(), said.to_json()] + lines[at:]) + "\n")
    return folder, d


def test_a_config_intervention_and_a_diagnosis_show_on_the_train_page_and_the_heads_tab(qtbot, window, settings):
    folder, d = zeroed_run(settings.workspace)
    [made] = [e for e in read_events(folder / "events.jsonl") if e.type == "intervention"]
    assert (made.step, made["source"]) == (20, "config")
    open_run(qtbot, window, folder)
    page = window.train_page
    qtbot.waitUntil(lambda: line_labels(page) == ["zero h.1.attn.head.0"], timeout=WAIT)
    assert page.loss_marks.lines[0].value() == 20
    assert {"intervention", "loss spike"} <= set(legend_names(page.loss_plot))  # the spike marks named too
    assert "intervention: zeroed h.1.attn.head.0 at step 20" in page.log.toPlainText()
    assert "doctor: loss spike at step 30" in page.log.toPlainText()
    qtbot.waitUntil(page.doctor.isVisible, timeout=WAIT)
    assert page.doctor.text() == ("<b>Doctor</b>: Loss spike at step 30: likely cause, the learning rate. Try: "
                                  f"{in_form_words(d.advice)}.")
    assert "Learning rate [train.lr]" in page.doctor.text()  # the form's words, as the page's other messages
    assert page.doctor.toolTip().startswith("loss spike at step 30 (9 against 2): the learning rate jumped")
    assert not page.intervene.apply_btn.isEnabled() and "not training" in page.intervene.toolTip()

    inspect = window.inspect_page
    inspect.picker.runs.setCurrentIndex(inspect.picker.runs.findData(str(folder)))
    panel = open_tab(qtbot, inspect, "Heads")
    qtbot.waitUntil(lambda: [s for s, _ in panel.history] == [0, 10, 20, 30, 40], timeout=WAIT)
    panel.slider.setValue(2)  # step 20: evaluated before the zeroing
    assert "zeroed" not in panel.table.item(1, 0).text()
    panel.slider.setValue(3)  # step 30: zeroed
    cell = panel.table.item(1, 0)
    assert cell.text() == "zeroed at step 20" and cell.background().color().name() == ZEROED
    assert "it adds nothing" in cell.toolTip()
    assert all("zeroed" not in panel.table.item(layer, head).text() for layer, head in ((0, 0), (0, 1), (1, 1)))
    lines = [(line.value(), line.label.toPlainText()) for plot, line in panel.intervention_lines
             if plot is panel.circuit_plot]
    assert lines == [(20, "zero h.1.attn.head.0")]  # where to look for the head that takes the role
