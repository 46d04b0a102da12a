"""The preprocessing pipeline laid open: each stage's image, what the network makes of it, toggles."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.prediction import gray_pixmap
from netcore.digits import Reading

THUMB = 72

# (preprocess_digit flag, checkbox text, tooltip); defaults are preprocess_digit's
TOGGLES = (
    ("crop", "crop to ink", "Cut the canvas to the ink's bounding box"),
    ("fit", "fit 20x20", "Scale the digit so its longer side is 20 px, as MNIST does"),
    ("centre", "centre of mass", "Move the centre of mass to the middle of the 28x28 frame"),
    ("normalize_stroke", "stroke width", "Thicken or thin the stroke to MNIST's width"),
    ("deskew", "deskew", "Shear a slanted digit upright"),
)
DEFAULTS = {"crop": True, "fit": True, "centre": True, "normalize_stroke": True, "deskew": False}

CAPTIONS = {
    "raw": "raw",
    "ink": "ink",
    "crop": "crop",
    "stroke": "stroke width",
    "deskew": "deskew",
    "fit20": "fit 20x20",
    "scaled": "scaled",
    "centred": "centred",
    "placed": "placed",
}
FINAL_STAGES = ("centred", "placed")


class StageThumb(QWidget):
    """One stage: thumbnail, caption with its size, the network's answer for it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture = QLabel()
        self.picture.setFixedSize(THUMB + 2, THUMB + 2)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setStyleSheet("background: black; border: 1px solid #555;")
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.answer = QLabel()
        self.answer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)
        layout.addWidget(self.answer)

    def show_stage(self, name: str, image: np.ndarray, answer: tuple[int, float] | None, final: bool) -> None:
        h, w = image.shape
        smooth = max(h, w) > THUMB  # shrink smoothly, enlarge with visible pixels
        self.picture.setPixmap(gray_pixmap(image, QSize(THUMB, THUMB), smooth=smooth))
        self.caption.setText(f"{CAPTIONS.get(name, name)}\n{w}x{h}")
        self.caption.setToolTip(name)
        self.answer.setText("" if answer is None else f"{answer[0]} · {answer[1]:.0%}")
        font = QFont(self.answer.font())
        font.setBold(final)
        self.answer.setFont(font)


class PreprocessInspector(QWidget):
    """Stage thumbnails (raw -> ... -> 28x28) with the network's answer under each, and toggles.

    Signals:
        options_changed(dict): the preprocess_digit flags after a toggle changed.
    Methods: ``options()``, ``set_options(dict)``, ``set_reading(reading)`` (its stages and
    ``answers``, computed by netcore.digits.DigitReader), ``stage_names()``, ``answers()``.
    """

    options_changed = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._boxes: dict[str, QCheckBox] = {}
        self._thumbs: list[StageThumb] = []
        self._names: list[str] = []
        self._answers: dict[str, tuple[int, float]] = {}

        toggles = QGridLayout()  # three a row: the pad's panel stays narrow
        toggles.addWidget(QLabel("Steps:"), 0, 0)
        for i, (flag, text, tip) in enumerate(TOGGLES):
            box = QCheckBox(text)
            box.setChecked(DEFAULTS[flag])
            box.setToolTip(f"{tip} (preprocess_digit {flag}=…)")
            box.toggled.connect(self._on_box_toggled)
            self._boxes[flag] = box
            toggles.addWidget(box, i // 3, 1 + i % 3)
        toggles.setColumnStretch(4, 1)

        self._row = QHBoxLayout()
        self._row.setSpacing(6)
        self._placeholder = QLabel("Draw a digit to see each step of the preprocessing.")
        self._placeholder.setEnabled(False)
        self._row.addWidget(self._placeholder)
        self._row.addStretch(1)

        note = QLabel(
            "Under each step: what the network answers if that image alone, fitted into 28x28, "
            "were its input. The last one is what it really gets."
        )
        note.setWordWrap(True)
        note.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(toggles)
        row = QWidget()
        row.setLayout(self._row)
        self._row.setContentsMargins(0, 0, 0, 0)
        # The thumbnails' room is kept while there are none (nothing below moves when they come),
        # and a narrow panel scrolls them sideways rather than growing.
        strip = QScrollArea()
        strip.setWidget(row)
        strip.setWidgetResizable(True)
        strip.setFrameShape(QFrame.Shape.NoFrame)
        strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        bar = strip.horizontalScrollBar().sizeHint().height()
        strip.setFixedHeight(StageThumb().sizeHint().height() + bar + 2)
        layout.addWidget(strip)
        layout.addWidget(note)

    # -- options ------------------------------------------------------------------------
    def options(self) -> dict[str, bool]:
        """The preprocess_digit keyword flags the check boxes say."""
        return {flag: box.isChecked() for flag, box in self._boxes.items()}

    def set_options(self, options: dict[str, bool]) -> None:
        unknown = set(options) - set(self._boxes)
        if unknown:
            raise ValueError(f"unknown preprocessing options {sorted(unknown)}; known: {sorted(self._boxes)}")
        changed = False
        for flag, value in options.items():
            box = self._boxes[flag]
            if box.isChecked() != bool(value):
                box.blockSignals(True)
                box.setChecked(bool(value))
                box.blockSignals(False)
                changed = True
        if changed:
            self.options_changed.emit(self.options())

    def _on_box_toggled(self, _checked: bool) -> None:
        self.options_changed.emit(self.options())

    # -- stages -------------------------------------------------------------------------
    def set_reading(self, reading: Reading | None) -> None:
        """Show the stages of ``reading`` and, under each, the answer it carries for that stage."""
        stages = dict(reading.stages) if reading is not None else {}
        self._answers = dict(reading.answers) if reading is not None else {}
        self._names = list(stages)
        while len(self._thumbs) < len(stages):
            thumb = StageThumb()
            self._row.insertWidget(len(self._thumbs), thumb)
            self._thumbs.append(thumb)
        for i, thumb in enumerate(self._thumbs):
            if i < len(self._names):
                name = self._names[i]
                final = name in FINAL_STAGES
                thumb.show_stage(name, stages[name], self._answers.get(name), final)
                thumb.show()
            else:
                thumb.hide()
        self._placeholder.setVisible(not stages)

    def stage_names(self) -> list[str]:
        return list(self._names)

    def answers(self) -> dict[str, tuple[int, float]]:
        """Stage name -> (label, probability) currently shown."""
        return dict(self._answers)
