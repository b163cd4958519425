"""Inference runs in a worker process of its own: killed mid-generation or mid-attention, or out of memory,
the studio says so in words, the window keeps answering, and the next request works (a new worker)."""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.infer.sampling_rules import MAX_NEW_TOKENS
from engine.worker.serve import in_words
from studio.inference_client import client
from tests.reliability.helpers import ROOT, engine_here, env, last_line


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
                         timeout=600)
    assert out.stdout.strip() == "[(2, 2, 11, 11), 'length'] False", out.stderr[-2000:]


# ----- the worker keeps serving: every line gets a sentence or a result ----------------------------------
class Served:
    """A real `python -m engine serve`, spoken to in JSON lines as the studio does; a thread reads its answers."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "engine", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env(), cwd=ROOT)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, request) -> None:
        data = request if isinstance(request, bytes) else \
            (request if isinstance(request, str) else json.dumps(request)).encode("utf-8")
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def next(self) -> dict:
        return self.lines.get(timeout=600)  # a hang guard only: an answer that never comes fails here

    def answer(self, rid) -> dict:
        """The answer that ends request `rid` (done or error); progress and tokens are passed over."""
        while (reply := self.next())["id"] != rid or reply["type"] not in ("done", "error"):
            pass
        return reply

    def refused(self, request, rid, words: str) -> str:
        self.send(request)
        reply = self.answer(rid)
        assert reply["type"] == "error" and words in reply["message"], reply
        assert plain(reply["message"]), reply["message"]
        return reply["message"]

    def still_serves(self, run: Path) -> None:
        self.send({"id": 999, "op": "generate", "run": str(run), "prompt": "The", "options": {
            "max_new_tokens": 3, "temperature": 0.0}})
        assert self.answer(999) == {"id": 999, "type": "done", "result": {"reason": "length"}}
        assert self.proc.poll() is None

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=600)


def plain(message: str) -> bool:
    """A sentence, not an exception's raw text."""
    return not re.search(r"\b\w+(Error|Exception)\b|Traceback|Errno", message)


@pytest.fixture
def served():
    w = Served()
    yield w
    w.close()


@pytest.fixture
def run(trained_run):
    return trained_run / "runs" / "pangrams"


def test_lines_that_are_not_requests_are_answered_and_reading_goes_on(served, run):
    for line, words in [("[1, 2]", "a request is a JSON object"), ('"ping"', "not a string"), ("7", "not a number"),
                        ("null", "not null"), ("{bad", "not a JSON request"), ("[" * 100_000, "not a JSON request"),
                        (b"\xff\xfe{}", "not UTF-8 text")]:
        served.refused(line, None, words)
    served.send("")  # a blank line is no request: nothing answers it, and the next one is read
    served.send({"id": 1, "op": "ping"})
    assert served.answer(1)["result"]["pid"] == served.proc.pid
    served.refused(b'{"id": 2, "op": "ping", "pad": "' + b"x" * (9 * 2**20) + b'"}', None, "longer than 8 MiB")
    served.still_serves(run)


CASES = [  # (request, the id its answer carries, words the answer holds)
    ({"id": 2, "op": "attention", "text": "hi"}, 2, "the attention request needs a run field"),
    ({"op": "ping"}, None, "the ping request needs an id field"),
    ({"id": 3}, 3, "the request has no op field"),
    ({"id": 4, "op": "transmogrify"}, 4, "asks for 'transmogrify', which the worker does not do"),
    ({"id": 5, "op": "attention", "run": 7, "text": "hi"}, 5, "run must be the path of a run folder"),
    ({"id": 6, "op": "neighbours", "run": "{run}", "token_id": "3"}, 6, "token_id must be a whole number >= 0"),
    ({"id": 7, "op": "ablate", "run": "{run}", "text": "Pack", "heads": [[0]]}, 7,
     "heads must be a list of [layer, head] pairs"),
    ({"id": 8, "op": "generate", "run": "{run}", "prompt": "a", "options": {"temperature": "hot"}}, 8,
     "temperature must be a number >= 0"),
    ({"id": 9, "op": "attention", "run": "{run}", "txt": "hi"}, 9, "has no field 'txt'"),
    ({"id": 10, "op": "lens", "run": "{run}", "text": "Pack", "k": True}, 10, "k must be a whole number from 1 to 100"),
    ({"id": 11, "op": "generate", "run": "{run}", "prompt": "a", "options": [3]}, 11, "options must be a JSON object"),
    ({"id": 12, "op": "generate", "run": "{run}", "prompt": "\ud800"}, 12, "prompt holds a lone surrogate"),
    ({"op": "stop", "target": [1]}, None, "target must be the id of a request"),
]


def test_a_missing_or_mistyped_field_is_named(served, run):
    for request, rid, words in CASES:
        request = {k: str(run) if v == "{run}" else v for k, v in request.items()}
        served.refused(request, rid, words)
    served.still_serves(run)


def test_out_of_range_settings_are_refused_in_the_words_generate_uses(served, run):
    def options(**settings):
        return {"id": 1, "op": "generate", "run": str(run), "prompt": "a", "options": settings}

    said = served.refused(options(temperature=-1), 1, "temperature must be a number >= 0 (0 = greedy)")
    cli = engine_here("generate", run, "--temperature", "-1")
    assert cli.returncode == 2 and last_line(cli.stderr) == f"error: --{said}"  # one rule, the same words
    for settings, words in [({"top_p": 0}, "top_p must be in (0, 1]"), ({"top_p": 1.5}, "top_p must be in (0, 1]"),
                            ({"top_k": -1}, "top_k must be a whole number >= 0"),
                            ({"beams": 0}, "beams must be a whole number >= 1"),
                            ({"repetition_penalty": 0}, "repetition_penalty must be a number > 0"),
                            ({"max_new_tokens": 0}, "max_new_tokens must be a whole number from 1"),
                            ({"seed": 1.5}, "seed must be a whole number"),
                            ({"stop": ["x"]}, "options has no setting 'stop'"),
                            ({"beams": 10**6}, "beams 1000000 is more than the vocabulary")]:
        served.refused(options(**settings), 1, words)
    served.refused(json.dumps(options(temperature=1)).replace('"temperature": 1', '"temperature": NaN'), 1,
                   "temperature must be a number >= 0")
    served.still_serves(run)


def test_an_over_cap_generation_is_refused_and_a_long_one_ends_at_stop(served, run):
    served.refused({"id": 1, "op": "generate", "run": str(run), "prompt": "a", "options": {"max_new_tokens": 10**12}},
                   1, f"max_new_tokens must be a whole number from 1 to {MAX_NEW_TOKENS}")
    served.send({"id": 2, "op": "generate", "run": str(run), "prompt": "The", "options": {
        "max_new_tokens": MAX_NEW_TOKENS, "temperature": 1.0}})
    while (reply := served.next())["type"] != "token":
        assert reply["id"] == 2 and reply["type"] == "progress", reply
    served.refused({"id": 3, "op": "frob"}, 3, "does not do")  # answered while the generation goes on
    served.send({"op": "stop", "target": 2})
    tokens = 1
    while (reply := served.next())["type"] == "token" or reply["id"] is None:  # the stop's own answer: id null
        tokens += reply["type"] == "token"
    assert reply == {"id": 2, "type": "done", "result": {"reason": "stopped"}} and tokens < MAX_NEW_TOKENS
    served.send({"id": 4, "op": "generate", "run": str(run), "prompt": "The", "options": {  # beam search stops too
        "max_new_tokens": MAX_NEW_TOKENS, "beams": 2}})
    served.send({"op": "stop", "target": 4})
    assert served.answer(4) == {"id": 4, "type": "done", "result": {"reason": "stopped"}}
    served.still_serves(run)


def test_os_errors_are_said_in_sentences(served, run, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    served.refused({"id": 1, "op": "attention", "run": str(tmp_path / "gone"), "text": "hi"}, 1,
                   f"no run folder at {tmp_path / 'gone'}")
    served.refused({"id": 2, "op": "attention", "run": str(tmp_path / "a-file"), "text": "hi"}, 2,
                   f"{tmp_path / 'a-file'} is not a folder")
    served.send({"id": 3, "op": "attention", "run": str(run), "text": "Pack my box"})
    scratch = Path(served.answer(3)["result"]["maps"]).parent  # the worker's own folder, taken by a cleaner
    shutil.rmtree(scratch)
    scratch.write_text("")
    served.refused({"id": 4, "op": "attention", "run": str(run), "text": "Pack my box"}, 4,
                   f"the attention request failed: {scratch} is a file, not a folder")
    scratch.unlink()
    served.send({"id": 5, "op": "attention", "run": str(run), "text": "Pack my box"})
    assert served.answer(5)["type"] == "done"  # its folder made again
    served.still_serves(run)


@pytest.mark.parametrize("error, words", [
    (FileNotFoundError(2, "No such file or directory", "{tmp}/gone/x"), "the folder {tmp}/gone does not exist"),
    (NotADirectoryError(20, "Not a directory", "{tmp}/a-file/x"), "{tmp}/a-file is a file, not a folder"),
    (PermissionError(13, "Permission denied", "{tmp}/x"), "{tmp}/x may not be read or written"),
    (KeyError("model"), "the entry 'model' was missing"),
    (ValueError("the shapes differ"), "the shapes differ"),
    (RuntimeError("index 7 is out of bounds"), "failed inside the worker"),
])
def test_what_fails_while_serving_is_a_sentence(tmp_path, error, words):
    (tmp_path / "a-file").write_text("")
    if isinstance(error, OSError):
        error.filename = error.filename.format(tmp=tmp_path)
    message = in_words(error, "export")
    assert message.startswith("the export request failed") and words.format(tmp=tmp_path) in message
    assert plain(message), message


def test_the_studio_shows_the_workers_sentence(qtbot, tmp_path, worker_env):
    failed, done = [], []
    req = client().request("attention", run=str(tmp_path / "gone"), checkpoint=None, text="hi")
    req.sig_failed.connect(failed.append)
    req.start()
    qtbot.waitUntil(lambda: bool(failed), timeout=60000)
    assert failed == [f"no run folder at {tmp_path / 'gone'}"]
    ping = client().request("ping")
    ping.sig_done.connect(done.append)
    ping.start()
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    assert done[0]["pid"] == client().pid
