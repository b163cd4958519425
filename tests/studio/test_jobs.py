"""Background jobs of the studio: what they import is imported on the GUI thread first, since PySide6's import
hook crashed the process when `datasets` was first imported in a worker thread (studio/jobs.py)."""

import subprocess
import sys
import textwrap

import pytest

from tests.reliability.helpers import ROOT


def test_a_jobs_tagged_sentence_reading_imports_nothing_on_its_thread():
    """A tagged corpus's preview finds its entities with seqeval, which imports scikit-learn and scipy: first
    imported from a job's thread, that crashed the process (a segmentation fault) under load."""
    pytest.importorskip("seqeval")
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QCoreApplication, QTimer
        from studio.jobs import Job

        app = QCoreApplication([])

        def read(progress):
            before = set(sys.modules)
            from engine.data.entity_metrics import entities

            assert entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
            return sorted(set(sys.modules) - before - {"engine.data.entity_metrics"})

        seen = []
        job = Job(read)
        job.sig_done.connect(lambda new: (seen.append(new), app.quit()))
        job.sig_failed.connect(lambda why: (seen.append(why), app.quit()))
        job.start()
        QTimer.singleShot(120_000, app.quit)
        app.exec()
        job.thread.join(60)
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[[]]", done.stdout[-2000:]


def test_a_jobs_corpus_load_imports_nothing_on_its_thread(tmp_path):
    (tmp_path / "notes.txt").write_text("A first paragraph.\n\nA second one.\n")
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QCoreApplication, QTimer
        from studio.jobs import THREAD_IMPORTS, Job

        app = QCoreApplication([])
        assert not any(name in sys.modules for name in THREAD_IMPORTS), "imported before any job"

        def load(progress):
            from engine.config.schema import DataConfig
            from engine.data.corpus import load_documents

            before = set(sys.modules)
            load_documents(DataConfig(path={str(tmp_path / "notes.txt")!r}), {str(tmp_path / "cache")!r})
            return sorted(set(sys.modules) - before)

        seen = []
        job = Job(load)
        job.sig_done.connect(lambda new: (seen.append(new), app.quit()))
        job.sig_failed.connect(lambda why: (seen.append(why), app.quit()))
        job.start()
        QTimer.singleShot(120_000, app.quit)
        app.exec()
        job.thread.join(60)  # the thread ends after its answer: not while the interpreter shuts down
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={"QT_QPA_PLATFORM": "offscreen", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[[]]", done.stdout[-2000:]


def test_closing_the_window_cancels_a_corpus_job_still_running(qtbot, window, tmp_path):
    from tests.studio.test_pages import write_corpus

    page = window.corpus_page
    page.set_sources([write_corpus(tmp_path)])
    page.prepare()
    jobs = list(page.jobs.values())
    assert jobs and not any(job.cancelled.is_set() for job in jobs)
    window.close()
    assert all(job.cancelled.is_set() for job in jobs)
    for job in jobs:
        job.thread.join(60)  # a cancelled job delivers nothing; its thread ends
    assert not any(job.running for job in jobs)


def test_no_garbage_collection_runs_on_a_jobs_thread_and_it_comes_back_after(qtbot):
    """A collection on a job's thread frees a closed window's Qt objects there while the GUI thread runs Qt (a
    test process crashed so): while a job runs the collector is held, and it is let go once every job has ended,
    a cancelled one too."""
    import gc
    import threading

    from studio.jobs import Job

    collected_on: list[str] = []

    def note(phase, _info):
        if phase == "start":
            collected_on.append(threading.current_thread().name)

    def churn(progress):  # cycles enough to trigger collections many times over if the collector ran
        for _ in range(200_000):
            a: list = []
            a.append(a)
        return threading.current_thread().name

    gc.callbacks.append(note)
    try:
        assert gc.isenabled()
        job = Job(churn)
        with qtbot.waitSignal(job.sig_done, timeout=120_000) as done:
            job.start()
            assert not gc.isenabled()
        qtbot.waitUntil(gc.isenabled, timeout=60_000)
        assert done.args[0] not in collected_on  # none on the job's thread

        waiting = Job(churn)
        cancelled = Job(churn)
        waiting.start(), cancelled.start()
        cancelled.cancel()
        qtbot.waitUntil(lambda: not waiting.running and not cancelled.running, timeout=120_000)
        qtbot.waitUntil(gc.isenabled, timeout=60_000)
        assert waiting.thread.name not in collected_on and cancelled.thread.name not in collected_on
    finally:
        gc.callbacks.remove(note)
