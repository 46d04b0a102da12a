"""The network designer: editing through its widgets, validation, undo, templates, weights."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import copy  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from desktop.design import (  # noqa: E402
    CNN_RECIPE,
    MLP_RECIPE,
    TEMPLATE_RECIPES,
    TEMPLATES_DIR,
    parse_shape,
    recipe_for,
)
from desktop.widgets.designer import DesignerPanel  # noqa: E402
from netcore.spec import check_spec  # noqa: E402
from tests.desktop.conftest import IMAGE_NET  # noqa: E402

XOR = json.loads((TEMPLATES_DIR / "xor.json").read_text(encoding="utf-8"))


@pytest.fixture
def panel(qtbot) -> DesignerPanel:
    p = DesignerPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.set_spec(XOR, undoable=False)
    return p


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_into(qtbot, widget, text: str) -> None:
    """Select what the editor holds and type ``text`` key by key, as a user would."""
    line_edit = widget.lineEdit() if hasattr(widget, "lineEdit") and widget.lineEdit() else widget
    line_edit.selectAll()
    qtbot.keyClicks(line_edit, text)


def record(signal) -> list[tuple]:
    """Every emission of ``signal`` from now on, as argument tuples."""
    emitted: list[tuple] = []
    signal.connect(lambda *args: emitted.append(args))
    return emitted


def layer_types(panel) -> list[str]:
    return [entry["type"] for entry in panel.spec()["layers"]]


# -- editing through the widgets --------------------------------------------------------------
def test_typing_units_changes_the_spec_the_list_and_the_counts(qtbot, panel):
    panel.select_layer(0)
    spin = panel.setting_widgets["units"]
    with qtbot.waitSignal(panel.spec_changed) as blocker:
        type_into(qtbot, spin, "8")
    assert blocker.args[0]["layers"][0]["units"] == 8
    assert panel.spec()["layers"][0] == {"type": "dense", "units": 8, "activation": "sigmoid"}
    assert "Dense(2 -> 8, sigmoid)" in panel.layer_list.item(0).text()
    assert "Dense(8 -> 1, sigmoid)" in panel.layer_list.item(1).text()
    # 2*8 + 8 and 8*1 + 1 parameters
    assert "33 parameters" in panel.totals_label.text()
    assert [c.neurons for c in panel.view.columns()] == [2, 8, 1]


def test_typing_a_number_is_one_undo_step(qtbot, panel):
    panel.select_layer(0)
    before = panel.undo_stack.count()
    type_into(qtbot, panel.setting_widgets["units"], "12")
    assert panel.spec()["layers"][0]["units"] == 12
    assert panel.undo_stack.count() == before + 1
    panel.undo_stack.undo()
    assert panel.spec()["layers"][0]["units"] == 4
    assert panel.setting_widgets["units"].value() == 4


def test_changing_activation_and_loss(qtbot, panel):
    panel.select_layer(1)
    panel.setting_widgets["activation"].setCurrentText("tanh")
    assert panel.spec()["layers"][1]["activation"] == "tanh"
    panel.loss_combo.setCurrentText("binary_cross_entropy")
    assert panel.spec()["loss"] == "binary_cross_entropy"
    assert panel.is_valid()
    panel.setting_widgets["activation"].setCurrentText("sigmoid")
    assert not panel.is_valid()
    assert "binary_cross_entropy applies the sigmoid itself" in panel.validation_message()
    assert panel.view.columns()[2].invalid


def test_add_insert_remove_and_move_with_the_buttons(qtbot, panel):
    panel._type_to_add.setCurrentText("dropout")
    click(qtbot, panel.add_button)
    assert layer_types(panel) == ["dense", "dense", "dropout"]
    assert panel.spec()["layers"][2] == {"type": "dropout", "rate": 0.5}
    assert panel.selected_layer() == 2

    panel.select_layer(1)
    panel._type_to_add.setCurrentText("relu")
    click(qtbot, panel.insert_button)
    assert layer_types(panel) == ["dense", "relu", "dense", "dropout"]
    assert panel.selected_layer() == 1

    click(qtbot, panel.down_button)
    assert layer_types(panel) == ["dense", "dense", "relu", "dropout"]
    assert panel.selected_layer() == 2
    click(qtbot, panel.up_button)
    click(qtbot, panel.up_button)
    assert layer_types(panel) == ["relu", "dense", "dense", "dropout"]
    assert not panel.up_button.isEnabled()

    panel.select_layer(3)
    click(qtbot, panel.remove_button)
    assert layer_types(panel) == ["relu", "dense", "dense"]
    assert panel.selected_layer() == 2
    assert not panel.down_button.isEnabled()
    assert panel.layer_list.count() == 3
    assert len(panel.view.columns()) == 4


def test_the_type_combo_replaces_the_layer_keeping_what_fits(qtbot, panel):
    panel.select_layer(0)
    panel.type_combo.setCurrentText("dropout")
    assert panel.spec()["layers"][0] == {"type": "dropout", "rate": 0.5}
    assert set(panel.setting_widgets) == {"rate"}
    type_into(qtbot, panel.setting_widgets["rate"], "0.25")
    assert panel.spec()["layers"][0]["rate"] == 0.25


def test_clicking_a_layer_in_the_drawing_selects_it(qtbot, panel):
    panel.view.resize(500, 400)
    rect = panel.view.column_rect(1)
    assert not rect.isEmpty()
    QTest.mouseClick(panel.view, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert panel.selected_layer() == 1
    assert panel.layer_list.currentRow() == 1
    assert panel._form_box.title() == "Layer 2"


# -- validation ------------------------------------------------------------------------------------
def test_dense_after_an_image_input_is_invalid_until_a_flatten_comes(qtbot, panel):
    emitted = record(panel.validity_changed)
    type_into(qtbot, panel.input_edit, "1x28x28")
    # Every keystroke is checked: "1" and "1x" (a flat input of 1) are valid, "1x2" is not.
    assert emitted[0] == (
        False,
        "layer 1 (dense) needs a flat input but gets 1x2: insert a flatten before it",
    )
    valid, message = emitted[-1]
    assert not valid
    assert message == "layer 1 (dense) needs a flat input but gets 1x28x28: insert a flatten before it"
    assert panel.spec()["input_shape"] == [1, 28, 28]
    assert not panel.is_valid()
    assert panel.error_label.text() == message
    first = panel.layer_list.item(0)
    assert first.foreground().color().red() > 150 and first.text().startswith("⚠")
    columns = panel.view.columns()
    assert [c.invalid for c in columns] == [False, True, False]
    assert columns[2].unknown

    panel.select_layer(0)
    panel._type_to_add.setCurrentText("flatten")
    with qtbot.waitSignal(panel.validity_changed) as blocker:
        click(qtbot, panel.insert_button)
    assert blocker.args == [True, ""]
    assert layer_types(panel) == ["flatten", "dense", "dense"]
    assert "Flatten(1x28x28 -> 784)" in panel.layer_list.item(0).text()
    assert not panel.error_label.isVisibleTo(panel)


@pytest.mark.parametrize("text", ["abc", "0", "-5", "2x0"])
def test_a_wrong_input_shape_gives_the_engines_message(qtbot, panel, text):
    with qtbot.waitSignal(panel.validity_changed) as blocker:
        type_into(qtbot, panel.input_edit, text)
    valid, message = blocker.args
    assert not valid
    assert message.startswith("input_shape must be a list of positive integers")
    assert panel.view.columns()[0].invalid
    assert "fee2e2" in panel.input_edit.styleSheet()
    assert panel.input_edit.text() == text  # the user's text is left alone


def test_a_dense_after_a_conv_output_needs_a_flatten(qtbot, panel):
    spec = {
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same"},
            {"type": "dense", "units": 10},
        ],
        "loss": "softmax_cross_entropy",
    }
    panel.set_spec(spec)
    assert not panel.is_valid()
    assert "layer 2 (dense) needs a flat input but gets 4x8x8" in panel.validation_message()
    assert [c.invalid for c in panel.view.columns()] == [False, False, True]
    panel.select_layer(0)
    assert {"filters", "kernel_size", "stride", "padding", "activation"} <= set(panel.setting_widgets)
    type_into(qtbot, panel.setting_widgets["padding"], "2")
    assert panel.spec()["layers"][0]["padding"] == 2
    type_into(qtbot, panel.setting_widgets["padding"], "valid")
    assert panel.spec()["layers"][0]["padding"] == "valid"
    assert "layer 2 (dense) needs a flat input but gets 4x6x6" in panel.validation_message()


def test_parse_shape():
    assert parse_shape("784") == [784]
    assert parse_shape(" 1 x 28 x 28 ") == [1, 28, 28]
    assert parse_shape("(1, 28, 28)") == [1, 28, 28]
    assert parse_shape("1x28x") == [1, 28]  # a trailing x while typing is harmless
    assert parse_shape("abc") == "abc"


# -- undo and redo ---------------------------------------------------------------------------------
def test_undo_and_redo_step_by_step(qtbot, panel):
    states = [panel.spec()]
    panel.select_layer(0)
    type_into(qtbot, panel.setting_widgets["units"], "3")
    states.append(panel.spec())
    panel.setting_widgets["activation"].setCurrentText("relu")
    states.append(panel.spec())
    panel._type_to_add.setCurrentText("dropout")
    click(qtbot, panel.add_button)
    states.append(panel.spec())
    click(qtbot, panel.remove_button)
    states.append(panel.spec())
    assert len({json.dumps(s, sort_keys=True) for s in states}) == 4  # add then remove: back to 3

    for expected in reversed(states[:-1]):
        assert panel.undo_action.isEnabled()
        panel.undo_action.trigger()
        assert panel.spec() == expected
    assert not panel.undo_stack.canUndo()
    assert panel.setting_widgets["units"].value() == 4
    for expected in states[1:]:
        panel.redo_action.trigger()
        assert panel.spec() == expected
    assert panel.undo_action.shortcut().toString() == "Ctrl+Z"
    assert panel.redo_action.shortcut().toString() == "Ctrl+Shift+Z"


def test_undo_emits_spec_and_validity(qtbot, panel):
    type_into(qtbot, panel.input_edit, "1x4x4")
    assert not panel.is_valid()
    with qtbot.waitSignals([panel.spec_changed, panel.validity_changed]):
        panel.undo_stack.undo()
    assert panel.is_valid()
    assert panel.spec()["input_shape"] == [2]
    assert panel.input_edit.text() == "2"


def test_set_spec_is_one_undo_step_unless_asked_otherwise(qtbot, panel):
    panel.set_spec(IMAGE_NET)
    assert panel.spec() == IMAGE_NET
    panel.undo_stack.undo()
    assert panel.spec() == XOR
    panel.set_spec(IMAGE_NET, undoable=False)
    assert not panel.undo_stack.canUndo()
    assert panel.spec() == IMAGE_NET


def test_spec_returns_a_copy(panel):
    spec = panel.spec()
    spec["layers"][0]["units"] = 999
    assert panel.spec()["layers"][0]["units"] == 4


# -- templates -------------------------------------------------------------------------------------
def test_templates_load(qtbot, panel):
    names = panel.templates()
    assert names[:2] == ["xor", "mnist_mlp"]
    panel.set_spec(IMAGE_NET)  # differs from every template, so each load is a change
    for name in names:
        with qtbot.waitSignal(panel.spec_changed):
            assert panel.load_template(name)
        expected = json.loads((TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8"))
        assert panel.spec() == expected
        assert panel.is_valid(), panel.validation_message()
        assert len(check_spec(panel.spec())) == panel.layer_list.count()


def test_every_recipe_names_a_shipped_template_and_a_user_template_gets_defaults():
    assert all((TEMPLATES_DIR / f"{name}.json").exists() for name in TEMPLATE_RECIPES)
    assert recipe_for("my_cnn") == CNN_RECIPE and recipe_for("my_net") == MLP_RECIPE


def test_a_missing_template_is_skipped(panel):
    before = panel.spec()
    assert not panel.load_template("no_such_network")
    assert panel.spec() == before


def test_mnist_mlp_is_drawn_as_blocks_and_ten_output_neurons(panel):
    panel.load_template("mnist_mlp")
    columns = panel.view.columns()
    assert [(c.kind, c.shape, c.neurons) for c in columns] == [
        ("input", "784", None),
        ("dense", "128", None),
        ("dense", "10", 10),
    ]
    assert "101,770 parameters" in panel.totals_label.text()


# -- weights and editing lock -----------------------------------------------------------------------
def test_set_weights_colours_the_connections(qtbot, panel):
    panel.resize(900, 600)
    grey = panel.grab().toImage()
    assert panel.view.weighted_connection_count() == 0
    rng = np.random.default_rng(0)
    weights = {"0.W": rng.normal(size=(2, 4)), "0.b": np.zeros(4), "1.W": rng.normal(size=(4, 1))}
    panel.set_weights(weights)
    assert panel.view.weighted_connection_count() == 2 * 4 + 4 * 1
    assert panel.grab().toImage() != grey
    # Weights of another shape (a stale network) are not drawn.
    panel.set_weights({"0.W": np.ones((3, 4))})
    assert panel.view.weighted_connection_count() == 0
    # Editing the design forgets the trained weights.
    panel.set_weights(weights)
    panel.select_layer(1)
    panel.setting_widgets["activation"].setCurrentText("tanh")
    assert panel.view.weighted_connection_count() == 0


def test_set_weights_on_a_large_network_draws_nothing_heavy(panel):
    panel.load_template("mnist_mlp")
    panel.set_weights({"0.W": np.zeros((784, 128), np.float32), "1.W": np.zeros((128, 10), np.float32)})
    assert panel.view.weighted_connection_count() == 0
    panel.grab()


def test_set_editable_locks_the_editors_but_not_the_selection(qtbot, panel):
    panel.select_layer(0)
    type_into(qtbot, panel.setting_widgets["units"], "5")
    assert panel.undo_action.isEnabled()
    panel.set_editable(False)
    for widget in (panel.add_button, panel.insert_button, panel.remove_button, panel.input_edit):
        assert not widget.isEnabled()
    assert not panel.setting_widgets["units"].isEnabled()
    assert not panel.undo_action.isEnabled()
    panel.select_layer(1)
    assert panel.selected_layer() == 1
    panel.set_spec(copy.deepcopy(XOR))  # the window may still replace the design
    assert not panel.undo_action.isEnabled()
    panel.set_editable(True)
    assert panel.undo_action.isEnabled() and panel.add_button.isEnabled()


def test_removing_every_layer_is_invalid_not_a_crash(qtbot, panel):
    for _ in range(2):
        panel.select_layer(0)
        click(qtbot, panel.remove_button)
    assert panel.spec()["layers"] == []
    assert not panel.is_valid()
    assert "non-empty list of layers" in panel.validation_message()
    assert not panel.remove_button.isEnabled()
    panel.grab()
    panel._type_to_add.setCurrentText("dense")
    click(qtbot, panel.add_button)
    assert panel.spec()["layers"] == [{"type": "dense", "units": 16, "activation": "relu"}]


def test_a_hand_written_file_with_odd_layers_shows_errors_not_crashes(qtbot, panel):
    panel.set_spec({"input_shape": [4], "layers": ["oops", {"type": "lstm", "units": 3}], "loss": "mse"})
    assert not panel.is_valid()
    assert panel.validation_message() == 'layer 1 must be an object with a "type"'
    assert panel.view.columns()[1].invalid
    panel.select_layer(1)
    assert panel.type_combo.currentText() == "lstm"
    panel.select_layer(0)
    click(qtbot, panel.remove_button)
    assert "unknown type 'lstm'" in panel.validation_message()
    panel.type_combo.setCurrentText("dense")  # keeps the units=3 that dense also takes
    assert panel.spec()["layers"] == [{"type": "dense", "units": 3, "activation": "relu"}]
    assert panel.is_valid()
