"""The mouse wheel scrolls the page, never a setting under the pointer: combo boxes, spin boxes and sliders
take the wheel only once they have focus (clicked or tabbed to). One filter on the application covers every
page and every dialog, present and future."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QSlider, QWidget

GUARDED = (QComboBox, QAbstractSpinBox, QSlider)


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, GUARDED):
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a wheel turn must not give them focus either
        elif kind == QEvent.Type.Wheel and isinstance(obj, QWidget):
            setting = _guarded(obj)
            if setting is not None and not setting.hasFocus():
                _scroll_page(setting, event)
                return True
        return False


def _guarded(widget: QWidget) -> QWidget | None:
    """The setting `widget` belongs to (a spin box's line edit is part of its spin box), if any."""
    while widget is not None:
        if isinstance(widget, GUARDED):
            return widget
        if isinstance(widget, QAbstractScrollArea):
            return None  # a combo box's open list scrolls itself
        widget = widget.parentWidget()
    return None


def _scroll_page(widget: QWidget, event) -> None:
    """Give the turn to the nearest scroll area around the setting, as if the pointer were on its background."""
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QAbstractScrollArea):
        area = area.parentWidget()
    if area is not None:
        bar = area.verticalScrollBar() if event.angleDelta().y() else area.horizontalScrollBar()
        QApplication.sendEvent(bar, event)


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard once on `app`; returns it (kept alive as the app's child)."""
    existing = app.findChild(WheelGuard)
    if existing is not None:
        return existing
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard
