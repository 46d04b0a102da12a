"""Pictures as Qt sees them: a (C, H, W) 0..1 array as a pixmap, and image files dropped on a widget.

``picture_pixmap`` draws grey (C = 1) or colour (C = 3) arrays, scaled with nearest-neighbour so
that a 32x32 input shows its pixels. ``PictureDrop`` makes any widget take dropped image files
and emits ``dropped(path)``; it never opens the file (the controller reads it off the UI thread).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QWidget

from netcore.data.images import EXTENSIONS


def picture_pixmap(image: np.ndarray, side: int) -> QPixmap:
    """A pixmap of ``image`` (C, H, W) in 0..1 (C = 1 grey, 3 RGB), its longer side ``side`` px."""
    a = np.asarray(image, np.float32)
    if a.ndim == 2:
        a = a[None]
    pixels = np.rint(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    c, h, w = pixels.shape
    if c == 1:
        data = np.ascontiguousarray(pixels[0])
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    else:
        data = np.ascontiguousarray(pixels[:3].transpose(1, 2, 0))
        qimage = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    scale = max(1, side // max(h, w))
    mode = Qt.TransformationMode.FastTransformation  # nearest: the pixels the network gets
    return QPixmap.fromImage(qimage.scaled(w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio, mode))


def picture_paths(mime: QMimeData) -> list[str]:
    """The local image files (by suffix: PNG, JPEG, BMP, GIF) among the dropped URLs."""
    if not mime.hasUrls():
        return []
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if Path(p).suffix.lower() in EXTENSIONS]


class PictureDrop(QObject):
    """Accept image files dropped on the ``targets``; ``dropped(path)`` for the first one."""

    dropped = Signal(str)

    def __init__(self, parent: QObject, *targets: QWidget) -> None:
        super().__init__(parent)
        for target in targets:
            self.watch(target)

    def watch(self, target: QWidget) -> None:
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if picture_paths(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            if paths := picture_paths(event.mimeData()):
                event.acceptProposedAction()
                self.dropped.emit(paths[0])
                return True
        return False
