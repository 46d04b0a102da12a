"""Editing on the designer's drawing: palette drops, column drags, +/-, menus, keys, undo."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import json  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QWheelEvent,
)
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMenu  # noqa: E402

from desktop.design import TEMPLATES_DIR  # noqa: E402
from desktop.widgets.designer import DesignerPanel  # noqa: E402
from tests.desktop.conftest import IMAGE_NET  # noqa: E402

# The offscreen platform cannot raise a popup menu or let it grab the keyboard; it says so.
pytestmark = pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
NONE = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
LEFT = Qt.MouseButton.LeftButton
# Flat input: dense, dropout, dense.
MLP = {
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 4, "activation": "relu"},
        {"type": "dropout", "rate": 0.5},
        {"type": "dense", "units": 1, "activation": "sigmoid"},
    ],
    "loss": "mse",
}


@pytest.fixture
def panel(qtbot) -> DesignerPanel:
    p = DesignerPanel()
    qtbot.addWidget(p)
    p.resize(1000, 560)
    p.show()
    qtbot.waitExposed(p)
    p.activateWindow()
    p.set_spec(MLP, undoable=False)
    return p


def kinds(panel) -> list[str]:
    return [entry["type"] for entry in panel.spec()["layers"]]


def centre(panel, index: int) -> QPoint:
    return panel.view.body_rect(index).center().toPoint()


def undo(panel) -> None:
    """Ctrl+Z as a person presses it, wherever the focus is in the panel."""
    QTest.keyClick(panel.view, Qt.Key.Key_Z, CTRL)


def redo(panel) -> None:
    QTest.keyClick(panel.view, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)


def drag_palette_item(panel, kind: str, points: list[QPointF], drop: bool = True) -> None:
    """What Qt delivers to the drawing while a palette item is dragged over it: enter, moves, drop."""
    palette, view = panel.palette, panel.view
    item = palette.item(palette.kinds().index(kind))
    data = palette.mimeData([item])
    copy = Qt.DropAction.CopyAction
    first = points[0].toPoint()
    QApplication.sendEvent(view, QDragEnterEvent(first, copy, data, LEFT, NONE))
    for p in points:
        QApplication.sendEvent(view, QDragMoveEvent(p.toPoint(), copy, data, LEFT, NONE))
    if drop:
        QApplication.sendEvent(view, QDropEvent(points[-1], copy, data, LEFT, NONE))


def gap_point(panel, gap: int) -> QPointF:
    return QPointF(panel.view.gap_x(gap), panel.view.height() / 2)


def trigger(menu: QMenu, *path: str) -> None:
    """Trigger the entry reached through submenus named ``path`` (ampersands ignored), then
    close the menu as a click on the entry does."""
    root = menu
    *subs, last = path
    for name in subs:
        menu = next(a.menu() for a in menu.actions() if a.menu() and a.text().replace("&", "") == name)
    action = next(a for a in menu.actions() if a.text().replace("&", "") == last)
    assert action.isEnabled(), f"{last} is disabled: {action.toolTip()}"
    action.trigger()
    root.close()


def right_click(panel, pos: QPoint) -> QMenu:
    """A right-click where Qt sends a context-menu event; returns the menu it opened."""
    view = panel.view
    QTest.mousePress(view, Qt.MouseButton.RightButton, NONE, pos)
    QTest.mouseRelease(view, Qt.MouseButton.RightButton, NONE, pos)
    if panel.drawing.menu is None:
        # QTest's press goes straight to the widget, so the platform's context-menu event that
        # follows a real right-click is not made offscreen: send the one Qt sends.
        event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.mapToGlobal(pos))
        QApplication.sendEvent(view, event)
    menu = panel.drawing.menu
    assert menu is not None and menu.isVisible()
    panel.drawing.menu = None
    return menu


# -- the palette ---------------------------------------------------------------------------------
def test_a_palette_item_dropped_between_two_columns_is_inserted_there(qtbot, panel):
    panel.set_spec(IMAGE_NET, undoable=False)
    before = panel.spec()
    path = [QPointF(20 + 10 * i, 200) for i in range(5)] + [gap_point(panel, 1)]
    drag_palette_item(panel, "dropout", path, drop=False)
    assert panel.view.hover() == (1, None)  # the blue bar between the flatten and the dense
    data = panel.palette.mimeData([panel.palette.item(panel.palette.kinds().index("dropout"))])
    QApplication.sendEvent(panel.view, QDropEvent(path[-1], Qt.DropAction.CopyAction, data, LEFT, NONE))
    assert kinds(panel) == ["flatten", "dropout", "dense"]
    assert panel.spec()["layers"][1] == {"type": "dropout", "rate": 0.5}
    assert panel.selected_layer() == 1
    assert panel.view.hover() is None
    undo(panel)
    assert panel.spec() == before
    redo(panel)
    assert kinds(panel) == ["flatten", "dropout", "dense"]


def test_dropping_at_the_ends_prepends_and_appends(qtbot, panel):
    drag_palette_item(panel, "relu", [gap_point(panel, 3)])
    assert kinds(panel) == ["dense", "dropout", "dense", "relu"]
    drag_palette_item(panel, "batchnorm", [QPointF(panel.view.gap_x(0) + 2, 150)])
    assert kinds(panel) == ["batchnorm", "dense", "dropout", "dense", "relu"]
    undo(panel)
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]


def test_an_impossible_drop_says_why_while_hovering_and_changes_nothing(qtbot, panel):
    panel.set_spec(IMAGE_NET, undoable=False)
    before, steps = panel.spec(), panel.undo_stack.count()
    drag_palette_item(panel, "dense", [gap_point(panel, 0)], drop=False)
    gap, reason = panel.view.hover()
    assert gap == 0
    assert "needs a flat input but gets 1x8x8" in reason
    assert panel.view.toolTip() == reason
    drag_palette_item(panel, "dense", [gap_point(panel, 0)])
    assert panel.spec() == before
    assert panel.undo_stack.count() == steps
    assert panel.notice_label.isVisibleTo(panel)
    assert "No dense here" in panel.notice_label.text()
    assert "flat input" in panel.notice_label.text()
    # The next edit that works clears the notice.
    drag_palette_item(panel, "dropout", [gap_point(panel, 2)])
    assert kinds(panel) == ["flatten", "dense", "dropout"]
    assert not panel.notice_label.isVisibleTo(panel)


def test_double_clicking_a_palette_item_adds_it_after_the_selection(qtbot, panel):
    panel.select_layer(0)
    item = panel.palette.item(panel.palette.kinds().index("tanh"))
    rect = panel.palette.visualItemRect(item)
    QTest.mouseClick(panel.palette.viewport(), LEFT, NONE, rect.center())
    QTest.mouseDClick(panel.palette.viewport(), LEFT, NONE, rect.center())
    assert kinds(panel) == ["dense", "tanh", "dropout", "dense"]


def test_palette_icons_use_the_drawings_colours(panel):
    from desktop.widgets.network_view import kind_colour

    item = panel.palette.item(panel.palette.kinds().index("conv2d"))
    image = item.icon().pixmap(18, 18).toImage()
    assert image.pixelColor(image.width() // 2, image.height() // 2) == kind_colour("conv2d")


# -- dragging columns ------------------------------------------------------------------------------
def drag_column(view, start: QPoint, end: QPoint, steps: int = 8) -> None:
    QTest.mousePress(view, LEFT, NONE, start)
    for i in range(1, steps + 1):
        QTest.mouseMove(view, start + (end - start) * i / steps)
    QTest.mouseRelease(view, LEFT, NONE, end)


def test_dragging_a_column_reorders_in_one_undo_step(qtbot, panel):
    view, steps = panel.view, panel.undo_stack.count()
    start = centre(panel, 1)  # the dropout
    end = QPoint(int(view.gap_x(3)) - 2, start.y())  # past the last dense
    QTest.mousePress(view, LEFT, NONE, start)
    QTest.mouseMove(view, (start + end) / 2)
    QTest.mouseMove(view, end)
    assert view.hover() == (3, None)
    QTest.mouseRelease(view, LEFT, NONE, end)
    assert kinds(panel) == ["dense", "dense", "dropout"]
    assert panel.selected_layer() == 2
    assert panel.undo_stack.count() == steps + 1
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]
    redo(panel)
    assert kinds(panel) == ["dense", "dense", "dropout"]


def test_a_column_dragged_where_it_cannot_go_stays_and_says_why(qtbot, panel):
    panel.set_spec(IMAGE_NET, undoable=False)
    before = panel.spec()
    drag_column(panel.view, centre(panel, 0), QPoint(int(panel.view.gap_x(2)) - 2, 200))
    assert panel.spec() == before
    assert "The flatten cannot go here" in panel.notice_label.text()


def test_a_click_without_moving_only_selects(qtbot, panel):
    steps = panel.undo_stack.count()
    QTest.mouseClick(panel.view, LEFT, NONE, centre(panel, 2))
    assert panel.selected_layer() == 2
    assert panel.undo_stack.count() == steps


# -- +/- and the wheel -----------------------------------------------------------------------------
def test_plus_and_minus_buttons_step_the_units_each_click_one_undo_step(qtbot, panel):
    minus, plus = panel.view.stepper_rects(0)
    assert panel.view.stepper_rects(1) is None  # a dropout has no units
    QTest.mouseClick(panel.view, LEFT, NONE, plus.center().toPoint())
    assert panel.spec()["layers"][0]["units"] == 5
    assert panel.setting_widgets["units"].value() == 5
    QTest.mouseClick(panel.view, LEFT, NONE, minus.center().toPoint())
    QTest.mouseClick(panel.view, LEFT, NONE, minus.center().toPoint())
    assert panel.spec()["layers"][0]["units"] == 3
    assert [c.neurons for c in panel.view.columns()][1] == 3
    undo(panel)
    assert panel.spec()["layers"][0]["units"] == 4
    redo(panel)
    assert panel.spec()["layers"][0]["units"] == 3


def test_conv_columns_step_filters_along_the_ladder(qtbot, panel):
    spec = json.loads((TEMPLATES_DIR / "mnist_cnn.json").read_text(encoding="utf-8"))
    panel.set_spec(spec, undoable=False)
    conv = next(i for i, e in enumerate(spec["layers"]) if e["type"] == "conv2d")
    filters = spec["layers"][conv]["filters"]
    panel.select_layer(conv)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_Plus)
    assert panel.spec()["layers"][conv]["filters"] > filters
    assert panel.drawing.more_action.text() == "&More filters"
    QTest.keyClick(panel.view, Qt.Key.Key_Minus)
    assert panel.spec()["layers"][conv]["filters"] == filters


def wheel(view, pos: QPoint, notches: int, modifiers) -> None:
    event = QWheelEvent(
        QPointF(pos), QPointF(view.mapToGlobal(pos)), QPoint(), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(view, event)


def test_shift_wheel_steps_units_and_one_spin_is_one_undo_step(qtbot, panel):
    steps = panel.undo_stack.count()
    for _ in range(3):
        wheel(panel.view, centre(panel, 0), 1, Qt.KeyboardModifier.ShiftModifier)
    assert panel.spec()["layers"][0]["units"] == 7
    assert panel.undo_stack.count() == steps + 1
    wheel(panel.view, centre(panel, 0), 1, NONE)  # a plain wheel scrolls, it does not edit
    assert panel.spec()["layers"][0]["units"] == 7
    undo(panel)
    assert panel.spec()["layers"][0]["units"] == 4


def test_ctrl_wheel_zooms(qtbot, panel):
    wheel(panel.view, centre(panel, 0), -1, CTRL)
    assert panel.view.zoom() < 1.0
    assert panel.spec() == MLP


# -- menus -----------------------------------------------------------------------------------------
def test_column_menu_insert_type_activation_duplicate_remove(qtbot, panel):
    menu = right_click(panel, centre(panel, 2))
    assert panel.selected_layer() == 2
    texts = [a.text().replace("&", "") for a in menu.actions()]
    assert {"Insert before", "Insert after", "Change type", "Activation", "Remove layer"} <= set(texts)
    remove = next(a for a in menu.actions() if a.text() == "&Remove layer")
    assert remove.shortcut().toString() == "Del"  # the shortcut is shown in the menu
    trigger(menu, "Insert before", "tanh")
    assert kinds(panel) == ["dense", "dropout", "tanh", "dense"]
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]

    trigger(right_click(panel, centre(panel, 0)), "Insert after", "batchnorm")
    assert kinds(panel) == ["dense", "batchnorm", "dropout", "dense"]
    trigger(right_click(panel, centre(panel, 0)), "Activation", "tanh")
    assert panel.spec()["layers"][0]["activation"] == "tanh"
    trigger(right_click(panel, centre(panel, 0)), "Duplicate layer")
    assert panel.spec()["layers"][1] == panel.spec()["layers"][0]
    trigger(right_click(panel, centre(panel, 1)), "Change type", "dropout")
    assert kinds(panel) == ["dense", "dropout", "batchnorm", "dropout", "dense"]
    trigger(right_click(panel, centre(panel, 1)), "Remove layer")
    assert kinds(panel) == ["dense", "batchnorm", "dropout", "dense"]
    for expected in (5, 5, 4, 4, 3):
        undo(panel)
        assert len(panel.spec()["layers"]) == expected
    assert panel.spec()["layers"][0]["activation"] == "relu"


def test_menu_greys_a_type_that_cannot_fit_and_says_why(qtbot, panel):
    panel.set_spec(IMAGE_NET, undoable=False)
    menu = right_click(panel, centre(panel, 0))
    before = next(a.menu() for a in menu.actions() if a.text() == "Insert &before")
    dense = next(a for a in before.actions() if a.text() == "dense")
    assert not dense.isEnabled()
    assert "flat input" in dense.toolTip()


def between_columns(panel) -> QPoint:
    empty = QPoint(int(panel.view.gap_x(2)), panel.view.height() // 2)
    assert panel.view.column_at(QPointF(empty), tight=True) is None
    return empty


def test_background_menu_adds_a_layer_sets_the_loss_and_the_input_shape(qtbot, panel):
    trigger(right_click(panel, between_columns(panel)), "Add layer at the end", "sigmoid")
    assert kinds(panel)[-1] == "sigmoid"
    trigger(right_click(panel, between_columns(panel)), "Loss", "binary_cross_entropy")
    assert panel.spec()["loss"] == "binary_cross_entropy"
    menu = right_click(panel, between_columns(panel))
    trigger(
        menu, next(a.text() for a in menu.actions() if a.text().startswith("&Input shape")).replace("&", "")
    )
    editor = panel.view.editor
    assert editor.isVisible() and editor.text() == "2"
    QTest.keyClicks(editor, "3")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert panel.spec()["input_shape"] == [3]
    undo(panel)
    assert panel.spec()["input_shape"] == [2]


# -- keys ------------------------------------------------------------------------------------------
def test_delete_and_backspace_remove_the_selected_layer(qtbot, panel):
    QTest.mouseClick(panel.view, LEFT, NONE, centre(panel, 1))
    QTest.keyClick(panel.view, Qt.Key.Key_Delete)
    assert kinds(panel) == ["dense", "dense"]
    assert panel.selected_layer() == 1
    QTest.keyClick(panel.view, Qt.Key.Key_Backspace)
    assert kinds(panel) == ["dense"]
    undo(panel)
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]
    redo(panel)
    assert kinds(panel) == ["dense", "dense"]


def test_arrows_move_the_selection_and_ctrl_arrows_the_layer(qtbot, panel):
    QTest.mouseClick(panel.view, LEFT, NONE, centre(panel, 0))
    QTest.keyClick(panel.view, Qt.Key.Key_Right)
    QTest.keyClick(panel.view, Qt.Key.Key_Right)
    assert panel.selected_layer() == 2
    QTest.keyClick(panel.view, Qt.Key.Key_Right)
    assert panel.selected_layer() == 2  # stays on the last
    QTest.keyClick(panel.view, Qt.Key.Key_Left)
    assert panel.selected_layer() == 1
    QTest.keyClick(panel.view, Qt.Key.Key_Left, CTRL)
    assert kinds(panel) == ["dropout", "dense", "dense"]
    assert panel.selected_layer() == 0
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]


def test_f2_and_double_click_edit_the_main_setting_in_place(qtbot, panel):
    QTest.mouseClick(panel.view, LEFT, NONE, centre(panel, 0))
    QTest.keyClick(panel.view, Qt.Key.Key_F2)
    editor = panel.view.editor
    assert editor.isVisible() and editor.text() == "4"
    QTest.keyClicks(editor, "12")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert panel.spec()["layers"][0]["units"] == 12
    assert not editor.isVisible()
    undo(panel)
    assert panel.spec()["layers"][0]["units"] == 4

    QTest.mouseDClick(panel.view, LEFT, NONE, centre(panel, 1))
    assert editor.isVisible() and editor.text() == "0.5"
    QTest.keyClicks(editor, "0.2")
    QTest.keyClick(editor, Qt.Key.Key_Escape)  # cancels
    assert panel.spec()["layers"][1]["rate"] == 0.5

    QTest.mouseDClick(panel.view, LEFT, NONE, centre(panel, 0))
    QTest.keyClicks(editor, "many")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert panel.spec()["layers"][0]["units"] == 4
    assert "units must be a number" in panel.notice_label.text()


# -- deep networks, locking ----------------------------------------------------------------------
def test_the_large_cnn_scrolls_or_zooms_to_fit_and_its_labels_never_overlap(qtbot, panel):
    assert panel.load_template("mnist_cnn_large")
    view = panel.view
    QApplication.processEvents()
    n = len(panel.spec()["layers"])
    slots = [view.column_rect(i) for i in range(-1, n)]
    for a, b in zip(slots, slots[1:], strict=False):
        assert a.right() <= b.left() + 0.5
    metrics = view.fontMetrics()
    for column, slot in zip(view.columns(), slots, strict=True):
        assert metrics.horizontalAdvance(column.shape) < slot.width()  # the labels fit their strip
    viewport = panel.scroll_area.viewport().width()
    assert view.width() > viewport  # wider than the window: a scroll bar
    panel.drawing.zoom_fit_action.trigger()
    QApplication.processEvents()
    assert view.zoom() < 1.0
    assert view.minimumSizeHint().width() <= viewport
    panel.drawing.zoom_reset_action.trigger()
    assert view.zoom() == 1.0


def test_a_locked_panel_takes_no_gestures(qtbot, panel):
    panel.set_editable(False)
    before = panel.spec()
    drag_palette_item(panel, "relu", [gap_point(panel, 1)])
    minus, plus = panel.view.stepper_rects(0)
    QTest.mouseClick(panel.view, LEFT, NONE, plus.center().toPoint())
    drag_column(panel.view, centre(panel, 0), QPoint(int(panel.view.gap_x(3)) - 2, 200))
    QTest.keyClick(panel.view, Qt.Key.Key_Delete)
    assert panel.spec() == before
    assert not panel.drawing.remove_action.isEnabled()
    panel.set_editable(True)
    assert panel.drawing.remove_action.isEnabled()


def test_edit_actions_are_listed_for_the_window_menu(panel):
    actions = [a for a in panel.edit_actions() if a is not None]
    assert panel.drawing.remove_action in actions
    assert all(a.shortcut().toString() for a in actions)


def test_a_finger_drags_a_column_like_the_mouse(qtbot, panel):
    device = QTest.createTouchDevice()
    view = panel.view
    start = centre(panel, 1)
    end = QPoint(int(view.gap_x(3)) - 2, start.y())
    QTest.touchEvent(view, device).press(0, start, view).commit()
    for i in range(1, 9):
        QTest.touchEvent(view, device).move(0, start + (end - start) * i / 8, view).commit()
    QTest.touchEvent(view, device).release(0, end, view).commit()
    assert kinds(panel) == ["dense", "dense", "dropout"]
    undo(panel)
    assert kinds(panel) == ["dense", "dropout", "dense"]


def test_zoomed_out_clicks_and_drops_land_on_the_same_columns(qtbot, panel):
    panel.drawing.zoom_out_action.trigger()
    panel.drawing.zoom_out_action.trigger()
    view = panel.view
    assert view.zoom() < 0.8
    QTest.mouseClick(view, LEFT, NONE, centre(panel, 2))
    assert panel.selected_layer() == 2
    drag_palette_item(panel, "tanh", [gap_point(panel, 1)])
    assert kinds(panel) == ["dense", "tanh", "dropout", "dense"]


def test_dragging_to_the_edge_of_a_deep_network_scrolls_it(qtbot, panel):
    assert panel.load_template("mnist_cnn_large")
    QApplication.processEvents()
    bar = panel.scroll_area.horizontalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    edge = panel.scroll_area.viewport().width() - 4
    start = centre(panel, 1)
    QTest.mousePress(panel.view, LEFT, NONE, start)
    for x in range(start.x(), edge, 20):
        QTest.mouseMove(panel.view, QPoint(x, start.y()))
    QTest.mouseMove(panel.view, QPoint(edge, start.y()))
    assert bar.value() > 0
    QTest.keyClick(panel.view, Qt.Key.Key_Escape)  # cancels the drag: nothing moves
    QTest.mouseRelease(panel.view, LEFT, NONE, QPoint(edge, start.y()))
    assert panel.undo_stack.count() == 1  # only the template load


def test_delete_in_the_layer_list_removes_too(qtbot, panel):
    panel.select_layer(1)
    panel.layer_list.setFocus()
    QTest.keyClick(panel.layer_list, Qt.Key.Key_Delete)
    assert kinds(panel) == ["dense", "dense"]


def test_an_undo_during_an_edit_in_place_closes_the_editor_without_applying(qtbot, panel):
    QTest.mouseClick(panel.view, LEFT, NONE, centre(panel, 2))
    QTest.mouseClick(panel.view, LEFT, NONE, panel.view.stepper_rects(2)[1].center().toPoint())
    QTest.keyClick(panel.view, Qt.Key.Key_F2)
    assert panel.view.editor.isVisible()
    panel.undo_stack.undo()  # the Edit menu's Undo, while the editor is open
    assert not panel.view.editor.isVisible()
    assert panel.spec() == MLP


def test_a_touchpad_steps_once_per_notch_of_small_deltas(qtbot, panel):
    view = panel.view
    for _ in range(8):  # 8 x 15 = one notch
        event = QWheelEvent(
            QPointF(centre(panel, 0)), QPointF(view.mapToGlobal(centre(panel, 0))), QPoint(0, 2),
            QPoint(0, 15), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ShiftModifier,
            Qt.ScrollPhase.ScrollUpdate, False,
        )  # fmt: skip
        QApplication.sendEvent(view, event)
    assert panel.spec()["layers"][0]["units"] == 5
