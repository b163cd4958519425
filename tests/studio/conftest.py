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


class Answer(list):
    """The questions answered so far (their texts); stop() ends the wait for one that never came."""

    stopped = False

    def stop(self) -> None:
        self.stopped = True


def answer(button: str) -> Answer:
    """Press `button` in the next message box the studio asks, as a user would; returns a list that gets the
    question's text (empty while nothing was asked)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    asked = Answer()

    def press(tries=500):  # a box is open by the next turn of the event loop; the count only ends a wait for none
        if asked.stopped:
            return
        box = QApplication.activeModalWidget()
        chosen = [b for b in box.buttons() if b.text() == button] if isinstance(box, QMessageBox) else []
        if chosen:
            asked.append(box.text())
            chosen[0].click()
        elif tries:
            QTimer.singleShot(20, lambda: press(tries - 1))

    QTimer.singleShot(0, press)
    return asked
