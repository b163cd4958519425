"""Make the README's screenshots offscreen: a real workspace, two short real runs, each page grabbed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [docs] [--only-objectives | --only-first-hour |
                                                                        --only-sweep | --only-heads]
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
    if "--only-first-hour" in sys.argv:
        first_hour_shots(app, w, out, tmp)
    elif "--only-sweep" in sys.argv:
        sweep_shots(app, w, out, tmp)
    elif "--only-heads" in sys.argv:
        heads_shots(app, w, out, tmp)
    else:
        if "--only-objectives" not in sys.argv:
            language_model_shots(app, w, out)
        objective_shots(app, w, out)
        first_hour_shots(app, w, out, tmp)
        sweep_shots(app, w, out, tmp)
        heads_shots(app, w, out, tmp)
    w.close()  # ends the inference worker too
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


def names_corpus(path: Path, n: int = 4000) -> Path:
    """A file of made-up first names, one a line (syllables combined in a fixed order): a corpus of records."""
    first = ["a", "be", "ca", "da", "e", "fi", "ga", "ha", "i", "jo", "ka", "li", "ma", "no", "o", "pe", "ro",
             "sa", "ta", "vi", "wi", "ze"]
    middle = ["", "l", "n", "r", "s", "th", "v", "m"]
    last = ["a", "e", "ia", "o", "on", "el", "y", "ine", "an", "is"]
    names = [(first[i % 22] + middle[(i // 22) % 8] + last[(i // 176) % 10]).capitalize() for i in range(n)]
    path.write_text("\n".join(names) + "\n")
    return path


def first_hour_shots(app, w, out: Path, tmp: Path) -> None:
    """What a newcomer's own corpus meets: a file of names read one per line; a model too big refused."""
    corpus = w.corpus_page
    w.nav.setCurrentRow(0)
    corpus.set_sources([names_corpus(tmp / "names.txt")])
    wait(app, corpus.suggest_btn.isVisible)
    corpus.suggest_btn.click()
    wait(app, lambda: corpus.preview.toPlainText().startswith("4,000 documents"))
    corpus.prepare()
    wait(app, corpus.use_btn.isEnabled)
    corpus.sentence.setText("Marion")
    app.processEvents()
    w.grab().save(str(out / "corpus-lines.png"))
    corpus.use_btn.click()
    model = w.model_page
    model.name.setText("names")
    model.set_source("")  # a model of its own, not a fine-tune of the classifier before
    model.form.widget("model", "objective").setCurrentText("causal")
    model.form.widget("model", "arch").setCurrentText("auto")
    model.form.widget("train", "device").setCurrentText("cpu")
    model.form.widget("model", "block_size").setValue(100_000)
    w.nav.setCurrentRow(1)
    app.processEvents()
    w.grab().save(str(out / "model-memory.png"))


def sweep_shots(app, w, out: Path, tmp: Path) -> None:
    """A sweep of learning rate and width over a file of names, run through the queue, on the Runs page."""
    from engine.runqueue.sweep import Sweep, point_configs

    corpus = w.corpus_page
    w.nav.setCurrentRow(0)
    corpus.set_sources([names_corpus(tmp / "sweep-names.txt", 3000)])
    corpus.documents.setCurrentIndex(corpus.documents.findData("line"))
    corpus.prepare()
    wait(app, corpus.use_btn.isEnabled)
    corpus.use_btn.click()
    model = w.model_page
    model.name.setText("names")
    model.set_source("")
    f = model.form
    f.widget("finetune", "method").setCurrentText("full")  # the fine-tuning shot before chose LoRA
    f.widget("model", "objective").setCurrentText("causal")
    for key, value in dict(n_layer=2, n_head=2, n_embd=32, block_size=32).items():
        f.widget("model", key).setValue(value)
    for key, value in dict(max_steps=150, eval_interval=50, batch_size=16, warmup_steps=10).items():
        f.widget("train", key).setValue(value)
    f.widget("train", "device").setCurrentText("cpu")
    base, problems = model.current_config()
    assert not problems, problems
    configs = point_configs(Sweep("lr-width", base, "grid", {"train.lr": [3e-4, 1e-3, 3e-3, 1e-2],
                                                            "model.n_embd": [32, 64]}))
    w.add_to_queue(configs)
    w.runs_page.queue_panel.reload()
    wait(app, lambda: sum(r.summary.status == "finished" for r in w.store.runs.values()
                          if r.summary.config and r.summary.config.sweep == "lr-width") == len(configs), 600)
    wait(app, lambda: not w.live_runs())  # the last trainer has exited too (closing would ask about it)
    w.store.refresh()
    w.nav.setCurrentRow(3)
    w.runs_page.show_sweep("lr-width")
    app.processEvents()
    w.grab().save(str(out / "sweep.png"))


def heads_shots(app, w, out: Path, tmp: Path) -> None:
    """The induction recipe trained by the engine, then Inspect's Heads, Logit lens, Ablation and Embeddings."""
    import subprocess

    from PySide6.QtCore import Qt

    root = Path(__file__).resolve().parents[1]
    run = w.store.runs_dir / "induction"
    subprocess.run([sys.executable, "-m", "engine", "train", str(root / "resources/recipes/induction.toml"),
                    "--set", f"train.out_dir={run}", "--human"], check=True, cwd=root, stdout=subprocess.DEVNULL)
    w.store.refresh()
    w.nav.setCurrentRow(4)
    page = w.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(run)))
    page.text.setPlainText("qwErTyUiopAsDfqwErTyUiopAsDf")

    def tab(name):
        page.tabs.setCurrentIndex(next(i for i in range(page.tabs.count()) if page.tabs.tabText(i) == name))
        app.processEvents()
        return page.tabs.currentWidget()

    tab("Heads").slider.setValue(page.heads_panel.slider.maximum())
    app.processEvents()
    w.grab().save(str(out / "heads.png"))
    lens = tab("Logit lens")
    lens.k.setValue(3)
    lens.run_btn.click()
    wait(app, lambda: lens.result is not None)
    w.grab().save(str(out / "lens.png"))
    ablation = tab("Ablation")
    ablation.rank_btn.click()
    wait(app, lambda: ablation.ranking.rowCount() > 0 and ablation.rank_btn.isEnabled())
    for row in range(3):
        ablation.ranking.item(row, 0).setCheckState(Qt.CheckState.Checked)
    ablation.zero_btn.click()
    wait(app, lambda: "Without heads" in ablation.status.text())
    w.grab().save(str(out / "ablation.png"))
    embeddings = tab("Embeddings")
    embeddings.token.setCurrentIndex(max(0, embeddings.names.index("q")) if "q" in embeddings.names else 0)
    embeddings.find_btn.click()
    wait(app, lambda: embeddings.neighbours.count() > 0)
    w.grab().save(str(out / "embeddings.png"))


if __name__ == "__main__":
    main()
