"""The Model page's times measured: three real steps of the designed shape timed in the inference
worker, remembered per shape, and the estimate then built on them."""

import json

from PySide6.QtCore import Qt

from engine.config import schema as C
from engine.plan.estimate import CALIBRATION_FILE, DISK_BYTES_PER_S, calibration_key, estimate, known_calibration
from tests.studio.conftest import tiny_model
from tests.studio.helpers import write_corpus


def test_measure_times_real_steps_and_the_estimate_uses_them(qtbot, window, tmp_path):
    page = window.model_page
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    tiny_model(page, max_steps=100)
    assert "measured" not in page.card.text("step") and page.measure_btn.isEnabled()
    qtbot.mouseClick(page.measure_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.measure_job is None, timeout=60_000)
    assert "measured here" in page.card.text("step"), page.card.text("step")
    assert "timed on this machine" in page.card.text("assumes") and page.measure_btn.text() == "Measure again"
    cfg, _ = page.current_config()
    vocab = page.design().vocab
    measured = known_calibration(cfg, vocab, "cpu", window.store.cache_dir)
    assert measured["step_s"] > 0 and measured["forward_s"] > 0 and measured["token_s"] > 0
    assert measured["memory_bytes"] > 0 and "the peak of three steps here" in page.card.text("memory")
    e = estimate(cfg, vocab_size=vocab, peak_flops=1e11, measured=measured)
    assert abs(e.seconds_per_step - measured["step_s"]) < 1e-12
    evals = cfg.train.max_steps // cfg.train.eval_interval + 1
    samples = evals * len(cfg.train.sample_prompts) * cfg.train.sample_tokens * measured["token_s"]
    assert abs(e.seconds_evaluating - (evals * cfg.train.eval_batches * measured["forward_s"] + samples)) < 1e-9
    assert len(json.loads((window.store.cache_dir / CALIBRATION_FILE).read_text())) == 1
    page.form.widget("model", "n_embd").setValue(48)  # another shape: not measured yet
    assert "measured" not in page.card.text("step") and page.measure_btn.isEnabled()
    page.form.widget("model", "n_embd").setValue(32)  # back: remembered, nothing to ask
    assert "measured here" in page.card.text("step") and page.measure_job is None


def test_measure_again_replaces_a_figure_taken_on_a_busy_machine(qtbot, window, tmp_path):
    page = window.model_page
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    tiny_model(page, max_steps=100)
    cfg, _ = page.current_config()
    key = calibration_key(cfg, page.design().vocab, "cpu")
    busy = {"step_s": 60.0, "first_step_s": 60.0, "forward_s": 20.0, "token_s": 1.0, "memory_bytes": 1 << 20}
    (window.store.cache_dir / CALIBRATION_FILE).write_text(json.dumps({key: busy}))
    page.form.widget("train", "max_steps").setValue(101)  # the page looks again
    assert page.card.text("step").startswith("≈ 1 min (") and page.measure_btn.text() == "Measure again"
    qtbot.mouseClick(page.measure_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.measure_job is None, timeout=60_000)
    fresh = known_calibration(cfg, page.design().vocab, "cpu", window.store.cache_dir)
    assert fresh["step_s"] < 60.0 and not page.card.text("step").startswith("≈ 1 min ("), page.card.text("step")


def test_a_measured_estimate_counts_only_what_the_run_evaluates():
    cfg = C.RunConfig()
    cfg.train.max_steps, cfg.train.eval_interval, cfg.train.eval_batches = 1000, 250, 10
    measured = {"step_s": 0.04, "forward_s": 0.01, "token_s": 0.002}
    causal = estimate(cfg, vocab_size=65, measured=measured)
    cfg.model.objective = "masked"  # its evaluation also scores training rows
    masked = estimate(cfg, vocab_size=65, measured=measured)
    samples = 5 * 1 * 120 * 0.002
    assert abs(causal.seconds_evaluating - (5 * 10 * 0.01 + samples)) < 1e-9
    assert abs(masked.seconds_evaluating - (5 * 2 * 10 * 0.01 + samples)) < 1e-9
    writes = 5 * causal.params * (4 + 8) / DISK_BYTES_PER_S  # five checkpoints: weights and AdamW's two moments
    assert abs(causal.seconds_total - (1000 * 0.04 + causal.seconds_evaluating + 3.0 + writes)) < 1e-9
