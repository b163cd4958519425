"""Short jobs off the GUI thread: a function runs in a worker thread and reports through Qt signals.

The function receives a `progress(stage, message)` callback; calling `cancel()` makes the next
progress call raise Cancelled, and a cancelled job's result is never delivered.

What the jobs import is imported on the GUI thread before the first job starts (`import_here`): PySide6's
import hook (shibokensupport.feature) reads every newly imported module's source and records it in a dict that
shiboken reads on the GUI thread, and importing `datasets` and what it pulls in (huggingface_hub, httpx) from a
worker thread while the GUI thread ran Qt's event loop crashed the whole process with a segmentation fault.
`datasets` imports most of what a load needs at the first load, so a one-line file is loaded too. Under a
second, once.

Python's garbage collector does not run while a job does: a collection runs on whichever thread happens to
allocate, and one on a job's thread (an import, a tokenizer's batch of encodings) frees the cycles that hold a
closed window's Qt objects there, while the GUI thread runs Qt: a test process crashed (segmentation fault in
the GUI thread's event loop while a job encoded questions). The collector is held from a job's start, on the
GUI thread, until the last running job has ended, and let go on the GUI thread.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from engine.core.errors import UserError


class Cancelled(Exception):
    pass


# Jobs run one at a time: `datasets` locks its cache files, and two loads at once can wait on each other.
_ONE_AT_A_TIME = threading.Lock()

THREAD_IMPORTS = ("datasets", "engine.data.encode")
"""What the jobs import (the Corpus page's preview and prepare), imported on the GUI thread first."""
OPTIONAL_THREAD_IMPORTS = ("seqeval.metrics.sequence_labeling",)
"""The same for optional packages, where installed: a tagged corpus's preview finds its entities with seqeval
(and so imports scikit-learn and scipy), which crashed the process from a job's thread."""
_imported = False


def import_here() -> None:
    """Import on the calling thread what the jobs import, a first load's lazy imports included (once)."""
    global _imported
    if _imported:
        return
    for name in THREAD_IMPORTS:
        importlib.import_module(name)
    for name in OPTIONAL_THREAD_IMPORTS:
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)
    from engine.data.corpus import warm_up

    try:
        warm_up()
    except Exception:  # noqa: BLE001 - the job's own load then says what is wrong, in words
        traceback.print_exc()
    _imported = True


_GC_HELD: list = []
"""The jobs that hold the garbage collector (it is off while there is one); only the GUI thread changes it."""


def _hold_gc(job) -> None:
    if not _GC_HELD:
        gc.disable()
    _GC_HELD.append(job)


def _release_gc(job) -> None:
    if job in _GC_HELD:
        _GC_HELD.remove(job)
        if not _GC_HELD:
            gc.enable()


_LIVE: list = []
"""Every job whose thread may still run, held here rather than by a page: a page closed (and deleted) while its
job reads a file must not take the job's QObject with it while the thread can still emit from it."""


class Job(QObject):
    sig_progress = Signal(str, str)
    """(stage, message) from inside the job."""
    sig_done = Signal(object)
    """The function's result."""
    sig_failed = Signal(str)
    """A plain-words reason (a UserError's message, or the exception's type and text)."""
    sig_ended = Signal()
    """The thread's work is over, however it ended (cancelled too): the garbage collector may run again."""

    def __init__(self, fn: Callable, parent=None):
        super().__init__(parent)
        self.fn = fn
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.sig_ended.connect(self._ended)  # queued: runs on the GUI thread, where the job was made

    def start(self) -> Job:
        import_here()  # on the GUI thread, before any worker thread imports them
        _LIVE[:] = [job for job in _LIVE if job.running]  # a finished job is let go here, on the GUI thread
        _LIVE.append(self)
        _hold_gc(self)
        self.thread.start()
        return self

    def _ended(self) -> None:
        self.thread.join()  # its last step was to say so: wait for it to be gone, or it might collect on the way out
        _release_gc(self)

    def cancel(self) -> None:
        """Stop at the next step and tell nobody: what it would still say goes nowhere (its page may be gone)."""
        self.cancelled.set()
        for signal in (self.sig_progress, self.sig_done, self.sig_failed):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):  # nothing connected
                pass

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def _progress(self, stage: str, message: str) -> None:
        if self.cancelled.is_set():
            raise Cancelled()
        self.sig_progress.emit(stage, message)

    def _run(self) -> None:
        try:
            with _ONE_AT_A_TIME:
                self._run_alone()
        finally:
            self.sig_ended.emit()

    def _run_alone(self) -> None:
        if self.cancelled.is_set():
            return
        try:
            result = self.fn(self._progress)
        except Cancelled:
            return
        except UserError as e:
            if not self.cancelled.is_set():
                self.sig_failed.emit(str(e))
            return
        except Exception as e:  # noqa: BLE001 - shown to the user in words, details on stderr
            traceback.print_exc()
            if not self.cancelled.is_set():
                self.sig_failed.emit(f"{type(e).__name__}: {e}")
            return
        if not self.cancelled.is_set():
            self.sig_done.emit(result)
