"""The digit pad tab: draw (or load) a digit, see what the network reads and how it got there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
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

from desktop import handwriting
from desktop.widgets.drawpad import DEFAULT_BRUSH, DrawPad
from desktop.widgets.inspector import PreprocessInspector
from desktop.widgets.prediction import PredictionView
from netcore.data.dataset import DataError
from netcore.data.mnist import load_mnist
from netcore.digits import Reading, classify_image, digit_input_problem
from netcore.network import Network

DEFAULT_THRESHOLD = 0.6


# ------------------------------------------------------------------------ test digits, off the UI thread


@dataclass(frozen=True)
class MnistPick:
    """One MNIST test image picked by the loader, plus the test set to keep for the next pick."""

    image: np.ndarray  # (28, 28) 0..1
    label: int
    index: int
    predicted: int | None  # what the network said on the raw test image (when asked for a wrong one)
    x_test: np.ndarray  # (N, 1, 28, 28)
    y_test: np.ndarray  # (N,)
    data_dir: str | None


class _LoaderSignals(QObject):
    loaded = Signal(object)  # MnistPick
    failed = Signal(str)


class MnistPickJob(QRunnable):
    """Loads MNIST's test set (unless given) and picks a digit: any, or one ``network`` gets wrong.

    ``network`` must be a private copy: the pad keeps using the original on the UI thread.
    """

    def __init__(
        self,
        data_dir: str | None,
        cached: tuple[np.ndarray, np.ndarray] | None,
        network: Network | None,
        seed: int,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the panel owns it (and its signals) until it reports back
        self.signals = _LoaderSignals()
        self.data_dir, self.cached, self.network, self.seed = data_dir, cached, network, seed

    def run(self) -> None:
        try:
            self.signals.loaded.emit(self._pick())
        except DataError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a worker must report, never die silently
            self.signals.failed.emit(f"could not load a test digit: {type(exc).__name__}: {exc}")

    def _pick(self) -> MnistPick:
        if self.cached is not None:
            x, y = self.cached
        else:
            dataset = load_mnist(self.data_dir, download=False)
            x, y = dataset.x_test, dataset.y_test
        rng = np.random.default_rng(self.seed)
        predicted = None
        if self.network is None:
            index = int(rng.integers(len(x)))
        else:
            guesses = self.network.predict(x).argmax(axis=1)
            wrong = np.flatnonzero(guesses != y)
            if wrong.size == 0:
                raise DataError("the model reads every MNIST test digit correctly: none to show")
            index = int(rng.choice(wrong))
            predicted = int(guesses[index])
        return MnistPick(x[index].reshape(28, 28), int(y[index]), index, predicted, x, y, self.data_dir)


def _private_copy(network: Network) -> Network:
    """The same network with its own buffers, safe to run on another thread."""
    twin = Network(network.spec, dtype=network.dtype)
    twin.load_state_dict(network.state_dict())
    return twin


# ------------------------------------------------------------------------ the panel


class DigitPanel(QWidget):
    """Draw pad + prediction + preprocessing inspector + controls.

    Signals:
        status_message(str): one line for the main window's status bar.
    Methods: ``set_network(network, name)``, ``set_data_dir(path)``, ``reading()``,
    ``network_problem``; children ``pad``, ``view``, ``inspector`` are public for the window/tests.
    """

    status_message = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        data_dir: str | os.PathLike | None = None,
        handwriting_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(parent)
        self._network: Network | None = None
        self._network_name = ""
        self._problem: str | None = None
        self._reading: Reading | None = None
        self._data_dir = None if data_dir is None else str(data_dir)
        self._handwriting_dir = None if handwriting_dir is None else Path(handwriting_dir)
        self._test_set: tuple[np.ndarray, np.ndarray] | None = None
        self._job: MnistPickJob | None = None  # strong reference while it runs
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._rng = np.random.default_rng()

        self.pad = DrawPad()
        self.view = PredictionView()
        self.inspector = PreprocessInspector()
        self._build()

        self.pad.image_changed.connect(self._on_pad_image_changed)
        self.inspector.options_changed.connect(self._on_inspector_options_changed)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
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
        """Read digits with ``network`` from now on; None: no model (the pad says so)."""
        self._network = network
        self._network_name = name
        self._problem = digit_input_problem(network) if network is not None else None
        if network is None:
            self.model_label.setText("No model")
            self.pad.set_message("no model")
        elif self._problem:
            self.model_label.setText(f"Model: {name}" if name else "Model")
            self.pad.set_message("this model cannot read digits")
        else:
            self.model_label.setText(f"Model: {name}" if name else "Model")
            self.pad.set_message(None)
        self.wrong_button.setEnabled(network is not None and not self._problem and self._job is None)
        self._classify()

    @property
    def network_problem(self) -> str | None:
        """Why the current network cannot read a 28x28 digit (None: it can, or there is none)."""
        return self._problem

    def network(self) -> Network | None:
        return self._network

    def set_data_dir(self, path: str | os.PathLike | None) -> None:
        """Where MNIST is looked for (its ``mnist/`` subfolder); None: the default data folder."""
        new = None if path is None else str(path)
        if new != self._data_dir:
            self._data_dir = new
            self._test_set = None

    def reading(self) -> Reading | None:
        """The last reading shown (None without a usable network)."""
        return self._reading

    def threshold_value(self) -> float:
        return float(self.threshold.value())

    def shutdown(self) -> None:
        """Wait for a running test-digit load (called on close and when the app quits)."""
        self._pool.waitForDone()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- reading ------------------------------------------------------------------------
    def _classify(self) -> None:
        network = self._network
        if network is None:
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
            reading = classify_image(
                network, self.pad.image(), self.threshold_value(), background="dark", **options
            )
        except Exception as exc:  # a model that fails on this input must not take the window down
            self._reading = None
            self.view.set_message(f"cannot classify: {type(exc).__name__}: {exc}")
            self.inspector.set_reading(None)
            return
        self._reading = reading
        self.view.set_reading(reading)
        if self.inspector_toggle.isChecked():
            self.inspector.set_reading(reading, network)

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
        if self._job is not None:
            return
        network = None
        if wrong:
            if self._network is None or self._problem:
                self._say("a test digit the model gets wrong needs a model that reads digits")
                return
            network = _private_copy(self._network)
        job = MnistPickJob(self._data_dir, self._test_set, network, int(self._rng.integers(2**31)))
        job.signals.loaded.connect(self._on_job_loaded)
        job.signals.failed.connect(self._on_job_failed)
        self._job = job
        self._set_loading(True)
        if self._test_set is None:
            self._say("loading MNIST test digits…")
        self._pool.start(job)

    def _set_loading(self, loading: bool) -> None:
        self.random_button.setEnabled(not loading)
        usable = self._network is not None and not self._problem
        self.wrong_button.setEnabled(not loading and usable)

    def _on_job_loaded(self, digit: MnistPick) -> None:
        self._job = None
        self._set_loading(False)
        if digit.data_dir == self._data_dir:
            self._test_set = (digit.x_test, digit.y_test)
        self.pad.set_image(digit.image)
        text = f"MNIST test digit #{digit.index}, labelled {digit.label}"
        if digit.predicted is not None:
            text += f"; on the raw test image the model says {digit.predicted}"
        self._say(text)

    def _on_job_failed(self, message: str) -> None:
        self._job = None
        self._set_loading(False)
        self._say(message)

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_message.emit(text)
