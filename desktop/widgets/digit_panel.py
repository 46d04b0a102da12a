"""The digit pad tab: draw (or load) a digit, see what the network reads and how it got there.

The panel reads with a ``netcore.digits.DigitReader`` it is handed (``set_network`` wraps the
window's UI-thread network in one) and asks for MNIST test digits with ``test_digit_requested``;
the controller loads them and the window hands them back through ``show_test_digit``.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.drawpad import DEFAULT_BRUSH, DrawPad
from desktop.widgets.inspector import PreprocessInspector
from desktop.widgets.prediction import PredictionView
from netcore.data import handwriting
from netcore.digits import DigitReader, Reading
from netcore.network import Network

DEFAULT_THRESHOLD = 0.6


# ------------------------------------------------------------------------ the panel


class DigitPanel(QWidget):
    """Draw pad + prediction + preprocessing inspector + controls.

    Signals:
        status_message(str): one line for the main window's status bar.
        test_digit_requested(bool): a random MNIST test digit (True: one the model misreads).
    Methods: ``set_network(network, name)``, ``show_test_digit(digit)``,
    ``show_test_digit_failed(message)``, ``reading()``, ``network_problem``; children ``pad``,
    ``view``, ``inspector`` are public for the window/tests.
    """

    status_message = Signal(str)
    test_digit_requested = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, handwriting_dir: str | os.PathLike | None = None
    ) -> None:
        super().__init__(parent)
        self._reader: DigitReader | None = None
        self._network_name = ""
        self._problem: str | None = None
        self._reading: Reading | None = None
        self._handwriting_dir = None if handwriting_dir is None else Path(handwriting_dir)
        self._waiting = False  # for a test digit

        self.pad = DrawPad()
        self.view = PredictionView()
        self.inspector = PreprocessInspector()
        self._build()

        self.pad.image_changed.connect(self._on_pad_image_changed)
        self.inspector.options_changed.connect(self._on_inspector_options_changed)
        self.set_network(None, "")
        self._update_count()

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.brush = QSpinBox()
        self.brush.setRange(4, 48)
        self.brush.setValue(round(DEFAULT_BRUSH))
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Width of the strokes you draw next")
        self.brush.valueChanged.connect(self._on_brush_value_changed)

        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setToolTip("Below this probability the pad says it is unsure rather than name a digit")
        self.threshold.valueChanged.connect(self._on_threshold_value_changed)

        clear = QPushButton("Clear")
        clear.setToolTip("Clear the pad (Esc, or right-click on it)")
        clear.clicked.connect(self.pad.clear)
        undo = QPushButton("Undo")
        undo.setToolTip("Remove the last stroke (Ctrl+Z on the pad)")
        undo.clicked.connect(self.pad.undo)
        edit_row = QHBoxLayout()
        edit_row.addWidget(clear)
        edit_row.addWidget(undo)
        edit_row.addStretch(1)

        self.save_label = QComboBox()
        self.save_label.addItems([str(k) for k in range(10)])
        self.save_label.setToolTip("The digit you meant to draw")
        self.save_button = QPushButton("Save to my handwriting")
        self.save_button.setToolTip("Keep the 28x28 image the network sees, with this label, on disk")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.count_label = QLabel()
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_label)
        save_row.addWidget(self.save_button)
        save_row.addWidget(self.count_label, 1)

        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Put a random MNIST test digit on the pad")
        self.random_button.clicked.connect(self._on_random_clicked)
        self.wrong_button = QPushButton("One it gets wrong")
        self.wrong_button.setToolTip("Put an MNIST test digit on the pad that the model misreads")
        self.wrong_button.clicked.connect(self._on_wrong_clicked)
        test_row = QHBoxLayout()
        test_row.addWidget(self.random_button)
        test_row.addWidget(self.wrong_button)
        test_row.addStretch(1)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: fields under their labels
        form.addRow("Brush", self.brush)
        form.addRow("Unsure below", self.threshold)
        form.addRow("", edit_row)
        form.addRow("Save as", save_row)
        form.addRow("Test digit", test_row)

        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)

        right = QVBoxLayout()
        right.addWidget(self.model_label)
        right.addWidget(self.view)
        right.addWidget(line)
        right.addLayout(form)
        right.addStretch(1)

        top = QHBoxLayout()
        top.addWidget(self.pad, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(8)
        top.addLayout(right, 1)

        self.inspector_toggle = QToolButton()
        self.inspector_toggle.setText("Preprocessing steps")
        self.inspector_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.inspector_toggle.setCheckable(True)
        self.inspector_toggle.setChecked(True)
        self.inspector_toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.inspector_toggle.setAutoRaise(True)
        self.inspector_toggle.toggled.connect(self._on_inspector_toggle_toggled)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.inspector_toggle)
        layout.addWidget(self.inspector)
        layout.addWidget(self.status_label)
        layout.addStretch(1)

    # -- public API ---------------------------------------------------------------------
    def set_network(self, network: Network | None, name: str = "") -> None:
        """Read digits with ``network`` from now on (UI thread only); None: no model (the pad says so)."""
        self._reader = DigitReader(network) if network is not None else None
        self._network_name = name
        self._problem = self._reader.problem if self._reader is not None else None
        if network is None:
            self.model_label.setText("No model")
            self.pad.set_message("no model")
        elif self._problem:
            self.model_label.setText(f"Model: {name}" if name else "Model")
            self.pad.clear()  # the digit drawn for the previous model means nothing to this one
            self.pad.set_message("this model cannot read digits")
        else:
            self.model_label.setText(f"Model: {name}" if name else "Model")
            self.pad.set_message(None)
        self.wrong_button.setEnabled(network is not None and not self._problem and not self._waiting)
        self._classify()

    @property
    def network_problem(self) -> str | None:
        """Why the current network cannot read a 28x28 digit (None: it can, or there is none)."""
        return self._problem

    def network(self) -> Network | None:
        return self._reader.network if self._reader is not None else None

    def reading(self) -> Reading | None:
        """The last reading shown (None without a usable network)."""
        return self._reading

    def threshold_value(self) -> float:
        return float(self.threshold.value())

    # -- reading ------------------------------------------------------------------------
    def _classify(self) -> None:
        reader = self._reader
        if reader is None:
            self._reading = None
            self.view.set_message("no model: train or open one to read digits")
            self.inspector.set_reading(None)
            return
        if self._problem:
            self._reading = None
            self.view.set_message(f"cannot classify digits: {self._problem}")
            self.inspector.set_reading(None)
            return
        options = self.inspector.options()
        try:
            # The pad draws white ink on black: say so rather than guess from a border a big
            # digit may cover.
            reading = reader.read(
                self.pad.image(),
                self.threshold_value(),
                stages=self.inspector_toggle.isChecked(),
                background="dark",
                **options,
            )
        except Exception as exc:  # a model that fails on this input must not take the window down
            self._reading = None
            self.view.set_message(f"cannot classify: {type(exc).__name__}: {exc}")
            self.inspector.set_reading(None)
            return
        self._reading = reading
        self.view.set_reading(reading)
        if self.inspector_toggle.isChecked():
            self.inspector.set_reading(reading)

    def _on_pad_image_changed(self) -> None:
        self._classify()

    def _on_inspector_options_changed(self, _options: dict) -> None:
        self._classify()

    def _on_threshold_value_changed(self, _value: float) -> None:
        self._classify()

    def _on_brush_value_changed(self, value: int) -> None:
        self.pad.set_brush_width(value)

    def _on_inspector_toggle_toggled(self, shown: bool) -> None:
        self.inspector.setVisible(shown)
        self.inspector_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown:
            self._classify()

    # -- my handwriting -----------------------------------------------------------------
    def _on_save_clicked(self) -> None:
        reading = self._reading
        if reading is None or reading.image is None:
            self._say("nothing to save: draw a digit the pad can read first")
            return
        label = self.save_label.currentIndex()
        try:
            path = handwriting.save_sample(reading.image, label, self._handwriting_dir)
        except OSError as exc:
            self._say(f"could not save the sample: {exc}")
            return
        self._update_count()
        self._say(f"saved as {label}: {path}")

    def _update_count(self) -> None:
        try:
            n = handwriting.count_samples(self._handwriting_dir)
        except OSError:
            n = 0
        self.count_label.setText(f"{n} saved" if n else "")

    # -- test digits --------------------------------------------------------------------
    def _on_random_clicked(self) -> None:
        self._load_test_digit(wrong=False)

    def _on_wrong_clicked(self) -> None:
        self._load_test_digit(wrong=True)

    def _load_test_digit(self, wrong: bool) -> None:
        if self._waiting:
            return
        if wrong and (self._reader is None or self._problem):
            self._say("a test digit the model gets wrong needs a model that reads digits")
            return
        self._set_loading(True)
        self._say("loading an MNIST test digit…")
        self.test_digit_requested.emit(wrong)

    def _set_loading(self, loading: bool) -> None:
        self._waiting = loading
        self.random_button.setEnabled(not loading)
        usable = self._reader is not None and not self._problem
        self.wrong_button.setEnabled(not loading and usable)

    def show_test_digit(self, digit: dict) -> None:
        """Put a test digit on the pad: {"image": (28, 28) 0..1, "label", "index", "predicted"}."""
        self._set_loading(False)
        self.pad.set_image(digit["image"])
        text = f"MNIST test digit #{digit['index']}, labelled {digit['label']}"
        if digit.get("predicted") is not None:
            text += f"; on the raw test image the model says {digit['predicted']}"
        self._say(text)

    def show_test_digit_failed(self, message: str) -> None:
        self._set_loading(False)
        self._say(message)

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_message.emit(text)
