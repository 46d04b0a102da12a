"""Window furniture: the "Loading the dataset…" dialog, splitters, scroll areas, a closable hint."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QScrollArea,
    QSplitter,
    QToolButton,
    QWidget,
)


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


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area: it fills the space it gets and scrolls when the
    window is smaller than it needs (a small screen), instead of squeezing its children."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class Banner(QFrame):
    """A one-line hint with a close button; ``closed`` when the user dismissed it."""

    closed = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("#banner { background: #e0f2fe; border-bottom: 1px solid #7dd3fc; }")
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this hint (Help ▸ Getting started shows it again)")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)

    def dismiss(self) -> None:
        """Hide the hint (the first Train does it too); ``closed`` says it was seen."""
        if not self.isHidden():
            self.hide()
            self.closed.emit()
