"""Editing on the drawing: the designer's actions, context menus and the view's requests.

``DrawingEditor`` turns what the hand does on ``EditableNetworkView`` (a drop, a column
dragged, a +/- button, the wheel, a right-click, a key) into ``desktop.design_edits``
edits that the panel pushes as one undo step each. An edit that would break the design
is refused with the engine's reason in the panel's notice line. The actions carry the
shortcuts (shown in the menus, active while the drawing has focus) and are listed by
``actions()`` for the window's Edit menu.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from desktop import design_edits as edits
from desktop.design import format_shape, kind_of, layer_types, parse_shape
from netcore.layers.activations import ACTIVATIONS
from netcore.losses import LOSSES

if TYPE_CHECKING:
    from desktop.widgets.designer import DesignerPanel

WHEEL_PAUSE = 0.6  # seconds between wheel notches that still count as one gesture (one undo step)
INT_SETTINGS = {"units", "filters", "pool_size"}


class DrawingEditor(QObject):
    """The designer panel's drawing gestures and actions (``remove_action``, ...)."""

    def __init__(self, panel: DesignerPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.view = panel.view
        self.menu: QMenu | None = None  # the context menu last shown (kept alive while open)
        self._wheel: tuple[int, float, int] = (-1, 0.0, 0)  # (layer, time, gesture number)
        self._make_actions()
        v = self.view
        v.set_checkers(self.insert_problem, self.move_problem)
        v.drop_requested.connect(self.drop)
        v.move_requested.connect(self.move)
        v.step_requested.connect(lambda index, delta: self.step(index, delta))
        v.wheel_stepped.connect(self._on_wheel_stepped)
        v.edit_requested.connect(self.start_edit)
        v.edit_committed.connect(self._on_edit_committed)
        v.context_menu_requested.connect(self._on_context_menu_requested)

    # -- actions --------------------------------------------------------------------------
    def _action(self, text: str, keys: list[str], slot: Callable[[], None], tip: str = "") -> QAction:
        action = QAction(text, self.panel)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # typing in a field stays typing
        action.setStatusTip(tip)
        action.setToolTip(f"{text.replace('&', '')} ({keys[0]})" if keys else text)
        action.triggered.connect(slot)
        self.view.addAction(action)
        return action

    def _make_actions(self) -> None:
        a = self._action
        sel = self.panel.selected_layer
        self.remove_action = a("&Remove layer", ["Delete", "Backspace"], lambda: self.remove(sel()))
        self.duplicate_action = a("D&uplicate layer", ["Ctrl+D"], lambda: self.duplicate(sel()))
        self.edit_action = a("&Edit in place", ["F2"], lambda: self.start_edit(sel()))
        self.more_action = a("&More units", ["+", "="], lambda: self.step(sel(), +1))
        self.fewer_action = a("&Fewer units", ["-"], lambda: self.step(sel(), -1))
        self.move_left_action = a("Move layer &left", ["Ctrl+Left"], lambda: self.move_by(sel(), -1))
        self.move_right_action = a("Move layer r&ight", ["Ctrl+Right"], lambda: self.move_by(sel(), +1))
        self.previous_action = a("Select previous layer", ["Left", "Up"], lambda: self.select_by(-1))
        self.next_action = a("Select next layer", ["Right", "Down"], lambda: self.select_by(+1))
        self.first_action = a("Select first layer", ["Home"], lambda: self.select_by(-(10**6)))
        self.last_action = a("Select last layer", ["End"], lambda: self.select_by(10**6))
        self.zoom_in_action = a("Zoom &in", ["Ctrl+=", "Ctrl++"], lambda: self.view.step_zoom(+1))
        self.zoom_out_action = a("Zoom &out", ["Ctrl+-"], lambda: self.view.step_zoom(-1))
        self.zoom_fit_action = a("Zoom to &fit", ["Ctrl+0"], self.zoom_to_fit)
        self.zoom_reset_action = a("&Actual size", ["Ctrl+1"], lambda: self.view.set_zoom(1.0))
        for action, short in (
            (self.zoom_out_action, "−"),
            (self.zoom_fit_action, "Fit"),
            (self.zoom_in_action, "+"),
        ):
            action.setIconText(short)

    def actions(self) -> list[QAction | None]:
        """The drawing's actions for a menu, None where a separator goes."""
        return [
            self.remove_action, self.duplicate_action, self.move_left_action, self.move_right_action,
            None, self.edit_action, self.more_action, self.fewer_action,
            None, self.previous_action, self.next_action,
            None, self.zoom_in_action, self.zoom_out_action, self.zoom_fit_action, self.zoom_reset_action,
        ]  # fmt: skip

    def sync(self) -> None:
        """Enable what applies to the selected layer, and name the setting +/- changes."""
        layers = edits.layers_of(self.panel.spec())
        sel, ok = self.panel.selected_layer(), self.panel.is_editable()
        entry = layers[sel] if 0 <= sel < len(layers) else None
        stepped = edits.stepped_setting(entry)
        main = edits.main_setting(entry)
        self.remove_action.setEnabled(ok and entry is not None)
        self.duplicate_action.setEnabled(ok and entry is not None)
        self.move_left_action.setEnabled(ok and sel > 0)
        self.move_right_action.setEnabled(ok and 0 <= sel < len(layers) - 1)
        self.edit_action.setEnabled(ok and main is not None)
        self.edit_action.setText(f"&Edit {main.replace('_', ' ')} in place" if main else "&Edit in place")
        for action, word in ((self.more_action, "&More"), (self.fewer_action, "&Fewer")):
            action.setEnabled(ok and stepped is not None)
            action.setText(f"{word} {stepped or 'units'}")

    # -- checks (also asked by the view while something is dragged) ----------------------------
    def insert_problem(self, kind: str, gap: int) -> str | None:
        return edits.insert_problem(self.panel.spec(), gap, kind)

    def move_problem(self, source: int, gap: int) -> str | None:
        return edits.move_problem(self.panel.spec(), source, gap)

    # -- edits ------------------------------------------------------------------------------
    def insert(self, kind: str, index: int) -> bool:
        """A new ``kind`` layer before layer ``index``; refused (and said why) if it cannot fit."""
        spec = self.panel.spec()
        reason = edits.insert_problem(spec, index, kind)
        if reason:
            self.panel.show_notice(reason)
            return False
        index = max(0, min(index, len(edits.layers_of(spec))))
        self.panel.push_edit(f"Insert {kind}", edits.insert_layer(spec, index, kind), select=index)
        return True

    def drop(self, kind: str, gap: int) -> None:
        if kind in layer_types():
            self.insert(kind, gap)

    def append_after_selection(self, kind: str) -> None:
        """What a double-click on a palette item does."""
        n = len(edits.layers_of(self.panel.spec()))
        sel = self.panel.selected_layer()
        self.insert(kind, sel + 1 if 0 <= sel < n else n)

    def move(self, source: int, gap: int) -> None:
        spec = self.panel.spec()
        n = len(edits.layers_of(spec))
        target = edits.move_target(source, gap)
        if not (0 <= source < n and 0 <= gap <= n) or target == source:
            return
        reason = edits.move_problem(spec, source, gap)
        if reason:
            self.panel.show_notice(reason)
            return
        kind = kind_of(edits.layers_of(spec)[source])
        self.panel.push_edit(
            f"Move {kind} to {target + 1}", edits.move_layer(spec, source, gap), select=target
        )

    def move_by(self, index: int, delta: int) -> None:
        n = len(edits.layers_of(self.panel.spec()))
        if 0 <= index < n and 0 <= index + delta < n:
            self.move(index, index + delta + (1 if delta > 0 else 0))

    def remove(self, index: int) -> None:
        spec = self.panel.spec()
        layers = edits.layers_of(spec)
        if 0 <= index < len(layers):
            after = edits.remove_layer(spec, index)
            select = min(index, len(layers) - 2)
            self.panel.push_edit(f"Remove {kind_of(layers[index])}", after, select=select)

    def duplicate(self, index: int) -> None:
        spec = self.panel.spec()
        layers = edits.layers_of(spec)
        if 0 <= index < len(layers):
            after = edits.duplicate_layer(spec, index)
            self.panel.push_edit(f"Duplicate {kind_of(layers[index])}", after, select=index + 1)

    def change_type(self, index: int, kind: str) -> None:
        spec = self.panel.spec()
        reason = edits.change_type_problem(spec, index, kind)
        if reason:
            self.panel.show_notice(reason)
            return
        self.panel.push_edit(f"Make layer {index + 1} {kind}", edits.change_type(spec, index, kind))

    def set_activation(self, index: int, name: str) -> None:
        spec = self.panel.spec()
        after = edits.set_setting(spec, index, "activation", name)
        self.panel.push_edit(f"Activation {name} for layer {index + 1}", after)

    def set_loss(self, loss: str) -> None:
        after = self.panel.spec()
        after["loss"] = loss
        self.panel.push_edit(f"Change loss to {loss}", after)

    def step(self, index: int, delta: int, field: Any = None) -> None:
        """+/-: the layer's units or filters one step up or down the ladder (1..16, 20, 24, ...)."""
        spec = self.panel.spec()
        layers = edits.layers_of(spec)
        if not (0 <= index < len(layers)) or edits.stepped_setting(layers[index]) is None:
            return
        name = edits.stepped_setting(layers[index])
        after = edits.step_layer(spec, index, delta)
        value = after["layers"][index][name]
        self.panel.push_edit(f"{name.capitalize()} of layer {index + 1} to {value}", after, field=field)

    def _on_wheel_stepped(self, index: int, delta: int) -> None:
        # Notches close together are one gesture, so one undo step: they share a merge field.
        last, when, number = self._wheel
        now = time.monotonic()
        if index != last or now - when > WHEEL_PAUSE:
            number += 1
        self._wheel = (index, now, number)
        self.step(index, delta, field=("wheel", index, number))

    def select_by(self, delta: int) -> None:
        n = len(edits.layers_of(self.panel.spec()))
        if n:
            self.panel.select_layer(max(0, min(n - 1, self.panel.selected_layer() + delta)))

    def zoom_to_fit(self) -> None:
        viewport = self.view.parentWidget()
        self.view.set_zoom(self.view.fit_zoom(viewport.width() if viewport else self.view.width()))

    # -- editing in place -------------------------------------------------------------------------
    def start_edit(self, index: int) -> None:
        """Open the in-place editor on the column's main setting (the input: its shape)."""
        if not self.panel.is_editable():
            return
        spec = self.panel.spec()
        layers = edits.layers_of(spec)
        if index < 0:
            text, hint = format_shape(spec.get("input_shape")), "input shape: 784 or 1x28x28"
        elif index < len(layers) and edits.main_setting(layers[index]):
            name = edits.main_setting(layers[index])
            value = layers[index].get(name)
            text = format_shape(value) if name == "shape" else ("" if value is None else str(value))
            hint = name.replace("_", " ")
        else:
            return
        self.view.start_edit(index, text, f"{hint} · Enter applies, Esc cancels")

    def _on_edit_committed(self, index: int, text: str) -> None:
        spec = self.panel.spec()
        layers = edits.layers_of(spec)
        if index < 0:
            spec["input_shape"] = parse_shape(text)
            self.panel.push_edit("Change input shape", spec)
        elif index < len(layers) and edits.main_setting(layers[index]):
            name = edits.main_setting(layers[index])
            value = _parse(name, text)
            if value is None:
                self.panel.show_notice(f"{name.replace('_', ' ')} must be a number, got {text.strip()!r}")
            elif value != layers[index].get(name):
                after = edits.set_setting(spec, index, name, value)
                self.panel.push_edit(f"Change {name} of layer {index + 1}", after)
        self.view.setFocus()

    # -- context menus ----------------------------------------------------------------------------
    def _on_context_menu_requested(self, index: int, where: QPoint) -> None:
        self.menu = self.column_menu(index) if index >= 0 else self.background_menu()
        self.menu.popup(where)

    def _types_menu(self, title: str, parent: QMenu, choose: Callable[[str], None], why) -> QMenu:
        """A submenu of layer types; a type that cannot be used there is greyed with the reason."""
        menu = parent.addMenu(title)
        menu.setToolTipsVisible(True)
        for kind in layer_types():
            action = menu.addAction(kind, lambda k=kind: choose(k))
            reason = why(kind)
            if reason:
                action.setEnabled(False)
                action.setToolTip(reason)
        return menu

    def column_menu(self, index: int) -> QMenu:
        """The right-click menu of layer ``index`` (which the right-click has selected)."""
        self.sync()
        spec = self.panel.spec()
        entry = edits.layers_of(spec)[index]
        ok = self.panel.is_editable()
        menu = QMenu(self.view)
        menu.setToolTipsVisible(True)
        menu.addSection(f"Layer {index + 1}: {kind_of(entry)}")
        for title, at in (("Insert &before", index), ("Insert &after", index + 1)):
            sub = self._types_menu(title, menu, lambda k, at=at: self.insert(k, at),
                                   lambda k, at=at: edits.insert_problem(spec, at, k))  # fmt: skip
            sub.setEnabled(ok)
        current = kind_of(entry)
        sub = self._types_menu("Change &type", menu, lambda k: self.change_type(index, k),
                               lambda k: edits.change_type_problem(spec, index, k) if k != current else None)  # fmt: skip
        sub.setEnabled(ok)
        for action in sub.actions():
            action.setCheckable(True)
            action.setChecked(action.text() == current)
        if edits.has_activation(entry):
            act = menu.addMenu("Acti&vation")
            act.setEnabled(ok)
            chosen = entry.get("activation", "linear")
            for name in (n for n in ACTIVATIONS if n != "none"):
                action = act.addAction(name, lambda n=name: self.set_activation(index, n))
                action.setCheckable(True)
                action.setChecked(name == chosen)
        menu.addSeparator()
        for action in (self.edit_action, self.more_action, self.fewer_action):
            if action.isEnabled():
                menu.addAction(action)
        menu.addSeparator()
        for action in (
            self.duplicate_action,
            self.move_left_action,
            self.move_right_action,
            self.remove_action,
        ):
            menu.addAction(action)
        return menu

    def background_menu(self) -> QMenu:
        """The right-click menu of the drawing's background and of the input column."""
        spec = self.panel.spec()
        ok = self.panel.is_editable()
        end = len(edits.layers_of(spec))
        menu = QMenu(self.view)
        menu.setToolTipsVisible(True)
        add = self._types_menu("&Add layer at the end", menu, lambda k: self.insert(k, end),
                               lambda k: edits.insert_problem(spec, end, k))  # fmt: skip
        add.setEnabled(ok)
        shape = menu.addAction(
            f"&Input shape… ({format_shape(spec.get('input_shape'))})", lambda: self.start_edit(-1)
        )
        shape.setEnabled(ok)
        loss_menu = menu.addMenu("&Loss")
        loss_menu.setEnabled(ok)
        for name in (n for n in LOSSES if n != "cross_entropy"):
            action = loss_menu.addAction(name, lambda n=name: self.set_loss(n))
            action.setCheckable(True)
            action.setChecked(name == spec.get("loss", "softmax_cross_entropy"))
        menu.addSeparator()
        for action in (
            self.zoom_in_action,
            self.zoom_out_action,
            self.zoom_fit_action,
            self.zoom_reset_action,
        ):
            menu.addAction(action)
        return menu


def _parse(name: str, text: str) -> Any:
    """The value typed for a setting: an int, a float, or a shape; None if it is not one."""
    text = text.strip()
    if name == "shape":
        return parse_shape(text)
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if name in INT_SETTINGS:
        return int(value) if float(value).is_integer() else None
    return float(value)
