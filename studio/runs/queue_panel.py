"""The queue on the Runs page: the runs waiting their turn, in order, to reorder, remove or pause."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from engine.core.errors import UserError
from engine.runqueue.queue_file import RunQueue


class QueuePanel(QGroupBox):
    def __init__(self, store, parent=None):
        super().__init__("Queue", parent)
        self.store = store
        self.list = QListWidget()
        self.list.setObjectName("queue_list")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.buttons = {k: QPushButton(t) for k, t in (("up", "Up"), ("down", "Down"), ("remove", "Remove"),
                                                        ("pause", "Pause the queue"))}
        row = QHBoxLayout()
        for b in self.buttons.values():
            row.addWidget(b)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.buttons["up"].clicked.connect(lambda: self._move(-1))
        self.buttons["down"].clicked.connect(lambda: self._move(+1))
        self.buttons["remove"].clicked.connect(self._remove)
        self.buttons["pause"].clicked.connect(self._toggle_pause)
        self.list.currentRowChanged.connect(self._enable)
        self.timer = QTimer(self)  # the CLI or another studio may change the queue too
        self.timer.setInterval(2000)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self.reload()

    @property
    def queue(self) -> RunQueue:
        return RunQueue(self.store.workspace)

    def reload(self) -> None:
        try:
            items, paused = self.queue.state()
        except UserError as e:
            self.note.setText(str(e))
            return
        ids = [self.list.item(i).data(256) for i in range(self.list.count())]
        current = self.list.currentItem().data(256) if self.list.currentItem() else None
        if ids != [i.id for i in items]:
            self.list.clear()
            for item in items:
                entry = QListWidgetItem(item.name + (f"   (sweep {item.sweep})" if item.sweep else ""))
                entry.setData(256, item.id)  # Qt.UserRole
                self.list.addItem(entry)
                if item.id == current:
                    self.list.setCurrentItem(entry)
        self.buttons["pause"].setText("Resume the queue" if paused else "Pause the queue")
        state = "paused: nothing new starts" if paused else "each starts when a slot is free"
        self.note.setText(f"{len(items)} run(s) waiting, {state}." if items else
                          "No runs are waiting. Add to queue (Model page) or a sweep puts runs here.")
        self._enable()

    def _enable(self, *_) -> None:
        row = self.list.currentRow()
        self.buttons["up"].setEnabled(row > 0)
        self.buttons["down"].setEnabled(0 <= row < self.list.count() - 1)
        self.buttons["remove"].setEnabled(row >= 0)

    def _move(self, by: int) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        item_id = self.list.item(row).data(256)
        self.queue.move(item_id, row + by)
        self.reload()
        self.list.setCurrentRow(row + by)

    def _remove(self) -> None:
        if self.list.currentItem():
            self.queue.remove(self.list.currentItem().data(256))
            self.reload()

    def _toggle_pause(self) -> None:
        self.queue.set_paused(not self.queue.paused)
        self.reload()
