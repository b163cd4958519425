"""A small shape is timed on this machine without a click, so the estimate a newcomer first reads is measured;
big shapes keep the button, and nothing is timed while the page is hidden or a run trains."""

from engine.plan.estimate import CALIBRATION_FILE, calibration_key
from studio.model.auto_measure import QUICK_STEP_S
from tests.studio.conftest import answer, tiny_model
from tests.studio.helpers import write_corpus


def shape_key(page) -> str:
    cfg, _ = page.current_config()
    return calibration_key(cfg, page.design().vocab, "cpu")


def test_a_small_shape_is_measured_unasked_and_a_big_one_waits_for_the_button(qtbot, window, settings, tmp_path):
    page = window.model_page
    window.auto_measure_action.setChecked(True)  # what the View menu's item does; the fixture had it off
    assert settings.auto_measure and page.auto_measure.enabled
    window.nav.setCurrentRow(1)
    assert window.stack.currentWidget() is page and page.isVisible()
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    tiny_model(page)
    assert page.auto_measure.timer.isActive() and page.auto_measure.pending == shape_key(page)
    assert "measured" not in page.card.text("step")  # nothing is timed while the form may still change
    qtbot.waitUntil(lambda: "measured here" in page.card.text("step"), timeout=60_000)
    assert page.measure_job is None and "timed on this machine" in page.card.text("assumes")

    (window.store.cache_dir / CALIBRATION_FILE).unlink()  # the same shape, forgotten: tried once a session only
    page.form.widget("train", "max_steps").setValue(40)
    assert "measured" not in page.card.text("step") and not page.auto_measure.timer.isActive()

    answer("Replace")  # the preset replaces the sizes typed above: asked first
    page.presets.activated.emit(page.presets.findText("GPT-2 small sized (GPU)"))
    page.form.widget("train", "device").setCurrentText("cpu")
    assert page.measure_btn.isEnabled() and not page.auto_measure.timer.isActive()  # seconds a step: asked for
    assert page.auto_measure.pending is None


def test_nothing_is_timed_behind_the_users_back_while_hidden_or_training(qtbot, window, tmp_path):
    page = window.model_page
    window.auto_measure_action.setChecked(True)
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    tiny_model(page)
    key = shape_key(page)
    window.nav.setCurrentRow(0)  # the Corpus page: the Model page is hidden
    page.auto_measure.fire()  # as the timer would
    assert page.measure_job is None and key not in page.auto_measure.tried

    window.nav.setCurrentRow(1)  # shown again: armed again
    assert page.auto_measure.pending == key and page.auto_measure.timer.isActive()
    window.state.training.set_live({tmp_path / "runs" / "elsewhere": False})  # a run trains (re-attached ones too)
    page.auto_measure.fire()
    assert page.measure_job is None and key not in page.auto_measure.tried
    assert not page.measure_btn.isEnabled() and "training" in page.measure_btn.toolTip()  # nor by hand

    window.state.training.set_live({})
    page.auto_measure.fire()
    assert page.measure_job is not None and key in page.auto_measure.tried
    qtbot.waitUntil(lambda: page.measure_job is None, timeout=60_000)
    assert "measured here" in page.card.text("step")


def test_only_a_step_under_the_threshold_or_an_enabled_rule_arms_the_timer(qtbot):
    from PySide6.QtWidgets import QWidget

    from studio.model.auto_measure import AutoMeasure

    holder = QWidget()
    qtbot.addWidget(holder)
    auto = AutoMeasure(holder, lambda: None)
    auto.consider("k", QUICK_STEP_S * 1.01)
    assert auto.pending is None and not auto.timer.isActive()
    auto.consider("k", QUICK_STEP_S)
    assert auto.pending == "k" and auto.timer.isActive()
    auto.enabled = False
    auto.consider("k", 0.01)
    assert auto.pending is None and not auto.timer.isActive()
