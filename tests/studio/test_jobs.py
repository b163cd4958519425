"""Background jobs of the studio: what they import is imported on the GUI thread first, since PySide6's import
hook crashed the process when `datasets` was first imported in a worker thread (studio/jobs.py)."""

import subprocess
import sys
import textwrap

from tests.reliability.helpers import ROOT


def test_a_job_finds_its_libraries_imported_before_its_thread_starts():
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QCoreApplication, QTimer
        from studio.jobs import THREAD_IMPORTS, Job

        app = QCoreApplication([])
        assert not any(name in sys.modules for name in THREAD_IMPORTS), "imported before any job"
        seen = []
        job = Job(lambda progress: [name in sys.modules for name in THREAD_IMPORTS])
        job.sig_done.connect(lambda found: (seen.append(found), app.quit()))
        job.sig_failed.connect(lambda why: (seen.append(why), app.quit()))
        job.start()
        QTimer.singleShot(120_000, app.quit)
        app.exec()
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={"QT_QPA_PLATFORM": "offscreen", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[[True, True]]", done.stdout
