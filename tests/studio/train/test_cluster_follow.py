"""Run on a cluster… writes the SLURM job and follows its run folder; a run another process writes into
that folder (as a cluster node would, on a shared file system) is listed and followed live."""

import subprocess

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.launch.slurm import ClusterPlan
from tests.reliability.helpers import start
from tests.studio.conftest import tiny_model
from tests.studio.helpers import LONG, RUN_TIMEOUT, write_corpus


def test_a_cluster_job_is_written_and_its_run_followed_live_when_another_process_writes_it(
        qtbot, window, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: said.append(text))
    window.corpus_page.set_sources([write_corpus(tmp_path)])
    qtbot.mouseClick(window.corpus_page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.corpus_page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(window.corpus_page.use_btn, Qt.MouseButton.LeftButton)
    page = window.model_page
    page.name.setText("on-the-cluster")
    tiny_model(page, max_steps=LONG, eval_interval=1000, log_interval=1)
    job = tmp_path / "shared" / "job"
    script = page.write_cluster_job(ClusterPlan(nodes=2, gpus_per_node=4, time="02:00:00"), job)
    assert script == job / "train.sbatch" and subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "sbatch" in said[0] and str(job / "run") in said[0]
    assert window.store.followed() == [job / "run"]
    runs = window.runs_page
    window.store.refresh()
    assert not any(runs.table.item(r, 0).text() == "on-the-cluster" for r in range(runs.table.rowCount()))

    node = start("train", job / "config.toml", "--set", "train.device=cpu")  # the cluster, as another process
    try:
        qtbot.waitUntil(lambda: (job / "run" / "run.toml").is_file(), timeout=RUN_TIMEOUT)
        window.store.refresh()
        row = next(r for r in range(runs.table.rowCount()) if runs.table.item(r, 0).text() == "on-the-cluster")
        runs.select([job / "run"])
        qtbot.mouseClick(runs.buttons["open"], Qt.MouseButton.LeftButton)
        train = window.train_page
        qtbot.waitUntil(lambda: train.run is not None and train.run.last_step is not None, timeout=RUN_TIMEOUT)
        seen = train.run.last_step.step
        qtbot.waitUntil(lambda: train.run.last_step.step > seen + 3, timeout=RUN_TIMEOUT)  # live, as it trains
        assert runs.table.item(row, 1).text() == "running"
    finally:
        node.kill()
        node.wait()
    window.store.refresh()  # the node is gone: the run is interrupted now
    assert runs.table.item(row, 1).text() == "interrupted"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    runs.select([job / "run"])
    qtbot.mouseClick(runs.buttons["delete"], Qt.MouseButton.LeftButton)  # someone else's folder: unlisted only
    assert (job / "run" / "run.toml").is_file() and window.store.followed() == []


def test_a_folder_that_is_not_a_run_is_refused_in_words(qtbot, window, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    window.runs_page.follow(tmp_path)
    assert "is not a run folder" in said[0] and window.store.followed() == []
