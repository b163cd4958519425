"""An engine command run in the background for a studio view: `python -m engine COMMAND ...` in a QProcess, its
output read line by line on the GUI thread as it comes, so the window never waits on it.

For work that takes minutes and writes its result into the run folder (`engine features`, `engine concept`): run
in the one inference worker it would hold up every other tab's request meanwhile. The view shows each line's
progress and reads the result file when the process ends; a refusal comes back as the engine's own sentence
(its `error: ...` line)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QProcessEnvironment, Signal

ROOT = Path(__file__).resolve().parents[1]


def engine_environment() -> QProcessEnvironment:
    """The environment an engine process of the studio's starts in: this checkout first on the path, offline, and
    its output unbuffered (lines come as they are printed)."""
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), env.value("PYTHONPATH")])))
    for key in ("PYTHONUNBUFFERED", "HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        env.insert(key, "1")
    return env


def refusal(lines: list[str], code: int, crashed: bool) -> str:
    """What an engine command that failed said, as one sentence: its `error:` line (and the problems listed above
    it), else how it ended."""
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    listed = [line.strip().removeprefix("- ") for line in lines if line.startswith("  - ")]
    if errors and listed:
        return "; ".join(listed)
    if errors:
        return errors[-1]
    if crashed:
        return "the engine process was stopped or crashed before it finished"
    tail = " ".join(lines[-3:]).strip()
    return f"the engine process stopped (exit code {code})" + (f": {tail}" if tail else "")


class EngineProcess(QObject):
    sig_line = Signal(str)
    """A line the command printed (its stdout and stderr together)."""
    sig_done = Signal()
    sig_failed = Signal(str)
    """The engine's sentence saying why it refused or failed."""

    def __init__(self, args: list[str], parent=None):
        super().__init__(parent)
        self.args = [str(a) for a in args]
        self.lines: list[str] = []
        self.proc: QProcess | None = None
        self._buffer = b""
        self.stopped = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self) -> EngineProcess:
        proc = QProcess(self)
        proc.setProcessEnvironment(engine_environment())
        proc.setWorkingDirectory(str(ROOT))
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.proc = proc
        if (app := QCoreApplication.instance()) is not None:  # leaving the studio ends it
            app.aboutToQuit.connect(self.stop)
        proc.start(sys.executable, ["-m", "engine", *self.args])
        return self

    def stop(self) -> None:
        """End the process now; nothing more is delivered."""
        self.stopped = True
        if self.running:
            self.proc.kill()
            self.proc.waitForFinished(5000)

    def _read(self) -> None:
        if self.proc is None:
            return
        self._buffer += bytes(self.proc.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            self.lines.append(line)
            if not self.stopped:
                self.sig_line.emit(line)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        if self._buffer:
            self._buffer += b"\n"
            self._read()
        if self.stopped:
            return
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self.sig_done.emit()
        else:
            self.sig_failed.emit(refusal(self.lines, code, status == QProcess.ExitStatus.CrashExit))

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self.stopped:
            self.stopped = True
            self.sig_failed.emit(f"the engine could not start ({self.proc.errorString()})")


class RunCommandView:
    """What a view that runs one engine command at a time about one run shares (Inspect's Features and Concepts
    tabs, the Runs page's Few-shot panel): the process and the run it is about, started with its lines, end and
    refusal wired to the view, and the note that it works on another run than the one shown. Mixed into a
    QWidget that has `_busy(bool)`, which shows its start button or its Stop."""

    job: EngineProcess | None = None
    job_run: Path | None = None

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.running

    def start_job(self, run: Path, args: list[str], *, on_line, on_done, on_failed) -> None:
        if self.job is not None:
            self.job.deleteLater()
        self.job_run = run
        self.job = EngineProcess(args, self)
        self.job.sig_line.connect(on_line)
        self.job.sig_done.connect(on_done)
        self.job.sig_failed.connect(on_failed)
        self._busy(True)
        self.job.start()

    def stop_job(self) -> None:
        if self.job is not None:
            self.job.stop()
        self._busy(False)

    def background_note(self, shown: Path | None, doing: str) -> str:
        """" (Probing run-2 in the background: one run at a time.)" while the job works on a run not shown."""
        if self.job_running and self.job_run != shown:
            return f" ({doing} {self.job_run.name} in the background: one run at a time.)"
        return ""
