"""Make the README's screenshots offscreen: a real workspace, two short real runs, each page grabbed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [docs] [--only-objectives]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def wait(app, condition, timeout=180.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the studio did not get there in time")
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from studio.main_window import MainWindow
    from studio.settings import Settings

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0] if args else "docs")
    out.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="as-shots-"))
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    settings.workspace = tmp / "workspace"
    w = MainWindow(settings)
    w.resize(1400, 900)
    w.show()
    if "--only-objectives" not in sys.argv:
        language_model_shots(app, w, out)
    objective_shots(app, w, out)
    print(f"screenshots in {out}/ (workspace {tmp})")


def language_model_shots(app, w, out: Path) -> None:
    w.offer_demo()
    corpus = w.corpus_page
    corpus.prepare()
    wait(app, corpus.use_btn.isEnabled)
    w.nav.setCurrentRow(0)
    wait(app, lambda: "documents" in corpus.preview.toPlainText())
    corpus.sentence.setText("def train(model, steps=100):")
    app.processEvents()
    w.grab().save(str(out / "corpus.png"))
    corpus.use_btn.click()
    model = w.model_page
    form = model.form
    for name, layers in (("demo-2-layers", 2), ("demo-3-layers", 3)):
        model.name.setText(name)
        form.widget("model", "n_layer").setValue(layers)
        form.widget("train", "max_steps").setValue(300)
        form.widget("train", "eval_interval").setValue(50)
        form.widget("train", "log_interval").setValue(2)
        w.nav.setCurrentRow(1)
        app.processEvents()
        if layers == 3:
            w.grab().save(str(out / "model.png"))
        model.train_btn.click()
        wait(app, lambda: w.train_page.status.text() == "Finished", timeout=600)
    w.train_page.smoothing.setValue(70)
    app.processEvents()
    w.grab().save(str(out / "train.png"))
    w.store.refresh()
    w.nav.setCurrentRow(3)
    w.runs_page.select(list(w.store.runs))
    app.processEvents()
    w.grab().save(str(out / "runs.png"))
    inspect = w.inspect_page
    inspect.picker.reload()
    inspect.text.setPlainText("def add(a, b):\n    return a + b\n")
    inspect.compute()
    wait(app, lambda: inspect.maps is not None)
    inspect.select_head(1, 1)
    w.nav.setCurrentRow(4)
    app.processEvents()
    w.grab().save(str(out / "inspect.png"))
    play = w.playground_page
    play.prompt.setPlainText("def ")
    play.seed.setValue(3)
    play.max_tokens.setValue(160)
    play.compare.setChecked(True)
    play.right.picker.checkpoints.setCurrentIndex(play.right.picker.checkpoints.count() - 1)
    play.generate()
    wait(app, play.generate_btn.isEnabled)
    w.nav.setCurrentRow(5)
    app.processEvents()
    w.grab().save(str(out / "playground.png"))


def objective_shots(app, w, out: Path) -> None:
    """A classifier on the generated bracket-balance corpus, then a LoRA fine-tune of it on the Model page."""
    corpus = w.corpus_page
    corpus.use_demo("balanced")
    corpus.prepare()
    wait(app, corpus.use_btn.isEnabled)
    corpus.use_btn.click()
    model = w.model_page
    form = model.form
    model.name.setText("brackets-classifier")
    form.widget("model", "objective").setCurrentText("classify")
    form.widget("model", "arch").setCurrentText("bert")
    for key, value in dict(n_layer=2, n_head=4, n_embd=64, block_size=64).items():
        form.widget("model", key).setValue(value)
    form.widget("model", "position").setCurrentText("learned")
    form.widget("train", "lr").setText("1e-3")
    form.widget("train", "min_lr").setText("1e-4")
    for key, value in dict(max_steps=600, eval_interval=50, batch_size=32, warmup_steps=20).items():
        form.widget("train", key).setValue(value)
    model.train_btn.click()
    wait(app, lambda: w.train_page.status.text() == "Finished", timeout=600)
    w.train_page.tabs.setCurrentIndex(2)
    app.processEvents()
    w.grab().save(str(out / "classify.png"))
    run_dir = w.store.current
    play = w.playground_page
    play.left.picker.choose(run_dir)
    play.compare.setChecked(False)
    play.prompt.setPlainText("([{}])[]{(})")
    play.generate()
    wait(app, play.generate_btn.isEnabled)
    w.nav.setCurrentRow(5)
    app.processEvents()
    w.grab().save(str(out / "classify-playground.png"))
    w._on_finetune(run_dir)
    form.widget("finetune", "method").setCurrentText("lora")
    form.widget("task", "labels").setText("balanced | unbalanced")
    app.processEvents()
    w.grab().save(str(out / "finetune.png"))


if __name__ == "__main__":
    main()
