"""The network drawn as a diagram: the input, then one column per layer.

Small flat layers are columns of neurons joined by their connections, coloured
by the sign of the weight (blue positive, orange negative) and drawn thicker and
more opaque the larger it is. Everything else is a block whose height grows with
the number of values it outputs; parameter-free layers are thinner blocks.

The view knows nothing about specs or the engine: the designer hands it a list
of ``Column`` descriptions and, while training, the small weight matrices.
Columns are as wide as their labels need, so labels never overlap: a deep network
grows wider than the window (the designer scrolls it) or is zoomed out to fit;
``zoom`` scales the whole drawing. Dense and conv columns carry +/- buttons
(``Column.stepper``); ``EditableNetworkView`` (network_canvas.py) adds the editing
gestures on top of this drawing.
Geometry is computed on resize or when the columns change, weight colours when
weights arrive, and the drawing is rendered once into a cached pixmap, so a
repaint is a blit. Connection pens are opaque (the colour mixed with white):
translucent wide antialiased lines cost ~0.4 ms each in Qt's raster engine,
~190 ms for a 16-16-16-3 network, against ~25 ms opaque.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

MAX_NEURONS = 16  # flat layers up to this size are drawn neuron by neuron

POSITIVE = QColor(37, 99, 235)  # blue
NEGATIVE = QColor(234, 88, 12)  # orange
UNTRAINED = QColor(196, 201, 209)  # opaque: see the module docstring
INVALID = QColor(197, 48, 48)
INVALID_FILL = QColor(254, 226, 226)
OUTLINE = QColor(74, 85, 104)
SELECTED_FILL = QColor(219, 234, 254)
SELECTED_EDGE = QColor(96, 165, 250)
TEXT = QColor(45, 55, 72)
MUTED = QColor(113, 128, 150)
BLOCK_FILLS = {
    "input": QColor(226, 232, 240),
    "dense": QColor(191, 219, 254),
    "conv2d": QColor(221, 214, 254),
    "maxpool2d": QColor(254, 240, 138),
    "avgpool2d": QColor(254, 240, 138),
    "batchnorm": QColor(167, 243, 208),
    "dropout": QColor(254, 205, 211),
    "flatten": QColor(229, 231, 235),
    "reshape": QColor(229, 231, 235),
}
ACTIVATION_FILL = QColor(253, 230, 138)  # relu, sigmoid, ... as layers of their own
NEURON_FILL = QColor(255, 255, 255)
INPUT_NEURON_FILL = QColor(237, 242, 247)

BLOCK_WIDTH = 46.0
THIN_WIDTH = 24.0
NEURON_SLOT = 70.0  # room for the labels under a neuron column
MIN_GAP = 22.0
MAX_GAP = 150.0
MARGIN = 16.0
TOP = 46.0  # layer numbers, then the +/- buttons, above the columns
STEPPER = 17.0  # diameter of a +/- button
LABEL_PAD = 10.0  # room beside a column's widest label
ZOOMS = (0.35, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0)
BOTTOM = 52.0  # up to three label lines under the columns


@dataclass(frozen=True)
class Column:
    """What the view needs to draw one column (the input or a layer)."""

    index: int  # layer index (0-based); -1 for the input
    kind: str  # "input", "dense", "conv2d", ...
    shape: str  # output shape as text, "?" when unknown
    size: int = 0  # number of output values (block height); 0 when unknown
    neurons: int | None = None  # draw this many circles instead of a block
    thin: bool = False  # parameter-free: a narrower block
    activation: str | None = None  # fused activation, shown under the column
    invalid: bool = False
    unknown: bool = False  # after an invalid layer: its shapes are not known
    stepper: str | None = None  # "units" or "filters": draw +/- buttons for it


def kind_colour(kind: str) -> QColor:
    """The fill a block of this layer type is drawn with (also the palette's and legend's)."""
    return QColor(BLOCK_FILLS.get(kind, ACTIVATION_FILL))


@dataclass
class _Geometry:
    column: Column
    x: float  # centre
    slot: QRectF  # the clickable strip, also the selection highlight
    body: QRectF  # the block, or the box around the neurons
    centres: list[QPointF]
    minus: QRectF | None = None  # the +/- buttons, when the column has them
    plus: QRectF | None = None


def activation_path(name: str | None) -> list[tuple[float, float]] | None:
    """A tiny plot of the activation in [-1, 1]^2 (y up), drawn inside a neuron."""
    xs = np.linspace(-1.0, 1.0, 11)
    if name == "sigmoid":
        ys = np.tanh(3.0 * xs)  # the S shape, squeezed to fit the circle
    elif name == "tanh":
        ys = np.tanh(2.5 * xs)
    elif name == "relu":
        ys = np.maximum(xs, 0.0) * 1.6 - 0.6
    elif name == "leaky_relu":
        ys = np.where(xs > 0, xs * 1.6, xs * 0.25) - 0.6
    elif name in (None, "linear", "none"):
        ys = xs * 0.8
    else:
        return None
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


class NetworkView(QWidget):
    """Draws columns; emits ``layer_clicked(index)`` (-1 for the input), ``neuron_hovered(layer,
    unit)`` as the pointer enters a drawn neuron ((-2, -1) when it leaves every neuron) and
    ``neuron_clicked(layer, unit)`` (the Inside area's per-neuron maps)."""

    layer_clicked = Signal(int)
    neuron_hovered = Signal(int, int)
    neuron_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(220)
        self._columns: list[Column] = []
        self._selected = -2  # -2: nothing; -1: the input
        self._weights: dict[int, np.ndarray] = {}
        # Per layer: (pen, from neuron, to neuron), faintest first so strong lines end on top.
        self._pens: dict[int, list[tuple[QPen, int, int]]] = {}
        self._cache: QPixmap | None = None
        self._geometry: list[_Geometry] = []
        self._radius = 12.0
        self._font = QFont(self.font())
        self._font.setPointSizeF(8.5)
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._zoom = 1.0
        self._hovered_neuron: tuple[int, int] | None = None
        self.setMouseTracking(True)

    # -- data -----------------------------------------------------------------------------
    def set_columns(self, columns: list[Column]) -> None:
        self._columns = list(columns)
        self._recolour()
        self._relayout()
        self.updateGeometry()
        self._invalidate()

    def columns(self) -> list[Column]:
        return list(self._columns)

    def set_selected(self, index: int) -> None:
        """Highlight layer ``index`` (-1 the input, -2 nothing)."""
        if index != self._selected:
            self._selected = index
            self._invalidate()

    def set_weights(self, weights: dict[int, np.ndarray]) -> None:
        """Weight matrices W (D_in, units) keyed by layer index; {} forgets them.

        Only the matrices between two neuron columns are drawn; the caller may pass
        just those.
        """
        self._weights = dict(weights)
        self._recolour()
        self._invalidate()

    def _invalidate(self) -> None:
        self._cache = None
        self.update()

    def weighted_connection_count(self) -> int:
        """How many connections are drawn with a trained weight's colour."""
        return sum(len(pens) for pens in self._pens.values())

    def column_rect(self, index: int) -> QRectF:
        """The clickable strip of layer ``index`` (-1 the input) in widget pixels, or an empty rect."""
        geo = self._geo(index)
        return self._to_widget(geo.slot) if geo else QRectF()

    def body_rect(self, index: int) -> QRectF:
        """The block (or the box around the neurons) of a column, in widget pixels."""
        geo = self._geo(index)
        return self._to_widget(geo.body) if geo else QRectF()

    def stepper_rects(self, index: int) -> tuple[QRectF, QRectF] | None:
        """The (minus, plus) buttons of a column in widget pixels, or None if it has none."""
        geo = self._geo(index)
        if geo is None or geo.minus is None or geo.plus is None:
            return None
        return self._to_widget(geo.minus), self._to_widget(geo.plus)

    def gap_x(self, gap: int) -> float:
        """Where a layer inserted before layer ``gap`` (``len`` = at the end) is drawn, in pixels."""
        layers = [g for g in self._geometry if g.column.index >= 0]
        if not self._geometry:
            return 0.0
        if gap < len(layers):
            x = layers[gap].slot.left()
        else:
            x = self._geometry[-1].slot.right() - MIN_GAP / 2
        return x * self._zoom

    def _geo(self, index: int) -> _Geometry | None:
        for geo in self._geometry:
            if geo.column.index == index:
                return geo
        return None

    def _to_widget(self, r: QRectF) -> QRectF:
        z = self._zoom
        return QRectF(r.left() * z, r.top() * z, r.width() * z, r.height() * z)

    # -- zoom -----------------------------------------------------------------------------
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float) -> None:
        """Scale the drawing (1.0: labels at their normal size)."""
        zoom = max(ZOOMS[0], min(ZOOMS[-1], zoom))
        if zoom != self._zoom:
            self._zoom = zoom
            self.updateGeometry()
            self._relayout()
            self._invalidate()

    def natural_width(self) -> float:
        """The width the drawing needs at zoom 1 with the smallest gaps."""
        widths = sum(self._width_of(c) for c in self._columns)
        return widths + MIN_GAP * max(len(self._columns) - 1, 0) + 2 * MARGIN

    def fit_zoom(self, width: float) -> float:
        """The zoom at which the whole drawing fits ``width`` pixels (never above 1)."""
        return max(ZOOMS[0], min(1.0, width / max(self.natural_width(), 1.0)))

    # -- hit tests (widget pixels) ----------------------------------------------------------
    def column_at(self, pos: QPointF, tight: bool = False) -> int | None:
        """The column under ``pos`` (-1 the input), or None on the background.

        Every point belongs to the nearest column's strip, unless ``tight``: then only the
        column itself and its labels do (a right-click between columns is the background's).
        """
        x = pos.x() / self._zoom
        for geo in self._geometry:
            half = min(geo.slot.width(), self._width_of(geo.column) + 20) / 2 if tight else None
            left, right = (geo.x - half, geo.x + half) if half else (geo.slot.left(), geo.slot.right())
            if left <= x < right:
                return geo.column.index
        return None

    def stepper_at(self, pos: QPointF) -> tuple[int, int] | None:
        """(layer index, -1 or +1) when ``pos`` is on a +/- button."""
        p = QPointF(pos.x() / self._zoom, pos.y() / self._zoom)
        for geo in self._geometry:
            for rect, delta in ((geo.minus, -1), (geo.plus, +1)):
                if rect is not None and rect.adjusted(-2, -2, 2, 2).contains(p):
                    return geo.column.index, delta
        return None

    def neuron_at(self, pos: QPointF) -> tuple[int, int] | None:
        """(layer index (-1 the input), unit) of the neuron drawn under ``pos``, or None."""
        p = QPointF(pos.x() / self._zoom, pos.y() / self._zoom)
        r2 = (self._radius + 2) ** 2
        for geo in self._geometry:
            for unit, c in enumerate(geo.centres):
                if (c.x() - p.x()) ** 2 + (c.y() - p.y()) ** 2 <= r2:
                    return geo.column.index, unit
        return None

    def track_neuron(self, pos: QPointF | None) -> None:
        """Emit ``neuron_hovered`` when the neuron under ``pos`` (None: the pointer left) changes."""
        found = self.neuron_at(pos) if pos is not None else None
        if found != self._hovered_neuron:
            self._hovered_neuron = found
            self.neuron_hovered.emit(*(found or (-2, -1)))

    def gap_at(self, pos: QPointF) -> int:
        """Before which layer a drop at ``pos`` goes: the number of layer centres left of it."""
        x = pos.x() / self._zoom
        return sum(1 for g in self._geometry if g.column.index >= 0 and g.x < x)

    # -- geometry -------------------------------------------------------------------------
    def _width_of(self, column: Column) -> float:
        """The column's width: its drawing, or its widest label if that is wider."""
        if column.neurons is not None:
            base = NEURON_SLOT
        else:
            base = THIN_WIDTH if column.thin else BLOCK_WIDTH
        bold, plain = QFontMetricsF(self._bold), QFontMetricsF(self._font)
        labels = [bold.horizontalAdvance(column.kind), plain.horizontalAdvance(column.shape)]
        if column.activation and column.activation not in ("linear", "none"):
            labels.append(plain.horizontalAdvance(column.activation))
        return max(base, max(labels) + LABEL_PAD - MIN_GAP)

    def sizeHint(self) -> QSize:
        return QSize(560, 420)

    def minimumSizeHint(self) -> QSize:
        return QSize(math.ceil(self.natural_width() * self._zoom), 220)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()
        self._cache = None

    def _relayout(self) -> None:
        columns = self._columns
        self._geometry = []
        if not columns:
            return
        w, h = self.width() / self._zoom, self.height() / self._zoom
        widths = [self._width_of(c) for c in columns]
        free = w - 2 * MARGIN - sum(widths)
        gap = min(MAX_GAP, max(MIN_GAP, free / max(len(columns) - 1, 1)))
        total = sum(widths) + gap * (len(columns) - 1)
        x = max(MARGIN, (w - total) / 2)
        top, bottom = TOP, max(h - BOTTOM, TOP + 60)
        body_h = bottom - top

        counts = [c.neurons for c in columns if c.neurons]
        # One radius for the whole drawing, so that every neuron looks alike.
        self._radius = min(16.0, body_h / max(counts, default=1) * 0.34) if counts else 12.0
        r = self._radius
        biggest = max((c.size for c in columns), default=1)
        for column, width in zip(columns, widths, strict=True):
            cx = x + width / 2
            slot = QRectF(cx - (width + gap) / 2, 2, width + gap, h - 4)
            centres: list[QPointF] = []
            if column.neurons is not None:
                n = column.neurons
                step = min(body_h / n, r * 3.0)
                y0 = top + (body_h - step * (n - 1)) / 2
                centres = [QPointF(cx, y0 + i * step) for i in range(n)]
                body = QRectF(cx - r, y0 - r, 2 * r, step * (n - 1) + 2 * r)
            else:
                # Height grows with log(size): 10 values and 6,272 values both stay visible.
                share = math.log10(max(column.size, 2)) / math.log10(max(biggest, 10))
                bh = body_h * (0.25 + 0.7 * min(share, 1.0)) if column.size else body_h * 0.4
                bw = THIN_WIDTH - 6 if column.thin else BLOCK_WIDTH - 8
                body = QRectF(cx - bw / 2, top + (body_h - bh) / 2, bw, bh)
            geo = _Geometry(column, cx, slot, body, centres)
            if column.stepper and column.index >= 0:
                y = TOP - STEPPER - 5
                geo.minus = QRectF(cx - STEPPER - 2, y, STEPPER, STEPPER)
                geo.plus = QRectF(cx + 2, y, STEPPER, STEPPER)
            self._geometry.append(geo)
            x += width + gap

    def _recolour(self) -> None:
        """Precompute one pen per drawn weighted connection (not in paintEvent)."""
        self._pens = {}
        for prev, column in zip(self._columns, self._columns[1:], strict=False):
            w = self._weights.get(column.index)
            if (
                w is None
                or column.kind != "dense"
                or prev.neurons is None
                or column.neurons is None
                or w.shape != (prev.neurons, column.neurons)
            ):
                continue
            magnitude = np.abs(w) / (float(np.max(np.abs(w))) or 1.0)
            pens = []
            for k in np.argsort(magnitude, axis=None).tolist():
                i, j = divmod(k, w.shape[1])
                m = float(magnitude[i, j])
                base = POSITIVE if w[i, j] >= 0 else NEGATIVE
                # Faint = mostly white: the look of transparency without its cost.
                t = 0.18 + 0.82 * m
                colour = QColor(
                    round(255 + (base.red() - 255) * t),
                    round(255 + (base.green() - 255) * t),
                    round(255 + (base.blue() - 255) * t),
                )
                pens.append((QPen(colour, 0.6 + 3.6 * m), i, j))
            self._pens[column.index] = pens

    # -- events ---------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.track_neuron(event.position())

    def leaveEvent(self, event) -> None:
        self.track_neuron(None)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if (neuron := self.neuron_at(event.position())) is not None:
            self.neuron_clicked.emit(*neuron)
        index = self.column_at(event.position())
        if index is not None:
            self.layer_clicked.emit(index)
            return
        super().mousePressEvent(event)

    # -- drawing --------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        ratio = self.devicePixelRatioF()
        if self._cache is None or self._cache.deviceIndependentSize().toSize() != self.size():
            self._cache = QPixmap(self.size() * ratio)
            self._cache.setDevicePixelRatio(ratio)
            self._render(QPainter(self._cache))
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_overlay(p)
        p.end()

    def _paint_overlay(self, p: QPainter) -> None:
        """Draw what changes faster than the drawing (a drag in progress) over the cache."""

    def _render(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(255, 255, 255))
        p.scale(self._zoom, self._zoom)
        height = self.height() / self._zoom
        if not self._geometry:
            p.setPen(MUTED)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no layers")
            p.end()
            return
        for geo in self._geometry:
            if geo.column.index == self._selected:
                p.setPen(QPen(SELECTED_EDGE, 1.2))
                p.setBrush(SELECTED_FILL)
                # Hug the column (and its labels), not the whole clickable strip.
                half = min(geo.slot.width(), self._width_of(geo.column) + 20) / 2
                p.drawRoundedRect(QRectF(geo.x - half, 2, 2 * half, height - 4), 8, 8)
        for prev, geo in zip(self._geometry, self._geometry[1:], strict=False):
            self._draw_connections(p, prev, geo)
        for geo in self._geometry:
            if geo.column.neurons is not None:
                self._draw_neurons(p, geo)
            else:
                self._draw_block(p, geo)
            self._draw_labels(p, geo, height)
            if geo.minus is not None and geo.plus is not None:
                self._draw_stepper(p, geo.minus, "-")
                self._draw_stepper(p, geo.plus, "+")
        p.end()

    def _draw_stepper(self, p: QPainter, rect: QRectF, sign: str) -> None:
        p.setPen(QPen(OUTLINE, 1.0))
        p.setBrush(QColor(255, 255, 255))
        p.drawEllipse(rect)
        c, a = rect.center(), rect.width() * 0.27
        p.setPen(QPen(TEXT, 1.6))
        p.drawLine(QPointF(c.x() - a, c.y()), QPointF(c.x() + a, c.y()))
        if sign == "+":
            p.drawLine(QPointF(c.x(), c.y() - a), QPointF(c.x(), c.y() + a))

    def _draw_connections(self, p: QPainter, a: _Geometry, b: _Geometry) -> None:
        r = self._radius
        if a.centres and b.centres:
            pens = self._pens.get(b.column.index)
            if pens is None:
                p.setPen(QPen(UNTRAINED, 1.0))
                for s in a.centres:
                    for t in b.centres:
                        p.drawLine(QPointF(s.x() + r, s.y()), QPointF(t.x() - r, t.y()))
                return
            for pen, i, j in pens:
                s, t = a.centres[i], b.centres[j]
                p.setPen(pen)
                p.drawLine(QPointF(s.x() + r, s.y()), QPointF(t.x() - r, t.y()))
            return
        p.setPen(QPen(UNTRAINED, 1.0))
        left = [QPointF(c.x() + r, c.y()) for c in a.centres] or [
            QPointF(a.body.right(), a.body.center().y())
        ]
        right = [QPointF(c.x() - r, c.y()) for c in b.centres] or [
            QPointF(b.body.left(), b.body.center().y())
        ]
        for s in left:
            for t in right:
                p.drawLine(s, t)

    def _outline(self, column: Column) -> QPen:
        if column.invalid:
            return QPen(INVALID, 2.2)
        pen = QPen(OUTLINE, 1.3)
        if column.unknown:
            pen.setColor(MUTED)
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen

    def _draw_neurons(self, p: QPainter, geo: _Geometry) -> None:
        column, r = geo.column, self._radius
        p.setPen(self._outline(column))
        if column.invalid:
            p.setBrush(INVALID_FILL)
        else:
            p.setBrush(INPUT_NEURON_FILL if column.index < 0 else NEURON_FILL)
        for c in geo.centres:
            p.drawEllipse(c, r, r)
        p.setFont(self._font)
        if column.index < 0:
            if r >= 9:
                p.setPen(TEXT)
                for i, c in enumerate(geo.centres):
                    box = QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)
                    p.drawText(box, Qt.AlignmentFlag.AlignCenter, f"x{i + 1}")
            return
        if geo is self._geometry[-1]:  # name the outputs: y, or the class numbers
            p.setPen(TEXT)
            for i, c in enumerate(geo.centres):
                name = "y" if len(geo.centres) == 1 else str(i)
                p.drawText(
                    QRectF(c.x() + r + 3, c.y() - r, 3 * r, 2 * r), Qt.AlignmentFlag.AlignVCenter, name
                )
        path = activation_path(column.activation) if r >= 7 else None
        if path:
            p.setPen(QPen(MUTED, 1.1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            s = r * 0.55
            for c in geo.centres:
                curve = QPainterPath(QPointF(c.x() + path[0][0] * s, c.y() - path[0][1] * s))
                for x, y in path[1:]:
                    curve.lineTo(c.x() + x * s, c.y() - y * s)
                p.drawPath(curve)

    def _draw_block(self, p: QPainter, geo: _Geometry) -> None:
        column = geo.column
        p.setPen(self._outline(column))
        if column.invalid:
            p.setBrush(INVALID_FILL)
        elif column.unknown:
            p.setBrush(QColor(247, 250, 252))
        else:
            p.setBrush(BLOCK_FILLS.get(column.kind, ACTIVATION_FILL))
        p.drawRoundedRect(geo.body, 5, 5)
        # The type, written upwards along the block when it is tall enough.
        p.save()
        p.setFont(self._font)
        p.setPen(INVALID if column.invalid else TEXT)
        metrics = QFontMetricsF(self._font)
        text = column.kind if column.thin else f"{column.kind} {column.shape}"
        if metrics.horizontalAdvance(text) + 8 <= geo.body.height():
            p.translate(geo.body.center())
            p.rotate(-90)
            h, w = geo.body.height(), geo.body.width()
            p.drawText(QRectF(-h / 2, -w / 2, h, w), Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def _draw_labels(self, p: QPainter, geo: _Geometry, height: float) -> None:
        column = geo.column
        p.setFont(self._font)
        p.setPen(MUTED)
        number = "in" if column.index < 0 else str(column.index + 1)
        p.drawText(QRectF(geo.slot.left(), 3, geo.slot.width(), 16), Qt.AlignmentFlag.AlignCenter, number)
        lines = [(column.kind, self._bold), (column.shape, self._font)]
        if column.activation and column.activation not in ("linear", "none"):
            lines.append((column.activation, self._font))
        y = height - BOTTOM + 4
        width = geo.slot.width() - 2
        for text, font in lines:
            metrics = QFontMetricsF(font)
            p.setFont(font)
            p.setPen(INVALID if column.invalid else TEXT)
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
            p.drawText(
                QRectF(geo.x - width / 2, y, width, metrics.height()), Qt.AlignmentFlag.AlignCenter, shown
            )
            y += metrics.height()
