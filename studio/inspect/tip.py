"""A tooltip a view shows and hides itself, at once. Qt's own (QToolTip) fades out a while after it is told to
hide, and one shown for a widget as a whole stays while the pointer moves on inside it, up to its expiry seconds
later: over a view whose parts each have their own words, or whose data changed, it would name what is no longer
pointed at."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QToolTip, QWidget

HIDE_ON = (QEvent.Type.Leave, QEvent.Type.Hide, QEvent.Type.WindowDeactivate, QEvent.Type.Wheel,
           QEvent.Type.MouseButtonPress)
"""What the owner goes through that ends its tooltip: the pointer leaves it, it is hidden (another tab), its window
is left, it scrolls or is clicked."""


class Tip(QLabel):
    """The tooltip of `owner`, in Qt's tooltip colours and font; gone the moment the owner goes through HIDE_ON or
    calls hide()."""

    def __init__(self, owner: QWidget):
        super().__init__(owner, Qt.WindowType.ToolTip)
        self.setObjectName(f"{owner.objectName()}_tip")
        self.setPalette(QToolTip.palette())
        self.setFont(QToolTip.font())
        self.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.setAutoFillBackground(True)
        self.setFrameStyle(QFrame.Shape.Box | QFrame.Shadow.Plain)
        self.setMargin(3)
        owner.installEventFilter(self)

    def show_at(self, text: str, at: QPoint) -> None:
        """`text` just below and right of `at` (global), as Qt places its tooltips, kept on the screen."""
        self.setText(text)
        self.adjustSize()
        screen = QGuiApplication.screenAt(at) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        x = max(area.left(), min(at.x() + 2, area.right() - self.width()))
        y = at.y() + 16 if at.y() + 16 + self.height() <= area.bottom() else at.y() - 4 - self.height()
        self.move(x, y)
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in HIDE_ON:
            self.hide()
        return False
