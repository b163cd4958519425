"""Helpers for GUI tests (the window fixtures live in tests/conftest.py)."""

from __future__ import annotations


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


def close_keeping_runs(window) -> None:
    """Close the main window the way a user leaves a run training: "Keep training" in the question it asks."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def answer():
        box = QApplication.activeModalWidget()
        keep = [b for b in box.buttons() if b.text() == "Keep training"] if isinstance(box, QMessageBox) else []
        if keep:
            keep[0].click()
        else:
            QTimer.singleShot(20, answer)

    QTimer.singleShot(0, answer)
    window.close()
