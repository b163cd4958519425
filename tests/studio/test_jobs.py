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
