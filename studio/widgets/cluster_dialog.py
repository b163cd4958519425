"""Run on a cluster…: the SLURM job's size and time, and a folder on the shared file system. The engine
writes the batch script and the config (engine/launch/slurm.py); the studio then follows the run folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from engine.launch.slurm import ClusterPlan


class ClusterDialog(QDialog):
    def __init__(self, parent, folder: Path):
        super().__init__(parent)
        self.setWindowTitle("Run on a cluster")
        self.nodes = QSpinBox(minimum=1, maximum=4096, value=1)
        self.gpus = QSpinBox(minimum=1, maximum=64, value=8)
        self.time = QLineEdit("12:00:00")
        self.partition = QLineEdit()
        self.partition.setPlaceholderText("the cluster's default")
        self.account = QLineEdit()
        self.account.setPlaceholderText("none")
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        where = QHBoxLayout()
        where.addWidget(self.folder)
        where.addWidget(browse)
        self.problems = QLabel()
        self.problems.setObjectName("cluster_problems")
        self.problems.setStyleSheet("color: #b91c1c;")
        self.problems.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(QLabel("Writes a SLURM batch script (torchrun on every node, the rendezvous on the first) and "
                           "its config into a new folder on the cluster's shared file system."))
        form.addRow("Nodes", self.nodes)
        form.addRow("GPUs per node", self.gpus)
        form.addRow("Time limit (h:mm:ss)", self.time)
        form.addRow("Partition", self.partition)
        form.addRow("Account", self.account)
        form.addRow("Job folder", where)
        form.addRow(self.problems)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Write the job")
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._browse)
        for w in (self.time, self.partition, self.account, self.folder):
            w.textChanged.connect(self._check)
        for w in (self.nodes, self.gpus):
            w.valueChanged.connect(self._check)
        self._check()

    def plan(self) -> ClusterPlan:
        return ClusterPlan(nodes=self.nodes.value(), gpus_per_node=self.gpus.value(), time=self.time.text().strip(),
                           partition=self.partition.text().strip(), account=self.account.text().strip())

    def _check(self) -> None:
        problems = self.plan().problems()
        folder = Path(self.folder.text().strip()).expanduser()
        if not self.folder.text().strip():
            problems.append("name a folder for the job")
        elif folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            problems.append(f"{folder} is not an empty folder")
        self.problems.setText("\n".join(problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Job folder (on the shared file system)", self.folder.text())
        if chosen:
            self.folder.setText(chosen)
