"""The palette of layer types: drag one into the network drawing, or double-click to add it.

Each type is shown with the colour its block has in the drawing (activations with their
curve), so the palette is also the drawing's colour legend. A drag carries the type name
as ``MIME_LAYER``; the drawing decides where it goes.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from desktop.widgets.network_canvas import MIME_LAYER
from desktop.widgets.network_view import OUTLINE, activation_path, kind_colour

ICON = 18
ACTIVATION_TYPES = {"relu", "leaky_relu", "sigmoid", "tanh", "softmax", "linear"}
HINTS = {
    "dense": "every input joined to every unit (units, activation)",
    "conv2d": "filters slid over an image (filters, kernel size, stride, padding)",
    "maxpool2d": "the largest value of each window: halves an image with pool size 2",
    "avgpool2d": "the mean of each window",
    "batchnorm": "normalises each channel over the batch",
    "flatten": "an image as one long vector, for a dense layer after it",
    "dropout": "zeroes a fraction of the values while training",
    "reshape": "the values in a new shape",
}


def layer_icon(kind: str) -> QIcon:
    """A small block in the drawing's colour for ``kind``."""
    pixmap = QPixmap(ICON * 2, ICON * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(OUTLINE, 1.0))
    p.setBrush(kind_colour(kind))
    thin = kind in ACTIVATION_TYPES or kind in ("flatten", "reshape", "dropout", "maxpool2d", "avgpool2d")
    width = 9.0 if thin else 13.0
    p.drawRoundedRect(QRectF((ICON - width) / 2, 1.5, width, ICON - 3), 3, 3)
    path = activation_path(kind) if kind in ACTIVATION_TYPES and kind != "softmax" else None
    if path:
        c, s = QPointF(ICON / 2, ICON / 2), 5.0
        curve = QPainterPath(QPointF(c.x() + path[0][0] * s, c.y() - path[0][1] * s))
        for x, y in path[1:]:
            curve.lineTo(c.x() + x * s, c.y() - y * s)
        p.setPen(QPen(QColor(74, 85, 104), 1.2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(curve)
    p.end()
    return QIcon(pixmap)


class LayerPalette(QListWidget):
    """One item per layer type; emits ``type_activated(kind)`` on double-click or Enter."""

    type_activated = Signal(str)

    def __init__(self, kinds: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setIconSize(QSize(ICON, ICON))
        self.setUniformItemSizes(True)
        self.setToolTip(
            "Drag a layer type into the drawing, or double-click it to add it after the selection"
        )
        for kind in kinds:
            item = QListWidgetItem(layer_icon(kind), kind)
            item.setData(Qt.ItemDataRole.UserRole, kind)
            hint = HINTS.get(kind, "an activation as a layer of its own" if kind in ACTIVATION_TYPES else "")
            item.setToolTip(f"{kind}: {hint}" if hint else kind)
            self.addItem(item)
        self.setCurrentRow(-1)  # nothing looks chosen before the hand picks a type
        self.itemActivated.connect(lambda item: self.type_activated.emit(item.data(Qt.ItemDataRole.UserRole)))
        width = max(self.sizeHintForColumn(0), 80) + 2 * self.frameWidth() + 6
        width += self.verticalScrollBar().sizeHint().width()  # a short window scrolls the list
        self.setFixedWidth(width)

    def kinds(self) -> list[str]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def mimeTypes(self) -> list[str]:
        return [MIME_LAYER]

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:
        data = QMimeData()
        if items:
            kind = items[0].data(Qt.ItemDataRole.UserRole)
            data.setData(MIME_LAYER, kind.encode("utf-8"))
            data.setText(kind)
        return data
