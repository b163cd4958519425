"""Inference runs in a worker process of its own: killed mid-generation or mid-attention, or out of memory,
the studio says so in words, the window keeps answering, and the next request works (a new worker)."""

import os
import signal

import pytest
from PySide6.QtCore import Qt

from studio.inference_client import client


@pytest.fixture
def worker_env(monkeypatch):
    """Set a fault for the next worker: the running one (if any) leaves, so the next request starts one
    that sees the environment."""
    def setenv(name, value):
        client().shutdown()
        monkeypatch.setenv(name, value)

    yield setenv
    client().shutdown()


def kill_worker() -> int:
    pid = client().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_worker_killed_during_a_generation_is_reported_and_replaced(qtbot, window_on, worker_env, monkeypatch):
    worker_env("ENGINE_FAULT_INFER_HOLD", "generate")  # the worker holds after the first token, until killed
    page = window_on.playground_page
    page.max_tokens.setValue(50)
    page.temperature.setValue(0)
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.left.output.tokens) == 1, timeout=30000)
    first = kill_worker()
    qtbot.waitUntil(page.generate_btn.isEnabled, timeout=10000)
    assert "The inference worker was killed or crashed" in page.left.state.text()
    window_on.nav.setCurrentRow(1)  # the window still answers
    assert window_on.stack.currentWidget() is window_on.model_page
    monkeypatch.delenv("ENGINE_FAULT_INFER_HOLD")
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.generate_btn.isEnabled, timeout=30000)
    assert page.left.state.text() == "50 tokens" and len(page.left.output.tokens) == 50
    assert client().pid not in (None, first)


def test_a_worker_killed_during_an_attention_request_is_reported_and_replaced(qtbot, window_on, worker_env,
                                                                            monkeypatch):
    worker_env("ENGINE_FAULT_INFER_HOLD", "attention")  # the worker holds while computing attention
    page = window_on.inspect_page
    page.text.setPlainText("Sphinx of black quartz")
    stages = []
    page.compute()
    page.job.sig_progress.connect(lambda stage, message: stages.append(stage))
    qtbot.waitUntil(lambda: "attention" in stages, timeout=30000)
    kill_worker()
    qtbot.waitUntil(page.show_btn.isEnabled, timeout=10000)
    assert "The inference worker was killed or crashed" in page.status.text() and page.maps is None
    monkeypatch.delenv("ENGINE_FAULT_INFER_HOLD")
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.maps is not None, timeout=30000)
    assert page.maps.shape[0] == 2 and page.tokens[0] == "S"


def test_out_of_memory_in_the_worker_is_said_in_words(qtbot, window_on, worker_env, monkeypatch):
    worker_env("ENGINE_FAULT_INFER_OOM", "attention")
    page = window_on.inspect_page
    page.text.setPlainText("Pack my box")
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.show_btn.isEnabled, timeout=30000)
    assert "the model ran out of memory" in page.status.text() and page.maps is None
    pid = client().pid
    play = window_on.playground_page  # the same worker lives on and serves the next request
    play.max_tokens.setValue(5)
    qtbot.mouseClick(play.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(play.generate_btn.isEnabled, timeout=30000)
    assert play.left.state.text() == "5 tokens" and client().pid == pid


def test_the_studio_process_never_imports_torch_for_inference(trained_run):
    """Attention maps and a generation, asked for as the pages ask: torch is loaded by the worker only."""
    import subprocess
    import sys

    from tests.reliability.helpers import ROOT, env

    code = f"""
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from studio.inference import attention_job, token_stream
results = []
run = {str(trained_run / "runs" / "pangrams")!r}
maps = attention_job(run, None, "Pack my box")
maps.sig_done.connect(lambda r: results.append(r[0].shape))
maps.sig_failed.connect(lambda m: results.append(m))
gen = token_stream(run, None, "The", {{"max_new_tokens": 4, "temperature": 0.0}})
gen.sig_done.connect(results.append)
gen.sig_failed.connect(results.append)
maps.start(); gen.start()
while len(results) < 2:
    app.processEvents()
print(results, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env(),
                         timeout=120)
    assert out.stdout.strip() == "[(2, 2, 11, 11), 'length'] False", out.stderr[-2000:]
