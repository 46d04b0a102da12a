"""What the network read: the big label, the top-3 probabilities and the 28x28 image it received."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from netcore.digits import Reading

TOP_K = 3
INPUT_VIEW = 112  # the 28x28 input drawn at 4x, nearest-neighbour


def gray_pixmap(image: np.ndarray, size: QSize | None = None, smooth: bool = False) -> QPixmap:
    """A pixmap of a 2-D 0..1 image (1 = white), optionally scaled to fit ``size`` keeping the aspect."""
    pixels = np.ascontiguousarray(np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))
    h, w = pixels.shape
    qimage = QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if size is not None:
        modes = Qt.TransformationMode
        mode = modes.SmoothTransformation if smooth else modes.FastTransformation
        qimage = qimage.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return QPixmap.fromImage(qimage)


class ProbabilityBars(QWidget):
    """Horizontal bars for the most probable classes: "7 [#######   ] 93%"."""

    ROW = 24

    def __init__(self, parent: QWidget | None = None, rows: int = TOP_K) -> None:
        super().__init__(parent)
        self._rows = rows
        self._items: list[tuple[str, float]] = []
        self._highlight = False
        self.setMinimumWidth(120)
        self.setFixedHeight(rows * self.ROW)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_items(self, items: list[tuple[str, float]], highlight: bool = True) -> None:
        """(class name, probability) pairs, most probable first; ``highlight`` colours the first bar."""
        self._items = items[: self._rows]
        self._highlight = highlight
        self.update()

    def items(self) -> list[tuple[str, float]]:
        return list(self._items)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        track = palette.color(QPalette.ColorRole.Mid)
        track.setAlpha(70)
        metrics = painter.fontMetrics()
        names = [n for n, _ in self._items] + ["0"]
        name_w = max(metrics.horizontalAdvance(n) for n in names)
        pct_w = metrics.horizontalAdvance("100%")
        bar_x = name_w + 10
        bar_w = max(10, self.width() - bar_x - pct_w - 10)
        for row, (name, p) in enumerate(self._items):
            top = row * self.ROW
            bar = QRectF(bar_x, top + 5, bar_w, self.ROW - 10)
            painter.setPen(text_colour)
            text_rect = QRectF(0, top, name_w, self.ROW)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(track)
            painter.drawRoundedRect(bar, 3, 3)
            colour = QColor(46, 139, 87) if row == 0 and self._highlight else QColor(110, 130, 160)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(bar.x(), bar.y(), bar.width() * float(p), bar.height()), 3, 3)
            painter.setPen(text_colour)
            pct_rect = QRectF(bar.right() + 6, top, pct_w + 4, self.ROW)
            painter.drawText(pct_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{p:.0%}")
        painter.end()


class PredictionView(QWidget):
    """Shows a ``Reading``: the predicted label (or "?" and why), top-3 bars, the network's input.

    Methods: ``set_reading(reading)``, ``set_message(text)`` (no reading at all, e.g. no model),
    ``headline()`` / ``detail()`` / ``top_classes()`` for what is on screen.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reading: Reading | None = None

        self._label = QLabel("?")
        font = QFont(self.font())
        font.setPointSize(54)
        font.setBold(True)
        self._label.setFont(font)
        self._label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._label.setMinimumWidth(70)

        self._detail = QLabel()
        self._detail.setWordWrap(True)
        self._detail.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._detail.setMinimumHeight(2 * self.fontMetrics().lineSpacing())
        self._detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._bars = ProbabilityBars()

        self._input = QLabel()
        self._input.setFixedSize(INPUT_VIEW + 2, INPUT_VIEW + 2)
        self._input.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._input.setStyleSheet("background: black; border: 1px solid #555;")
        self._input.setToolTip("The 28x28 image the network received (its input), drawn at 4x")
        input_caption = QLabel("input 28x28")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        input_caption.setEnabled(False)  # dimmed: a caption, not content

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self._label, 0, 0, 2, 1)
        right = QVBoxLayout()
        right.addWidget(self._bars)
        right.addWidget(self._detail)
        right.addStretch(1)
        grid.addLayout(right, 0, 1, 2, 1)
        grid.addWidget(self._input, 0, 2, Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(input_caption, 1, 2, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        self.set_reading(None)

    def reading(self) -> Reading | None:
        return self._reading

    def set_reading(self, reading: Reading | None) -> None:
        """Show ``reading``; None shows an empty view."""
        self._reading = reading
        if reading is None:
            self._show("?", "", [], None)
            return
        probs = np.asarray(reading.probabilities, dtype=np.float64)
        order = np.argsort(-probs, kind="stable")[:TOP_K]
        top = [(str(int(k)), float(probs[k])) for k in order]
        if reading.label is not None:
            detail = f"{reading.confidence:.0%} sure"
            self._show(str(reading.label), detail, top, reading.image)
        else:
            self._show("?", reading.reason or "", top, reading.image)

    def set_message(self, text: str) -> None:
        """No reading to show, only a sentence (e.g. "no model: train or open one")."""
        self._reading = None
        self._show("–", text, [], None)

    def headline(self) -> str:
        """The big text: the predicted digit, "?" when there is no label, "–" with only a message."""
        return self._label.text()

    def detail(self) -> str:
        """The sentence under the bars: confidence, or why there is no label."""
        return self._detail.text()

    def top_classes(self) -> list[tuple[str, float]]:
        return self._bars.items()

    def _show(self, headline: str, detail: str, top: list[tuple[str, float]], image) -> None:
        self._label.setText(headline)
        self._label.setEnabled(headline not in ("?", "–"))
        self._detail.setText(detail)
        self._bars.set_items(top, highlight=self._reading is not None and self._reading.label is not None)
        if image is None:
            self._input.clear()
        else:
            self._input.setPixmap(gray_pixmap(image, QSize(INPUT_VIEW, INPUT_VIEW)))
