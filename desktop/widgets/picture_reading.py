"""Classify image: the picture as the model receives it and the model's top classes.

A small window of its own (not modal): ``show_reading(...)`` draws what the controller's
``classify_picture`` returned; ``show_waiting(name)`` while it runs. Image files dropped on it
are read too (``drop`` is a ``PictureDrop`` the window connects).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.widgets.pictures import PictureDrop, picture_pixmap
from desktop.widgets.prediction import ProbabilityBars
from netcore.image_model import ImageReading

TOP = 5
VIEW = 192  # px: the input drawn at an integer scale up to this side


class PictureReadingDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Classify image")
        self.drop = PictureDrop(self, self)
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline = QLabel("–")
        font = QFont(self.font())
        font.setPointSize(20)
        font.setBold(True)
        self.headline.setFont(font)
        self.bars = ProbabilityBars(rows=TOP)
        self.picture = QLabel()
        self.picture.setFixedSize(VIEW + 2, VIEW + 2)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setStyleSheet("background: #222; border: 1px solid #555;")
        self.caption = QLabel()
        self.caption.setEnabled(False)  # dimmed: a caption
        self.caption.setWordWrap(True)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setEnabled(False)
        hint = QLabel("Drop another picture here to read it.")
        hint.setEnabled(False)

        left = QVBoxLayout()
        left.addWidget(self.picture)
        left.addWidget(self.caption)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.headline)
        right.addWidget(self.bars)
        right.addWidget(self.model_label)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(left)
        row.addSpacing(12)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addLayout(row)
        layout.addWidget(hint)
        self.setMinimumWidth(520)

    def show_waiting(self, file_name: str) -> None:
        self.file_label.setText(f"reading {file_name}…")

    def show_reading(self, file_name: str, model_name: str, reading: ImageReading, recipe: str) -> None:
        """The picture ``reading.image`` (C, H, W) as the network got it, and its top classes."""
        c, h, w = reading.image.shape
        name, p = reading.top[0]
        self.file_label.setText(file_name)
        self.headline.setText(f"{name}  ({p:.0%})")
        self.bars.set_items(reading.top[:TOP])
        self.picture.setPixmap(picture_pixmap(reading.image, VIEW))
        self.caption.setText(f"as the model receives it: {'grey' if c == 1 else 'RGB'} {h}x{w}, {recipe}")
        self.model_label.setText(f"model: {model_name}")

    def top_classes(self) -> list[tuple[str, float]]:
        return self.bars.items()
