"""Talking to the inference worker (`python -m engine serve`): one long-lived process for the studio,
started with the first request, so torch, the loaded models and a crash stay out of the window.

Each request is a Request (a QObject with signals) answered from the worker's stdout as the lines come,
on the GUI thread (QProcess), so nothing here blocks. If the worker dies, every open request fails with
words saying so, and the next request starts a new worker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QProcess, Signal

from studio.engine_process import ROOT, engine_environment


class Request(QObject):
    sig_progress = Signal(str, str)
    """(stage, message)"""
    sig_token = Signal(object)
    """A generated token: {text, prob, alternatives}."""
    sig_done = Signal(object)
    sig_failed = Signal(str)

    def __init__(self, client: InferenceClient, message: dict, transform: Callable | None = None, parent=None):
        super().__init__(parent)
        self.client, self.message, self.transform = client, message, transform
        self.running = False
        self.cancelled = False

    def start(self) -> Request:
        self.running = True
        self.client.send(self)
        return self

    def stop(self) -> None:
        """End a generation at its next token (it still answers, with reason "stopped")."""
        if self.running:
            self.client.write({"op": "stop", "target": self.message["id"]})

    def cancel(self) -> None:
        """Nothing more is delivered for this request."""
        self.cancelled = True
        self.stop()

    def answer(self, reply: dict) -> None:
        kind = reply.get("type")
        if kind in ("done", "error"):
            self.running = False
            self.client.pending.pop(self.message["id"], None)
        if self.cancelled:
            return
        if kind == "progress":
            self.sig_progress.emit(reply.get("stage", ""), reply.get("message", ""))
        elif kind == "token":
            self.sig_token.emit(reply)
        elif kind == "error":
            self.sig_failed.emit(reply.get("message", "the inference worker failed"))
        elif kind == "done":
            try:
                result = self.transform(reply.get("result")) if self.transform else reply.get("result")
            except (OSError, ValueError) as e:
                self.sig_failed.emit(f"the worker's answer could not be read: {e}")
                return
            self.sig_done.emit(result)

    def fail(self, message: str) -> None:
        self.running = False
        if not self.cancelled:
            self.sig_failed.emit(message)


class InferenceClient(QObject):
    sig_worker_died = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.proc: QProcess | None = None
        self.pending: dict[int, Request] = {}
        self.next_id = 1
        self._buffer = b""

    def request(self, op: str, transform: Callable | None = None, parent=None, **params) -> Request:
        message = {"id": self.next_id, "op": op, **params}
        self.next_id += 1
        return Request(self, message, transform, parent)

    @property
    def pid(self) -> int | None:
        return self.proc.processId() if self.proc is not None else None

    def send(self, req: Request) -> None:
        self._ensure_worker()
        self.pending[req.message["id"]] = req
        self.write(req.message)

    def write(self, message: dict) -> None:
        if self.proc is not None:
            self.proc.write((json.dumps(message) + "\n").encode("utf-8"))

    def shutdown(self) -> None:
        """End the worker (the window closes): its stdin closes and it leaves; killed if it does not."""
        if self.proc is None:
            return
        proc = self.proc
        proc.finished.disconnect()
        proc.closeWriteChannel()
        if not proc.waitForFinished(3000):
            proc.kill()
            proc.waitForFinished(3000)
        self._lost("The inference worker was closed.")  # what it had not answered fails in words

    # ----- the worker process --------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self.proc is not None:
            return
        proc = QProcess(self)
        proc.setProcessEnvironment(engine_environment())
        proc.setWorkingDirectory(str(ROOT))
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._buffer = b""
        self.proc = proc
        proc.start(sys.executable, ["-m", "engine", "serve"])

    def _read(self) -> None:
        if self.proc is None:
            return
        self._buffer += bytes(self.proc.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                reply = json.loads(line)
            except ValueError:
                continue  # not the protocol's
            if not isinstance(reply, dict):
                continue
            req = self.pending.get(reply.get("id"))
            if req is not None:
                req.answer(reply)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        how = ("was killed or crashed" if status == QProcess.ExitStatus.CrashExit else f"stopped (exit code {code})")
        self._lost(f"The inference worker {how}; it starts again with the next request.")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._lost(f"The inference worker could not start ({self.proc.errorString() if self.proc else error}).")

    def _lost(self, message: str) -> None:
        self.proc = None
        pending, self.pending = list(self.pending.values()), {}
        for req in pending:
            req.fail(message)
        self.sig_worker_died.emit(message)


_client: InferenceClient | None = None


def client() -> InferenceClient:
    """The studio's one inference client (made on first use, on the GUI thread)."""
    global _client
    if _client is None:
        _client = InferenceClient()
    return _client
