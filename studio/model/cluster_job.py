"""The Model page's "Run on a cluster…": check the designed run, ask where and how (ClusterDialog), write the
SLURM job and follow the run folder it will write."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox

from engine.core.errors import UserError
from studio.model.form_words import in_form_words
from studio.widgets.cluster_dialog import ClusterDialog


def ask_cluster_job(page) -> None:
    cfg, problems = page.current_config()  # this machine's memory is not the cluster's: not checked here
    if problems:
        QMessageBox.warning(page, "Run on a cluster", "Fix these first:\n\n"
                            + "\n".join(in_form_words(p) for p in problems))
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dialog = ClusterDialog(page, page.store.workspace / "cluster" / f"{cfg.name or 'run'}-{stamp}")
    if dialog.exec() == QDialog.DialogCode.Accepted:
        page.write_cluster_job(dialog.plan(), Path(dialog.folder.text().strip()).expanduser())


def write_cluster_job(page, plan, folder: Path) -> Path | None:
    """Write the job (script and config), follow its run folder, and say what to do next."""
    from engine.launch.slurm import write_cluster_job as write_job

    cfg, _ = page.current_config()
    try:
        script = write_job(cfg, plan, folder, repo=Path(__file__).resolve().parents[2])
    except UserError as e:
        QMessageBox.warning(page, "Run on a cluster", str(e))
        return None
    page.store.follow_folder(script.parent / "run", pending=True)
    QMessageBox.information(page, "Run on a cluster", f"Wrote {script}.\n\nOn the cluster's login node run:\n"
                            f"    sbatch {script}\n\nThe run is listed on the Runs page once the job starts "
                            f"writing {script.parent / 'run'} (Refresh); open it there to follow it live.")
    return script
