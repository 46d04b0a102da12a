"""A 280x280 canvas to draw one digit on with the mouse or a pen: white ink on black, like MNIST."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QWidget

SIDE = 280
DEFAULT_BRUSH = 18.0
EMIT_INTERVAL_MS = 33  # at most ~30 image_changed signals a second while a stroke goes on


@dataclass
class Stroke:
    """One press-move-release: canvas points (pixels) drawn with one brush width."""

    width: float
    points: list[QPointF] = field(default_factory=list)

    def path(self) -> QPainterPath:
        path = QPainterPath(self.points[0])
        for p in self.points[1:]:
            path.lineTo(p)
        return path


class DrawPad(QWidget):
    """Draw a digit; ``image()`` gives it as (280, 280) float32, 0..1, 1 = ink.

    Left button (or a pen, which Qt delivers as mouse events) draws round-capped anti-aliased
    strokes; right-click or Esc clears; Ctrl+Z undoes the last stroke. ``set_image`` shows a given
    picture instead (e.g. an MNIST test digit) and forgets the strokes.

    Signals:
        image_changed(): the picture changed; throttled to ~30/s while drawing, and always
            emitted at the end of a stroke, on clear, undo and ``set_image``.
    """

    image_changed = Signal()

    def __init__(self, parent: QWidget | None = None, brush_width: float = DEFAULT_BRUSH) -> None:
        super().__init__(parent)
        self.setFixedSize(SIDE, SIDE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit. Right-click or Esc clears, Ctrl+Z undoes the last stroke.")
        self._brush = float(brush_width)
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._background: QImage | None = None  # from set_image; strokes are drawn over it
        self._canvas = self._blank()
        self._message: str | None = None
        self._pending = False  # changed since the last image_changed
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(EMIT_INTERVAL_MS)
        self._throttle.timeout.connect(self._on_throttle_timeout)

    # -- public API ---------------------------------------------------------------------
    def image(self) -> np.ndarray:
        """The canvas as (280, 280) float32 in 0..1, 1 = ink (a new array)."""
        img = self._canvas
        rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        return rows[:, : img.width()].astype(np.float32) * np.float32(1 / 255)

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None and self._background is None

    def stroke_count(self) -> int:
        return len(self._strokes)

    def brush_width(self) -> float:
        return self._brush

    def set_brush_width(self, width: float) -> None:
        """Width in canvas pixels of the strokes drawn from now on (earlier ones keep theirs)."""
        if not width > 0:
            raise ValueError(f"brush width must be > 0, got {width!r}")
        self._brush = float(width)

    def clear(self) -> None:
        """Remove every stroke and any image set with ``set_image``."""
        self._strokes.clear()
        self._current = None
        self._background = None
        self._render()
        self._emit_now()

    def undo(self) -> bool:
        """Remove the last finished stroke; False when there was none."""
        if not self._strokes:
            return False
        self._strokes.pop()
        self._render()
        self._emit_now()
        return True

    def set_image(self, image: np.ndarray) -> None:
        """Show a 2-D picture (0..1, 1 = ink, any size: scaled to the pad), replacing the strokes."""
        a = np.asarray(image, dtype=np.float32)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"image must be a non-empty 2-D array, got shape {a.shape}")
        pixels = np.ascontiguousarray(np.rint(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8))
        h, w = pixels.shape
        small = QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()  # own the bytes
        self._background = small.scaled(
            SIDE, SIDE, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self._strokes.clear()
        self._current = None
        self._render()
        self._emit_now()

    def set_message(self, text: str | None) -> None:
        """A note drawn over the canvas (e.g. "no model"); None removes it. Drawing still works."""
        self._message = text
        self.update()

    def message(self) -> str | None:
        return self._message

    # -- rendering ----------------------------------------------------------------------
    @staticmethod
    def _blank() -> QImage:
        img = QImage(SIDE, SIDE, QImage.Format.Format_Grayscale8)
        img.fill(0)
        return img

    def _pen(self, width: float) -> QPen:
        return QPen(
            QColor(255, 255, 255),
            width,
            Qt.PenStyle.SolidLine,
            Qt.PenCapStyle.RoundCap,
            Qt.PenJoinStyle.RoundJoin,
        )

    def _paint_stroke(self, painter: QPainter, stroke: Stroke) -> None:
        painter.setPen(self._pen(stroke.width))
        if len(stroke.points) == 1:
            painter.drawPoint(stroke.points[0])  # a click: a round dot
        else:
            painter.drawPath(stroke.path())

    def _render(self) -> None:
        """Re-draw the canvas from the background and the stroke list."""
        self._canvas = self._background.copy() if self._background is not None else self._blank()
        painter = QPainter(self._canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for stroke in self._strokes:
            self._paint_stroke(painter, stroke)
        if self._current is not None:
            self._paint_stroke(painter, self._current)
        painter.end()
        self.update()

    def _extend_current(self, point: QPointF) -> None:
        """Add a point to the stroke in progress, drawing only the new segment."""
        stroke = self._current
        last = stroke.points[-1]
        stroke.points.append(point)
        painter = QPainter(self._canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen(stroke.width))
        painter.drawLine(last, point)
        painter.end()
        half = stroke.width / 2 + 2
        self.update(QRectF(last, point).normalized().adjusted(-half, -half, half, half).toAlignedRect())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self._canvas)
        painter.setPen(QColor(90, 90, 90))
        painter.drawRect(0, 0, SIDE - 1, SIDE - 1)
        text = self._message or ("draw a digit" if self.is_empty() else None)
        if text and not self.is_empty():  # never over a digit: a band at the top, the digit below it
            band = self.rect().adjusted(1, 1, -1, 0)
            band.setHeight(30)
            painter.fillRect(band, QColor(40, 40, 40))
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(band, Qt.AlignmentFlag.AlignCenter, text)
        elif text:
            painter.setPen(QColor(150, 150, 150) if self._message else QColor(110, 110, 110))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(16, 16, -16, -16), flags, text)
        painter.end()

    # -- signals ------------------------------------------------------------------------
    def _changed_while_drawing(self) -> None:
        self._pending = True
        if not self._throttle.isActive():
            self._throttle.start()

    def _on_throttle_timeout(self) -> None:
        if self._pending:
            self._pending = False
            self.image_changed.emit()

    def _emit_now(self) -> None:
        self._throttle.stop()
        self._pending = False
        self.image_changed.emit()

    # -- input --------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self._current = None
            self.clear()
        elif event.button() == Qt.MouseButton.LeftButton:
            self._current = Stroke(self._brush, [event.position()])
            self._render()  # shows the dot under the pointer at once
            self._changed_while_drawing()
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is None or not event.buttons() & Qt.MouseButton.LeftButton:
            super().mouseMoveEvent(event)
            return
        point = event.position()
        if point != self._current.points[-1]:
            self._extend_current(point)
            self._changed_while_drawing()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._current is None:
            super().mouseReleaseEvent(event)
            return
        point = event.position()
        if point != self._current.points[-1]:
            self._current.points.append(point)
        self._strokes.append(self._current)
        self._current = None
        self._render()  # the whole path once, with clean joins
        self._emit_now()
        event.accept()

    def event(self, event: QEvent) -> bool:
        # Claim Esc and Ctrl+Z before a window-wide shortcut (an Undo action, a dialog) takes them.
        if event.type() == QEvent.Type.ShortcutOverride and self._is_own_key(event):
            event.accept()
            return True
        return super().event(event)

    @staticmethod
    def _is_own_key(event: QKeyEvent) -> bool:
        return event.key() == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.Undo)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def __repr__(self) -> str:
        return f"DrawPad({len(self._strokes)} strokes, brush {self._brush:g}px)"
