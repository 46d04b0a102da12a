"""The drawing's spec edits and their checks, without Qt (desktop/design_edits.py)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop import design_edits as edits
from desktop.design import TEMPLATES_DIR, layer_types
from netcore.spec import check_spec

MLP = {
    "input_shape": [2],
    "layers": [{"type": "dense", "units": 4}, {"type": "relu"}, {"type": "dense", "units": 1}],
    "loss": "mse",
}
IMAGE_NET = {
    "input_shape": [1, 8, 8],
    "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}],
    "loss": "softmax_cross_entropy",
}


def kinds(spec) -> list[str]:
    return [e["type"] for e in spec["layers"]]


def test_edits_return_new_specs_and_leave_the_input_alone():
    before = copy.deepcopy(MLP)
    results = [
        edits.insert_layer(MLP, 1, "tanh"),
        edits.move_layer(MLP, 0, 3),
        edits.remove_layer(MLP, 1),
        edits.duplicate_layer(MLP, 0),
        edits.change_type(MLP, 1, "sigmoid"),
        edits.step_layer(MLP, 0, +1),
    ]
    assert MLP == before
    assert [kinds(r) for r in results] == [
        ["dense", "tanh", "relu", "dense"],
        ["relu", "dense", "dense"],
        ["dense", "dense"],
        ["dense", "dense", "relu", "dense"],
        ["dense", "sigmoid", "dense"],
        ["dense", "relu", "dense"],
    ]
    assert results[-1]["layers"][0]["units"] == 5


@pytest.mark.parametrize("source", range(3))
@pytest.mark.parametrize("gap", range(4))
def test_a_move_puts_the_layer_into_the_gap(source, gap):
    names = {"input_shape": [2], "layers": [{"type": t} for t in ("relu", "tanh", "sigmoid")]}
    moved = kinds(edits.move_layer(names, source, gap))
    order = ["relu", "tanh", "sigmoid"]
    expected = order[:gap] + [order[source]] + order[gap:]  # put in the gap, then drop the old copy
    del expected[source + (1 if gap <= source else 0)]
    assert moved == expected
    assert moved[edits.move_target(source, gap)] == order[source]


def test_a_layer_that_does_not_fit_is_refused_with_the_engines_reason():
    reason = edits.insert_problem(IMAGE_NET, 0, "dense")
    assert reason.startswith("No dense here: ")
    assert "needs a flat input but gets 1x8x8" in reason
    assert edits.insert_problem(IMAGE_NET, 1, "dense") is None
    assert edits.insert_problem(IMAGE_NET, 0, "conv2d") is None
    # Moving the flatten after the dense breaks the dense.
    assert "flat input" in edits.move_problem(IMAGE_NET, 0, 2)
    assert edits.move_problem(IMAGE_NET, 0, 1) is None  # stays where it is


def test_an_invalid_design_refuses_only_a_new_layer_that_itself_does_not_fit():
    broken = {"input_shape": [1, 8, 8], "layers": [{"type": "dense", "units": 10}], "loss": "mse"}
    assert edits.problem(broken) is not None
    assert edits.insert_problem(broken, 0, "flatten") is None  # the fix
    assert edits.insert_problem(broken, 1, "relu") is None  # the old problem stays, not made worse
    assert edits.insert_problem(broken, 0, "dense") is not None  # the new layer itself fails


def test_every_type_can_be_appended_to_a_valid_flat_network_or_says_why():
    for kind in layer_types():
        reason = edits.insert_problem(MLP, 3, kind)
        if reason is None:
            check_spec(edits.insert_layer(MLP, 3, kind))
        else:
            assert reason.startswith(f"No {kind} here: ")


def test_main_and_stepped_settings():
    assert edits.main_setting({"type": "dense", "units": 3}) == "units"
    assert edits.main_setting({"type": "conv2d"}) == "filters"
    assert edits.main_setting({"type": "relu"}) is None
    assert edits.stepped_setting({"type": "conv2d"}) == "filters"
    assert edits.stepped_setting({"type": "dropout"}) is None
    assert edits.has_activation({"type": "dense"})
    assert not edits.has_activation({"type": "flatten"})


def test_the_units_ladder():
    up = [1]
    while up[-1] < 128:
        up.append(edits.step_value(up[-1], +1))
    assert up == [*range(1, 17), 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128]
    assert edits.step_value(1, -1) == 1  # never below one
    assert edits.step_value(4096, +1, "filters") == 4096
    assert edits.step_value(100, +1) == 112 and edits.step_value(100, -1) == 96


@given(st.integers(1, 60000))
def test_a_step_up_then_down_returns_to_a_ladder_value_at_or_below(value):
    up = edits.step_value(value, +1)
    assert up > value
    back = edits.step_value(up, -1)
    assert back <= value < up
    assert edits.step_value(back, +1) == up


def test_the_large_cnn_takes_a_dropout_anywhere_after_its_flatten():
    spec = json.loads((TEMPLATES_DIR / "mnist_cnn_large.json").read_text(encoding="utf-8"))
    flatten = kinds(spec).index("flatten")
    for gap in range(flatten + 1, len(spec["layers"]) + 1):
        assert edits.insert_problem(spec, gap, "dropout") is None
    assert edits.insert_problem(spec, 0, "dense") is not None


def test_a_new_reshape_fits_where_it_is_dropped():
    mlp = json.loads((TEMPLATES_DIR / "mnist_mlp.json").read_text(encoding="utf-8"))
    assert edits.shape_before(mlp, 0) == (784,)
    assert edits.shape_before(mlp, 1) == (mlp["layers"][0]["units"],)
    # 784 values arrive: the default 1x28x28 is kept; elsewhere it keeps the arriving shape.
    assert edits.insert_layer(mlp, 0, "reshape")["layers"][0]["shape"] == [1, 28, 28]
    assert edits.insert_layer(mlp, 1, "reshape")["layers"][1]["shape"] == [mlp["layers"][0]["units"]]
    assert edits.insert_problem(mlp, 1, "reshape") is None
    # A reshape the user set is left alone by "change type" to the same type.
    odd = edits.set_setting(edits.insert_layer(mlp, 0, "reshape"), 0, "shape", [2, 392])
    assert edits.change_type(odd, 0, "reshape")["layers"][0]["shape"] == [2, 392]
