"""The network drawing as something to edit by hand: drag, drop, +/-, wheel, edit in place.

``EditableNetworkView`` adds gestures to ``NetworkView`` and turns each into one request
signal; it changes no spec itself (the designer does, as one undo step per gesture).
While a palette item or a column is dragged it asks the checkers it was given
(``set_checkers``) whether the layer fits the gap under the pointer, and shows the
place (a blue bar) or the reason it does not fit (a red bar and the engine's message).

Touch and pen need no code of their own: Qt turns an unhandled touch or tablet
press-move-release into the same mouse events, and a palette drag into the same
drag-and-drop events.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QLineEdit, QScrollArea, QWidget

from desktop.widgets.network_view import TOP, ZOOMS, NetworkView

MIME_LAYER = "application/x-netcore-layer-type"  # the palette's drag payload: the type name
OK_MARK = QColor(37, 99, 235)
BAD_MARK = QColor(197, 48, 48)
BAD_BACK = QColor(254, 242, 242)


class InPlaceEdit(QLineEdit):
    """A line edit over a column: Enter or leaving it commits, Escape cancels."""

    committed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._open = False
        self.editingFinished.connect(self._finish)
        self.hide()

    def open(self, rect: QRectF, text: str, hint: str) -> None:
        self.setGeometry(rect.toRect())
        self.setText(text)
        self.setToolTip(hint)
        self.setPlaceholderText(hint)
        self._open = True
        self.show()
        self.raise_()
        self.selectAll()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def is_open(self) -> bool:
        return self._open

    def _finish(self) -> None:
        if self._open:
            self._open = False
            self.hide()
            self.committed.emit(self.text())

    def cancel(self) -> None:
        """Close without committing."""
        if self._open:
            self._open = False
            self.hide()
            self.cancelled.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)


class EditableNetworkView(NetworkView):
    """The drawing plus gestures. Indices are 0-based layers, -1 the input; a gap ``g``
    means "before layer g" (``g == len(layers)``: at the end)."""

    step_requested = Signal(int, int)  # (layer, +1 or -1): a +/- button
    wheel_stepped = Signal(int, int)  # (layer, steps): Shift+wheel over a dense/conv column
    move_requested = Signal(int, int)  # (layer, gap): a column dragged and released
    drop_requested = Signal(str, int)  # (type, gap): a palette item dropped
    edit_requested = Signal(int)  # a double-click: edit the column's main setting
    edit_committed = Signal(int, str)  # (column, text) from the in-place editor
    context_menu_requested = Signal(int, object)  # (column or -2 for the background, QPoint global)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # neuron_hovered (network_view.py)
        self._editable = True
        self.hint = ""  # the tooltip shown when nothing is dragged
        self._insert_problem = lambda kind, gap: None
        self._move_problem = lambda source, gap: None
        self._press: tuple[int, QPointF] | None = None  # (layer, where) of a press that may drag
        self._drag_source: int | None = None  # the column being dragged
        self._drag_x = 0.0
        self._wheel_sum = 0  # angle delta not yet turned into a step
        self._hover: tuple[int, str | None] | None = None  # (gap, reason or None) while dragging
        self._checked: dict[tuple, str | None] = {}  # answers of the checkers, for this drag
        self.editor = InPlaceEdit(self)
        self._editing = -2
        self.editor.committed.connect(lambda text: self.edit_committed.emit(self._editing, text))
        self.editor.cancelled.connect(self.setFocus)

    # -- set up -----------------------------------------------------------------------------
    def set_checkers(self, insert_problem, move_problem) -> None:
        """``insert_problem(type, gap)`` and ``move_problem(layer, gap)`` return None or why not."""
        self._insert_problem, self._move_problem = insert_problem, move_problem

    def set_editable(self, editable: bool) -> None:
        self._editable = editable
        self.setAcceptDrops(editable)
        if not editable:
            self._end_drag()

    def hover(self) -> tuple[int, str | None] | None:
        """(gap, reason) shown while something is dragged over the drawing, else None."""
        return self._hover

    def set_columns(self, columns) -> None:
        """New columns (the design changed): a drag or an edit begun on the old ones ends."""
        super().set_columns(columns)
        self._checked = {}
        if self._press is not None or self._hover is not None:
            self._end_drag()
        self.editor.cancel()

    # -- editing in place ---------------------------------------------------------------------
    def start_edit(self, index: int, text: str, hint: str) -> None:
        """Open an editor over column ``index``'s labels holding ``text``."""
        slot, body = self.column_rect(index), self.body_rect(index)
        if slot.isEmpty():
            return
        width = max(slot.width() - 6, 56.0)
        height = QFontMetricsF(self.editor.font()).height() + 8
        y = min(body.bottom() + 4, self.height() - height - 2)
        self._editing = index
        self.editor.open(QRectF(slot.center().x() - width / 2, y, width, height), text, hint)

    # -- mouse (touch and pen arrive as mouse events too) ---------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        if (neuron := self.neuron_at(pos)) is not None:
            self.neuron_clicked.emit(*neuron)
        stepper = self.stepper_at(pos) if self._editable else None
        if stepper is not None:
            self.layer_clicked.emit(stepper[0])
            self.step_requested.emit(*stepper)
            return
        index = self.column_at(pos)
        if index is not None:
            self.layer_clicked.emit(index)
            if index >= 0 and self._editable:
                self._press = (index, pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not event.buttons():
            self.track_neuron(event.position())
        if self._press is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        source, start = self._press
        if self._drag_source is None:
            if (pos - start).manhattanLength() < QApplication.startDragDistance():
                return
            self._drag_source = source
            self._checked = {}
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._drag_x = pos.x()
        self._autoscroll(pos)
        gap = self.gap_at(pos)
        self._set_hover(gap, self._check(("move", source, gap), lambda: self._move_problem(source, gap)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        source, hover = self._drag_source, self._hover
        self._end_drag()
        if event.button() == Qt.MouseButton.LeftButton and source is not None and hover is not None:
            self.move_requested.emit(source, hover[0])

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.column_at(event.position())
        if index is not None and self._editable and self.stepper_at(event.position()) is None:
            self.edit_requested.emit(index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._drag_source is not None:
            self._end_drag()
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        mods = event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        target = None
        if not ctrl and mods & Qt.KeyboardModifier.ShiftModifier and self._editable:
            index = self.column_at(event.position())
            steppers = {c.index for c in self.columns() if c.stepper}
            target = index if index in steppers else None
        if not ctrl and target is None:
            self._wheel_sum = 0
            event.ignore()  # the scroll area scrolls
            return
        event.accept()
        # A touchpad sends many small deltas: act once per 120 (one notch of a mouse wheel).
        # X11 turns Alt+wheel into a horizontal wheel, Shift sometimes too: take either axis.
        delta = event.angleDelta()
        self._wheel_sum += delta.y() or delta.x()
        while abs(self._wheel_sum) >= 120:
            step = 1 if self._wheel_sum > 0 else -1
            self._wheel_sum -= 120 * step
            if ctrl:
                self.step_zoom(step)
            else:
                self.layer_clicked.emit(target)
                self.wheel_stepped.emit(target, step)

    def step_zoom(self, direction: int) -> None:
        """To the next zoom level up (+1) or down (-1)."""
        z = self.zoom()
        if direction > 0:
            self.set_zoom(next((s for s in ZOOMS if s > z + 1e-6), ZOOMS[-1]))
        else:
            self.set_zoom(next((s for s in reversed(ZOOMS) if s < z - 1e-6), ZOOMS[0]))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.column_at(QPointF(event.pos()), tight=True)
        if index is not None and index >= 0:
            self.layer_clicked.emit(index)
        self.context_menu_requested.emit(-2 if index is None else index, event.globalPos())
        event.accept()

    # -- a palette item dragged over the drawing -------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._editable and event.mimeData().hasFormat(MIME_LAYER):
            self._checked = {}
            event.acceptProposedAction()
            self._drag_over(event)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._editable and event.mimeData().hasFormat(MIME_LAYER):
            event.acceptProposedAction()
            self._drag_over(event)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._end_drag()

    def dropEvent(self, event: QDropEvent) -> None:
        kind = _kind_of(event)
        gap = self.gap_at(event.position())
        self._end_drag()
        if kind and self._editable:
            event.acceptProposedAction()
            self.drop_requested.emit(kind, gap)  # the designer refuses it, saying why, if it does not fit

    def _drag_over(self, event: QDragMoveEvent) -> None:
        kind, gap = _kind_of(event), self.gap_at(event.position())
        self._drag_x = event.position().x()
        self._autoscroll(event.position())
        self._set_hover(gap, self._check(("insert", kind, gap), lambda: self._insert_problem(kind, gap)))

    # -- drag state ----------------------------------------------------------------------------
    def _autoscroll(self, pos: QPointF) -> None:
        """Near the visible edge of a scrolled drawing, scroll on (a deep network is wider)."""
        area = self.parentWidget().parentWidget() if self.parentWidget() else None
        if isinstance(area, QScrollArea):
            area.ensureVisible(int(pos.x()), int(pos.y()), 48, 0)

    def _check(self, key: tuple, ask) -> str | None:
        if key not in self._checked:
            self._checked[key] = ask()
        return self._checked[key]

    def _set_hover(self, gap: int, reason: str | None) -> None:
        self._hover = (gap, reason)
        self.setToolTip(reason or self.hint)
        self.update()

    def _end_drag(self) -> None:
        if self._drag_source is not None:
            self.unsetCursor()
        self._press = None
        self._drag_source = None
        self._hover = None
        self.setToolTip(self.hint)
        self.update()

    def _paint_overlay(self, p: QPainter) -> None:
        if self._hover is None:
            return
        gap, reason = self._hover
        if self._drag_source is not None:  # the dragged column follows the pointer
            body = self.body_rect(self._drag_source)
            ghost = QRectF(self._drag_x - body.width() / 2, body.top(), body.width(), body.height())
            p.setPen(QPen(OK_MARK, 1.2, Qt.PenStyle.DashLine))
            p.setBrush(QColor(219, 234, 254, 150))
            p.drawRoundedRect(ghost, 5, 5)
        if self._drag_source is not None and gap in (self._drag_source, self._drag_source + 1):
            return  # dropped here the column stays where it is: no bar
        colour = BAD_MARK if reason else OK_MARK
        x = self.gap_x(gap)
        p.setPen(QPen(colour, 3.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(x, 22), QPointF(x, self.height() - 22))
        p.setBrush(colour)
        p.drawEllipse(QPointF(x, 22), 4, 4)
        if reason:
            self._paint_reason(p, x, reason)

    def _paint_reason(self, p: QPainter, x: float, reason: str) -> None:
        """The engine's reason in a box beside the bar, wrapped to fit the drawing."""
        metrics = QFontMetricsF(self.font())
        width = min(340.0, self.width() - 16.0)
        flags = Qt.TextFlag.TextWordWrap
        text_rect = metrics.boundingRect(QRectF(0, 0, width - 12, 400), flags, reason)
        box = QRectF(0, 0, width, text_rect.height() + 10)
        left = x + 10 if x + 10 + width <= self.width() else x - 10 - width
        box.moveTo(max(4.0, left), TOP * self.zoom() + 6)  # under the +/- buttons
        p.setPen(QPen(BAD_MARK, 1.0))
        p.setBrush(BAD_BACK)
        p.drawRoundedRect(box, 5, 5)
        p.setPen(BAD_MARK)
        p.drawText(box.adjusted(6, 5, -6, -5), flags, reason)


def _kind_of(event: QDropEvent) -> str:
    return bytes(event.mimeData().data(MIME_LAYER)).decode("utf-8", "replace").strip()
