"""GUI fixtures: a real main window over a workspace in tmp_path, settings in a private ini file."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    from studio.settings import Settings

    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.workspace = tmp_path / "workspace"
    s.mark_started()
    return s


@pytest.fixture
def window(qtbot, settings):
    from studio.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    for run_dir in w.client.running():  # never leave a trainer behind
        w.client.procs[run_dir].kill()
        w.client.procs[run_dir].wait()


def tiny_model(page, **train):
    """Fill the Model page with a model that trains in a few seconds."""
    f = page.form
    for key, value in dict(n_layer=1, n_head=2, n_embd=32, block_size=16).items():
        f.widget("model", key).setValue(value)
    values = dict(batch_size=4, max_steps=30, eval_interval=10, eval_batches=2, warmup_steps=2, threads=1,
                  sample_tokens=8) | train
    for key, value in values.items():
        f.widget("train", key).setValue(value)
    f.widget("train", "device").setCurrentText("cpu")
