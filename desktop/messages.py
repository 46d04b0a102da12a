"""Non-blocking message boxes: one line for an error or a result, the unsaved-work question, About."""

from __future__ import annotations

from collections.abc import Callable

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


def ask_unsaved(
    parent: QWidget, text: str, then: Callable[[str], None], can_save: bool = True
) -> QMessageBox:
    """Ask Save / Discard / Cancel about unsaved work without blocking; ``then(answer)`` gets
    "save", "discard" or "cancel" (closing the box is Cancel)."""
    buttons = QMessageBox.StandardButton
    shown = buttons.Discard | buttons.Cancel | (buttons.Save if can_save else buttons.NoButton)
    box = QMessageBox(QMessageBox.Icon.Question, "netcore studio", text, shown, parent)
    box.setDefaultButton(buttons.Save if can_save else buttons.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    answers = {buttons.Save: "save", buttons.Discard: "discard"}
    box.finished.connect(lambda _: then(answers.get(box.standardButton(box.clickedButton()), "cancel")))
    box.open()
    return box
