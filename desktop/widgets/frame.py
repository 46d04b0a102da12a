"""Window furniture: the modal "Loading the dataset…" dialog, and splitters of panels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QSplitter, QWidget


class LoadingDialog(QProgressDialog):
    """Appears after 400 ms of loading; ``canceled`` asks the controller to stop."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Loading the dataset…", "Cancel", 0, 0, parent)
        self.setWindowTitle("netcore studio")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(400)

    def show_progress(self, done: int, total: int, label: str) -> None:
        """``total`` 0: unknown (a busy indicator)."""
        self.setLabelText(label or "Loading…")
        self.setMaximum(max(total, 0))
        if total:
            self.setValue(min(done, total))


def splitter(orientation: Qt.Orientation, *widgets: QWidget, stretch: tuple[int, ...] = (1, 0)) -> QSplitter:
    """A splitter holding ``widgets`` side by side (or stacked), stretched by ``stretch``."""
    box = QSplitter(orientation)
    for i, widget in enumerate(widgets):
        box.addWidget(widget)
        box.setStretchFactor(i, stretch[i])
    return box
