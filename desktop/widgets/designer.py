"""The network designer: draw, edit and validate a network spec.

Left, a palette of layer types beside the network drawn as a diagram that is edited by
hand (``EditableNetworkView`` with ``DrawingEditor``: drop a type between two columns,
drag a column, +/- units, right-click menus, keys), with a line saying why an edit was
refused and the engine's message when the design is invalid. Right, the input shape and
loss, the layer list with Add / Insert / Remove / Move buttons, and a property form for
the selected layer. Every edit is a ``SpecChange`` on ``undo_stack``; every change
re-runs ``desktop.design.analyse`` (the engine's shape inference, no arrays), so shapes
and parameter counts follow the user's typing.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.design import (
    DEFAULT_SPEC,
    TEMPLATES_DIR,
    analyse,
    available_templates,
    describe_entry,
    format_shape,
    kind_of,
    layer_types,
    new_layer,
    parse_shape,
    settings_of,
)
from desktop.design_commands import SpecChange
from desktop.design_edits import STEPPED
from desktop.widgets.drawing_editor import DrawingEditor
from desktop.widgets.layer_palette import LayerPalette
from desktop.widgets.network_canvas import EditableNetworkView
from desktop.widgets.network_view import MAX_NEURONS, NEGATIVE, POSITIVE, Column
from desktop.widgets.setting_editors import narrow, set_text, setting_editor
from netcore.losses import LOSSES
from netcore.spec import LayerInfo

INVALID_TEXT = QColor(185, 28, 28)
INVALID_BACK = QColor(254, 226, 226)
UNKNOWN_TEXT = QColor(128, 128, 128)
NOTICE_MS = 12000  # how long the line saying why an edit was refused stays
LEGEND = (  # the block colours are in the palette; these are the drawing's other marks
    f'<span style="color:{POSITIVE.name()}">━━</span> weight &gt; 0<br>'
    f'<span style="color:{NEGATIVE.name()}">━━</span> weight &lt; 0<br>'
    '<span style="color:#c53030">▭</span> does not fit<br>'
    '<span style="color:#718096">┅</span> shape unknown'
)
GESTURES = (
    "Drag a type from the palette between two columns; drag a column to move it; "
    "+/− change units or filters (Shift+wheel too); double-click or F2 edits in place; "
    "Delete removes; arrows select; Ctrl+wheel zooms, Ctrl+0 fits; right-click for everything else"
)


# -- the panel ------------------------------------------------------------------------------
class DesignerPanel(QWidget):
    """Design a network. ``spec()`` is the current design; invalid designs are allowed
    while editing and reported through ``validity_changed``."""

    spec_changed = Signal(dict)  # a deep copy of the new spec, after every change
    validity_changed = Signal(bool, str)  # (valid, engine message); emitted when either changes

    def __init__(self, parent: QWidget | None = None, spec: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self._spec: dict[str, Any] = {}
        self._selected = -1
        self._analysis = analyse(DEFAULT_SPEC)
        self._validity: tuple[bool, str] = (True, "")
        self._editable = True
        self._weights: dict[int, np.ndarray] = {}
        self._form_key: tuple[int, str] | None = None
        self._setters: dict[str, Callable[[Any], None]] = {}
        self.type_combo: QComboBox | None = None  # the selected layer's type, in the form
        self.setting_widgets: dict[str, QWidget] = {}  # its settings' editors, by name

        self.undo_stack = QUndoStack(self)
        self.undo_action: QAction = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action: QAction = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.addActions([self.undo_action, self.redo_action])
        # Connected after the actions' own handlers, so that a locked panel keeps them off.
        self.undo_stack.canUndoChanged.connect(self._sync_actions)
        self.undo_stack.canRedoChanged.connect(self._sync_actions)

        self._build_ui()
        self.drawing = DrawingEditor(self)
        self.palette.type_activated.connect(self.drawing.append_after_selection)
        self.layer_list.addActions([self.drawing.remove_action, self.drawing.duplicate_action])
        for button, action in zip(self._zoom_buttons, self._zoom_actions(), strict=True):
            button.setDefaultAction(action)
        self.set_spec(DEFAULT_SPEC if spec is None else spec, undoable=False)

    # -- public API -------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        return copy.deepcopy(self._spec)

    def set_spec(self, spec: dict[str, Any], undoable: bool = True) -> None:
        """Show ``spec``. Undoable as one step, or (``undoable=False``) replacing the
        design and forgetting the undo history, e.g. for a model loaded from a file."""
        n = len(spec.get("layers") or [])
        select = min(max(self._selected, 0), n - 1)
        if undoable:
            self._push("Replace network", spec, select=select)
        else:
            self.undo_stack.clear()
            self._apply(copy.deepcopy(spec), select)

    def is_valid(self) -> bool:
        return self._analysis.valid

    def validation_message(self) -> str:
        return self._analysis.message

    def templates(self) -> list[str]:
        return available_templates()

    def load_template(self, name: str) -> bool:
        """Load resources/networks/<name>.json as one undoable step; False if it is missing."""
        path = TEMPLATES_DIR / f"{name}.json"
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(spec, dict):
            return False
        self._push(f"Load template {name}", spec, select=0)
        return True

    def set_weights(self, named: dict[str, np.ndarray]) -> None:
        """Colour the drawn connections by trained weights ("<layer>.W", shape (D_in, units)).

        Only the small dense matrices the drawing shows are copied; {} returns to grey.
        """
        weights = {}
        for index, entry in enumerate(self._spec.get("layers") or []):
            w = named.get(f"{index}.W")
            if (
                isinstance(entry, dict)
                and entry.get("type") == "dense"
                and w is not None
                and w.ndim == 2
                and max(w.shape) <= MAX_NEURONS
            ):
                weights[index] = np.array(w, dtype=np.float32)
        self._weights = weights
        self.view.set_weights(weights)

    def edit_actions(self) -> list[QAction | None]:
        """The drawing's actions (remove, duplicate, +/-, zoom, ...) for the Edit menu; None: a separator."""
        return self.drawing.actions()

    def push_edit(
        self, text: str, after: dict[str, Any], select: int | None = None, field: Any = None
    ) -> None:
        """One undoable change made on the drawing (ignored while the panel is locked)."""
        if self._editable:
            self.show_notice("")
            self._push(text, after, field=field, select=select)

    def show_notice(self, text: str) -> None:
        """A line under the drawing saying why an edit was refused ("" hides it)."""
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))
        if text:
            self._notice_timer.start()  # an old refusal should not look like a new one

    def is_editable(self) -> bool:
        return self._editable

    def set_editable(self, editable: bool) -> None:
        """Allow or forbid editing (the window forbids it while training)."""
        self._editable = editable
        self.view.set_editable(editable)
        for widget in (
            self._network_box,
            self._form_box,
            *self._edit_buttons,
            self._type_to_add,
            self.palette,
        ):
            widget.setEnabled(editable)
        self._sync_actions()
        self._update_buttons()

    def _sync_actions(self) -> None:
        self.undo_action.setEnabled(self._editable and self.undo_stack.canUndo())
        self.redo_action.setEnabled(self._editable and self.undo_stack.canRedo())

    def selected_layer(self) -> int:
        return self._selected

    def select_layer(self, index: int) -> None:
        self.layer_list.setCurrentRow(index)

    # -- UI ---------------------------------------------------------------------------------
    def _build_drawing(self) -> QWidget:
        """The palette (with the colour legend and zoom under it), the drawing, the messages."""
        self.view = EditableNetworkView()
        self.view.layer_clicked.connect(self._on_view_layer_clicked)
        self.view.hint = GESTURES
        self.view.setToolTip(GESTURES)
        self.palette = LayerPalette(layer_types())
        scroll = QScrollArea()
        scroll.setWidget(self.view)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area = scroll
        legend = QLabel(LEGEND)
        legend.setToolTip(GESTURES)
        legend.setStyleSheet("color: #4a5568; font-size: 8pt;")
        zoom_row = QHBoxLayout()
        zoom_row.setSpacing(0)
        self._zoom_buttons = [QToolButton() for _ in range(3)]
        for button in self._zoom_buttons:
            button.setAutoRaise(True)
            zoom_row.addWidget(button)
        side = QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.palette, 1)
        side.addWidget(legend)
        side.addLayout(zoom_row)
        drawing = QHBoxLayout()
        drawing.setContentsMargins(0, 0, 0, 0)
        drawing.addLayout(side)
        drawing.addWidget(scroll, 1)

        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #9a3412; background: #fff7ed; padding: 2px 4px;")
        self.notice_label.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.setInterval(NOTICE_MS)
        self._notice_timer.timeout.connect(lambda: self.show_notice(""))
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b91c1c; font-weight: bold;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals_label = QLabel()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(drawing, 1)
        left_layout.addWidget(self.notice_label)
        left_layout.addWidget(self.error_label)
        left_layout.addWidget(self.totals_label)
        return left

    def _build_ui(self) -> None:
        left = self._build_drawing()
        self._network_box = QGroupBox("Network")
        network_form = QFormLayout(self._network_box)
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("784 or 1x28x28")
        self.input_edit.setToolTip("Input shape: a length for flat data, CxHxW for images")
        self.input_edit.textEdited.connect(self._on_input_edited)
        self.loss_combo = QComboBox()
        narrow(self.loss_combo)
        self.loss_combo.addItems([name for name in LOSSES if name != "cross_entropy"])
        self.loss_combo.currentTextChanged.connect(self._on_loss_changed)
        network_form.addRow("Input shape", self.input_edit)
        network_form.addRow("Loss", self.loss_combo)

        layers_box = QGroupBox("Layers")
        self.layer_list = QListWidget()
        self.layer_list.currentRowChanged.connect(self._on_list_row_changed)
        self._type_to_add = QComboBox()
        self._type_to_add.addItems(layer_types())
        self._type_to_add.setToolTip("Type of the layer Add and Insert create")
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Append a layer of this type at the end")
        self.insert_button = QPushButton("Insert")
        self.insert_button.setToolTip("Insert a layer of this type before the selected one")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.insert_button.clicked.connect(self._on_insert_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.up_button.clicked.connect(lambda: self._move_selected(-1))
        self.down_button.clicked.connect(lambda: self._move_selected(+1))
        self._edit_buttons = (
            self.add_button, self.insert_button, self.remove_button, self.up_button, self.down_button,
        )  # fmt: skip
        buttons = QGridLayout()
        # Two columns keep this side narrow, so that the drawing gets the room.
        buttons.addWidget(self._type_to_add, 0, 0)
        buttons.addWidget(self.add_button, 0, 1)
        buttons.addWidget(self.insert_button, 1, 0)
        buttons.addWidget(self.remove_button, 1, 1)
        buttons.addWidget(self.up_button, 2, 0)
        buttons.addWidget(self.down_button, 2, 1)
        layers_layout = QVBoxLayout(layers_box)
        layers_layout.addWidget(self.layer_list, 1)
        layers_layout.addLayout(buttons)

        self._form_box = QGroupBox("Layer")
        self._form_box_layout = QVBoxLayout(self._form_box)
        self._form_widget = QWidget()
        self._form_box_layout.addWidget(self._form_widget)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self._network_box)
        right_layout.addWidget(layers_box, 1)
        right_layout.addWidget(self._form_box)

        side = QScrollArea()  # on a short screen the forms scroll; the drawing keeps its height
        side.setWidget(right)
        side.setWidgetResizable(True)
        side.setFrameShape(QScrollArea.Shape.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self._splitter = splitter
        self._user_sized = False  # until the hand moves the divider, the drawing gets the room
        splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_sized", True))
        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

    def _zoom_actions(self) -> list[QAction]:
        d = self.drawing
        return [d.zoom_out_action, d.zoom_fit_action, d.zoom_in_action]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._user_sized:  # the side forms get what they need (up to 40 %), the drawing the rest
            total = event.size().width() - 8 - self._splitter.handleWidth()  # the outer margins, the handle
            forms = self._splitter.widget(1)  # a scroll area: what its forms need, and its scroll bar
            need = forms.widget().minimumSizeHint().width() + forms.verticalScrollBar().sizeHint().width()
            side = min(need, total * 2 // 5)
            self._splitter.setSizes([total - side, side])

    # -- state changes ------------------------------------------------------------------------
    def _push(self, text: str, after: dict[str, Any], field: Any = None, select: int | None = None) -> None:
        if after == self._spec and select in (None, self._selected):
            return
        select = self._selected if select is None else select
        self.undo_stack.push(SpecChange(self._apply, self._spec, after, text, field, self._selected, select))

    def _edited(self) -> dict[str, Any]:
        return copy.deepcopy(self._spec)

    def _apply(self, spec: dict[str, Any], selected: int) -> None:
        """Show ``spec`` (a state from the undo stack, or a new one) and announce it."""
        structure = ("input_shape", "layers")
        if any(spec.get(k) != self._spec.get(k) for k in structure) and self._weights:
            self._weights = {}  # trained weights belong to the previous design
            self.view.set_weights({})
        self._spec = copy.deepcopy(spec)
        self._analysis = analyse(self._spec)
        count = len(self._analysis.infos)
        self._selected = min(max(selected, 0 if count else -1), count - 1)
        self._refresh()
        self.spec_changed.emit(self.spec())
        validity = (self._analysis.valid, self._analysis.message)
        if validity != self._validity:
            self._validity = validity
            self.validity_changed.emit(*validity)

    def _refresh(self) -> None:
        a = self._analysis
        layers = self._spec.get("layers") or []
        set_text(self.input_edit, format_shape(self._spec.get("input_shape")), parse_shape)
        self.input_edit.setStyleSheet("" if a.input_ok else "QLineEdit { background: #fee2e2; }")
        loss = str(self._spec.get("loss", "softmax_cross_entropy"))
        if self.loss_combo.findText(loss) < 0:
            self.loss_combo.addItem(loss)
        if self.loss_combo.currentText() != loss:
            self.loss_combo.blockSignals(True)
            self.loss_combo.setCurrentText(loss)
            self.loss_combo.blockSignals(False)

        self.layer_list.blockSignals(True)
        if self.layer_list.count() != len(layers):
            self.layer_list.clear()
            self.layer_list.addItems([""] * len(layers))
        for index, entry in enumerate(layers):
            self._refresh_item(self.layer_list.item(index), index, entry, a.infos[index])
        self.layer_list.setCurrentRow(self._selected)
        self.layer_list.blockSignals(False)

        self.view.set_columns(self._columns())
        self.view.set_selected(self._selected if self._selected >= 0 else -2)
        self.error_label.setText(a.message)
        self.error_label.setVisible(bool(a.message))
        if a.valid:
            total = sum(info.num_params for info in a.infos if info is not None)
            self.totals_label.setText(f"{len(layers)} layers · {total:,} parameters · loss {loss}")
        else:
            self.totals_label.setText(f"{len(layers)} layers · design not valid yet")
        self._refresh_form()
        self._update_buttons()

    def _refresh_item(self, item: QListWidgetItem, index: int, entry: Any, info: LayerInfo | None) -> None:
        a = self._analysis
        details = f"→ {format_shape(info.out_shape)}" if info else "→ ?"
        if info and info.num_params:
            details += f" · {info.num_params:,} params"
        invalid = index == a.error_layer
        mark = "⚠ " if invalid else ""  # still visible when the row is selected
        item.setText(f"{mark}{index + 1}. {describe_entry(entry, info, index)}\n      {details}")
        item.setToolTip(a.message if invalid else "")
        if invalid:
            item.setForeground(INVALID_TEXT)
        elif info is None:
            item.setForeground(UNKNOWN_TEXT)
        else:
            item.setForeground(QBrush())
        item.setBackground(INVALID_BACK if invalid else QBrush())

    def _columns(self) -> list[Column]:
        a = self._analysis
        shape = self._spec.get("input_shape")
        size = math.prod(shape) if a.input_ok and isinstance(shape, list) else 0
        flat = a.input_ok and isinstance(shape, list) and len(shape) == 1 and shape[0] <= MAX_NEURONS
        columns = [
            Column(
                -1,
                "input",
                format_shape(shape) or "?",
                size,
                shape[0] if flat else None,
                invalid=not a.input_ok,
            )
        ]
        for index, entry in enumerate(self._spec.get("layers") or []):
            entry = entry if isinstance(entry, dict) else {}
            info = a.infos[index]
            kind = str(entry.get("type", "?"))
            units = entry.get("units")
            neurons = (
                units if kind == "dense" and isinstance(units, int) and 0 < units <= MAX_NEURONS else None
            )
            params = info.num_params if info else int(kind in ("dense", "conv2d"))
            columns.append(
                Column(
                    index,
                    kind,
                    format_shape(info.out_shape) if info else "?",
                    math.prod(info.out_shape) if info else 0,
                    neurons,
                    thin=params == 0 or kind == "batchnorm",
                    activation=entry.get(
                        "activation", "linear" if "activation" in dict(settings_of(kind)) else None
                    ),
                    invalid=index == a.error_layer,
                    unknown=info is None,
                    stepper=STEPPED.get(kind),
                )
            )
        return columns

    def _update_buttons(self) -> None:
        n, sel, ok = len(self._spec.get("layers") or []), self._selected, self._editable
        self.add_button.setEnabled(ok)
        self.insert_button.setEnabled(ok)
        self.remove_button.setEnabled(ok and sel >= 0)
        self.up_button.setEnabled(ok and sel > 0)
        self.down_button.setEnabled(ok and 0 <= sel < n - 1)
        if hasattr(self, "drawing"):
            self.drawing.sync()

    # -- the property form ----------------------------------------------------------------------
    def _refresh_form(self) -> None:
        layers = self._spec.get("layers") or []
        entry = layers[self._selected] if 0 <= self._selected < len(layers) else None
        if not isinstance(entry, dict):  # a hand-written file may hold anything; check_spec says what
            entry = None
        kind = kind_of(entry) if entry is not None else ""
        key = (self._selected, kind)
        if key != self._form_key:
            self._form_key = key
            self._rebuild_form(entry)
        if entry is not None:
            defaults = dict(settings_of(kind))
            for name, setter in self._setters.items():
                setter(entry.get(name, defaults[name]))
            info = self._analysis.infos[self._selected]
            if self._selected == self._analysis.error_layer:
                self._shape_label.setText(f"{self._in_shape_text(self._selected)} → ? (see the message)")
            elif info is None:
                self._shape_label.setText("unknown: fix the layer marked red first")
            else:
                self._shape_label.setText(
                    f"{format_shape(info.in_shape)} → {format_shape(info.out_shape)} · "
                    f"{info.num_params:,} parameters"
                )

    def _in_shape_text(self, index: int) -> str:
        infos = self._analysis.infos
        if index > 0 and infos[index - 1] is not None:
            return format_shape(infos[index - 1].out_shape)
        if index == 0 and self._analysis.input_ok:
            return format_shape(self._spec.get("input_shape"))
        return "?"

    def _rebuild_form(self, entry: dict[str, Any] | None) -> None:
        # Replace the whole form widget later: this may run inside a signal of one of its widgets.
        self._form_widget.hide()
        self._form_widget.deleteLater()
        self._form_widget = QWidget()
        self._form_box_layout.addWidget(self._form_widget)
        self._setters = {}
        form = QFormLayout(self._form_widget)
        form.setContentsMargins(0, 0, 0, 0)
        if entry is None:
            self._form_box.setTitle("Layer")
            form.addRow(QLabel("Add a layer to edit it here."))
            return
        kind = str(entry.get("type", "?"))
        self._form_box.setTitle(f"Layer {self._selected + 1}")
        type_combo = QComboBox()
        narrow(type_combo)
        type_combo.addItems(layer_types())
        if type_combo.findText(kind) < 0:
            type_combo.addItem(kind)
        type_combo.setCurrentText(kind)
        type_combo.currentTextChanged.connect(self._on_type_changed)
        self.type_combo = type_combo
        form.addRow("Type", type_combo)
        self.setting_widgets = {}
        for name, default in settings_of(kind):
            widget, setter = self._setting_widget(kind, name, entry.get(name, default), default)
            self._setters[name] = setter
            self.setting_widgets[name] = widget
            form.addRow(name.replace("_", " ").capitalize(), widget)
        self._shape_label = QLabel()
        self._shape_label.setStyleSheet("color: #4a5568;")
        self._shape_label.setWordWrap(True)  # a long shape must not widen the side (and narrow the drawing)
        form.addRow("Shape", self._shape_label)

    def _setting_widget(
        self, kind: str, name: str, value: Any, default: Any
    ) -> tuple[QWidget, Callable[[Any], None]]:
        return setting_editor(kind, name, value, default, lambda v: self._on_setting_edited(name, v))

    # -- slots ----------------------------------------------------------------------------------
    def _on_view_layer_clicked(self, index: int) -> None:
        if index < 0:
            self.input_edit.setFocus()
        else:
            self.layer_list.setCurrentRow(index)

    def _on_list_row_changed(self, row: int) -> None:
        self._selected = row
        self.view.set_selected(row if row >= 0 else -2)
        self._refresh_form()
        self._update_buttons()

    def _on_input_edited(self, text: str) -> None:
        after = self._edited()
        after["input_shape"] = parse_shape(text)
        self._push("Change input shape", after, field=("input_shape",))

    def _on_loss_changed(self, loss: str) -> None:
        after = self._edited()
        after["loss"] = loss
        self._push(f"Change loss to {loss}", after)

    def _on_setting_edited(self, name: str, value: Any) -> None:
        index = self._selected
        after = self._edited()
        entry = after["layers"][index]
        if value is None:
            entry.pop(name, None)
        else:
            entry[name] = value
        self._push(f"Change {name} of layer {index + 1}", after, field=("layer", index, name))

    def _on_type_changed(self, kind: str) -> None:
        index = self._selected
        after = self._edited()
        after["layers"][index] = new_layer(kind, keep=after["layers"][index])
        self._push(f"Make layer {index + 1} {kind}", after)

    def _on_add_clicked(self) -> None:
        kind = self._type_to_add.currentText()
        after = self._edited()
        after.setdefault("layers", []).append(new_layer(kind))
        self._push(f"Add {kind}", after, select=len(after["layers"]) - 1)

    def _on_insert_clicked(self) -> None:
        kind = self._type_to_add.currentText()
        index = max(self._selected, 0)
        after = self._edited()
        after.setdefault("layers", []).insert(index, new_layer(kind))
        self._push(f"Insert {kind}", after, select=index)

    def _on_remove_clicked(self) -> None:
        index = self._selected
        after = self._edited()
        removed = after["layers"].pop(index)
        self._push(f"Remove {kind_of(removed)}", after, select=min(index, len(after["layers"]) - 1))

    def _move_selected(self, delta: int) -> None:
        index, target = self._selected, self._selected + delta
        after = self._edited()
        layers = after["layers"]
        layers[index], layers[target] = layers[target], layers[index]
        self._push(
            f"Move {kind_of(layers[target])} {'up' if delta < 0 else 'down'}",
            after,
            select=target,
        )
