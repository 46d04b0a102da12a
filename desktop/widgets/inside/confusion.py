"""The confusion matrix of the test split, and a gallery of the samples behind a cell.

``show_confusion(matrix, class_names)`` draws the (K, K) counts (rows = true class);
clicking a cell emits ``cell_clicked(true, predicted)``; the window answers with
``show_gallery(true, predicted, items)``; clicking an image emits ``image_clicked(index)``
with the sample's index in the test split. ``compute_requested`` asks for a fresh matrix.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.inside.pictures import gray_pixmap

THUMB = 56
MAX_GALLERY = 120


class _Matrix(pg.ImageItem):
    clicked = None  # set by the view: a callable (row, col)

    def mouseClickEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton and self.image is not None:
            col, row = int(event.pos().x()), int(event.pos().y())
            if 0 <= row < self.image.shape[0] and 0 <= col < self.image.shape[1] and self.clicked:
                self.clicked(row, col)
            event.accept()


class _CellNumbers(pg.GraphicsObject):
    """The count in every cell, painted by one item in screen pixels (a font that does not scale
    with the plot). One item, not K*K TextItems: a hundred of those took ~80 ms to make, on the UI
    thread at the first epoch's end."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the cell below
        self.cells: list[tuple[int, int, str, bool]] = []  # (row, col, text, on a dark cell)
        self._size = 0

    def set_cells(self, cells: list[tuple[int, int, str, bool]], size: int) -> None:
        self.prepareGeometryChange()
        self.cells, self._size = cells, size
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return QRectF(0, 0, self._size, self._size)

    def paint(self, painter, *_args) -> None:
        to_screen = painter.transform()
        painter.resetTransform()
        white, black = QColor("white"), QColor("black")
        for row, col, text, dark in self.cells:
            centre = to_screen.map(QPointF(col + 0.5, row + 0.5))
            painter.setPen(white if dark else black)
            painter.drawText(
                QRectF(centre.x() - 40, centre.y() - 12, 80, 24), Qt.AlignmentFlag.AlignCenter, text
            )


class ConfusionView(QWidget):
    cell_clicked = Signal(int, int)  # (true class, predicted class)
    image_clicked = Signal(int)  # index in the test split
    compute_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        self.cell: tuple[int, int] | None = None
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.refresh = QPushButton("Compute on the test split")
        self.refresh.setToolTip("Classify the whole test split with the current weights")
        self.refresh.clicked.connect(self.compute_requested)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", "predicted class")
        self.plot.setLabel("left", "true class")
        self.image = _Matrix(axisOrder="row-major")
        self.image.clicked = lambda row, col: self.cell_clicked.emit(row, col)
        self.plot.addItem(self.image)
        self.legend = QLabel(
            "<span style='color:#2b6cb0'>■</span> diagonal: read correctly, darker = a larger share of "
            "the class · <span style='color:#dd6b20'>■</span> mistakes, darker = more of them"
        )
        self.numbers = _CellNumbers()  # the counts, when there are at most 12 classes
        self.plot.addItem(self.numbers)
        self.gallery_title = QLabel("Click a cell to see its images.")
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setSpacing(4)
        self.gallery.setToolTip("Click an image to put it on the pad")
        self.gallery.itemClicked.connect(
            lambda item: self.image_clicked.emit(int(item.data(Qt.ItemDataRole.UserRole)))
        )

        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.refresh)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.gallery_title)
        lower_layout.addWidget(self.gallery, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plot)
        split.addWidget(lower)
        split.setSizes([300, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.legend)
        layout.addWidget(split, 1)
        self.show_message("The confusion matrix fills after an epoch, or press Compute.")

    def show_message(self, text: str) -> None:
        self.caption.setText(text)

    def clear(self) -> None:
        self.matrix, self.cell = None, None
        self.image.clear()
        self.numbers.set_cells([], 0)
        self.gallery.clear()
        self.gallery_title.setText("Click a cell to see its images.")
        self.show_message("The confusion matrix fills after an epoch, or press Compute.")

    def show_confusion(self, matrix: np.ndarray, class_names: list[str], epoch_text: str = "") -> None:
        """(K, K) counts, rows = true class; each row is coloured by its share of that class."""
        self.matrix = np.asarray(matrix)
        k = len(self.matrix)
        rows = self.matrix.sum(axis=1, keepdims=True)
        share = np.divide(self.matrix, rows, out=np.zeros(self.matrix.shape), where=rows > 0)
        self.image.setImage(cell_colours(self.matrix, share), levels=(0, 255))
        names = [class_names[i] if i < len(class_names) else str(i) for i in range(k)]
        ticks = [[(i + 0.5, names[i]) for i in range(k)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        off = self.matrix[~np.eye(k, dtype=bool)]
        worst = max(int(off.max()) if off.size else 0, 1)
        cells = []
        for t, p in np.ndindex(k, k) if k <= 12 else ():
            dark = share[t, p] > 0.5 if t == p else self.matrix[t, p] > 0.6 * worst
            cells.append((t, p, str(int(self.matrix[t, p])), bool(dark)))
        self.numbers.set_cells(cells, k)
        total = int(self.matrix.sum())
        accuracy = np.trace(self.matrix) / total if total else 0.0
        self.caption.setText(
            f"{total:,} test samples{epoch_text}: {accuracy:.1%} on the diagonal (read correctly). "
            "Off the diagonal: mistakes. Click a cell to see its images."
        )

    def show_gallery(self, true: int, predicted: int, items: list[dict], count: int | None = None) -> None:
        """items: {"index", "image" (H, W) 0..1 or None, "text"} (at most MAX_GALLERY are shown)
        of the ``count`` samples in the cell."""
        self.cell = (true, predicted)
        self.gallery.clear()
        what = "read correctly" if true == predicted else f"read as {predicted}"
        count = len(items) if count is None else count
        shown = items[:MAX_GALLERY]
        more = f", the first {len(shown)} shown" if count > len(shown) else ""
        self.gallery_title.setText(
            f"True {true}, {what}: {count} test samples{more}. Click one to put it on the pad."
        )
        for item in shown:
            entry = QListWidgetItem(item["text"])
            if item.get("image") is not None:
                entry.setIcon(gray_pixmap(item["image"], THUMB))
            entry.setData(Qt.ItemDataRole.UserRole, int(item["index"]))
            entry.setToolTip(f"test sample #{item['index']}: {item['text']}")
            self.gallery.addItem(entry)


CORRECT = np.array((43, 108, 176), np.float32)  # blue
MISTAKE = np.array((221, 107, 32), np.float32)  # orange


def cell_colours(matrix: np.ndarray, share: np.ndarray) -> np.ndarray:
    """(K, K) counts -> (K, K, 3) uint8: the diagonal blue by its share of the class, mistakes
    orange by their count against the largest mistake (so a few errors still show)."""
    k = len(matrix)
    diagonal = np.eye(k, dtype=bool)
    off = matrix[~diagonal]
    worst = max(float(off.max()) if off.size else 0.0, 1.0)
    strength = np.where(diagonal, share, np.sqrt(matrix / worst) * 0.85)[..., None]
    colour = np.where(diagonal[..., None], CORRECT, MISTAKE)
    return (255 - (255 - colour) * strength).astype(np.uint8)
