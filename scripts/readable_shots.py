"""Screenshots of the readable views, offscreen: an attention map of 128 tokens, the lines view of one head,
and a plot of one point. The maps are made up (tests/studio/fake_runs.py: a previous-token head and heads that
spread over earlier tokens), the view is the studio's own.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/readable_shots.py [docs]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from studio.main_window import PAGES, MainWindow
    from studio.settings import Settings
    from tests.studio.fake_runs import causal_maps, record_attention, word_tokens, write_run

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    tmp = Path(tempfile.mkdtemp(prefix="as-readable-"))
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    settings.workspace = tmp / "workspace"
    settings.auto_measure = False
    settings.mark_started()
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    runs = window.store.runs_dir
    folder = write_run(runs, "long-text", started=1000.0, steps=20)
    for step in (10, 20):
        record_attention(folder, causal_maps(2, 4, 128, seed=step), word_tokens(128), step)
    one = write_run(runs, "first-evaluation", started=2000.0, evals={0: 7.638}, steps=1)
    window.store.refresh()

    window.nav.setCurrentRow(PAGES.index("Inspect"))
    page = window.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(folder)))
    page.steps.setValue(0)
    settle(app)
    page.grab().save(str(out / "inspect-long.png"))
    page.grid.sig_head_clicked.emit(1, 1)  # a head that spreads over earlier tokens: many lines
    page.head_views.setCurrentIndex(1)
    settle(app)
    page.head_views.grab().save(str(out / "inspect-lines.png"))

    window.store.set_current(one)
    window.nav.setCurrentRow(PAGES.index("Train"))
    settle(app, 1.0)
    window.train_page.ppl_plot.grab().save(str(out / "plot-one-point.png"))
    window.queue_runner.timer.stop()
    window.close()


if __name__ == "__main__":
    main()
