"""Non-blocking message boxes: one line for an error or a result, and the About box."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

ABOUT = (
    "netcore studio: design a network, watch it learn, draw digits for it.\n"
    "Every line of the learning engine is hand-written NumPy."
)


def open_box(parent: QWidget, message: str, title: str = "netcore studio", error: bool = True) -> QMessageBox:
    """A warning (or information) box that does not block the event loop; deleted when closed."""
    icon = QMessageBox.Icon.Warning if error else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About netcore studio", ABOUT)
