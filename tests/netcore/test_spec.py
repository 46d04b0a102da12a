"""spec.analyse (the one walk behind check_spec, the summary and the designer) and the "train" recipe."""

import json
from pathlib import Path

import pytest

from netcore.network import format_summary
from netcore.recipe import RECIPE_FIELDS, augment_for, recipe_of, settings_for
from netcore.spec import SpecError, analyse, check_spec
from netcore.train import TrainSettings

ROOT = Path(__file__).resolve().parents[2]
# The shipped templates (resources/networks, or netcore/resources/networks once packaged).
NETWORKS = next(
    p for p in (ROOT / "resources" / "networks", ROOT / "netcore" / "resources" / "networks") if p.is_dir()
)
CNN = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ],
}


def test_analyse_gives_every_shape_and_count_of_a_valid_spec():
    a = analyse(CNN)
    assert a.valid and a.message == "" and a.error_layer is None and a.input_ok
    assert [info.out_shape for info in a.infos] == [(8, 28, 28), (8, 14, 14), (1568,), (10,)]
    assert [info.num_params for info in a.infos] == [8 * 9 + 8, 0, 0, 1568 * 10 + 10]
    assert a.num_params == sum(i.num_params for i in check_spec(CNN))
    assert a.infos[0].layer.describe() == "Conv2D(1x28x28 -> 8x28x28, 3x3, relu)"


def test_analyse_stops_at_the_first_bad_layer_and_names_it():
    spec = {**CNN, "layers": [CNN["layers"][0], {"type": "dense", "units": 4}, {"type": "flatten"}]}
    a = analyse(spec)
    assert not a.valid and a.error_layer == 1
    assert a.infos[0].out_shape == (8, 28, 28) and a.infos[1:] == [None, None]
    with pytest.raises(SpecError, match="layer 2 .*8x28x28.*insert a flatten") as caught:
        check_spec(spec)
    assert caught.value.layer_index == 1 and str(caught.value) == a.message


def test_a_whole_spec_problem_keeps_the_layer_shapes():
    a = analyse({**CNN, "loss": "nope"})
    assert "unknown loss 'nope'" in a.message and a.error_layer is None
    assert all(info is not None for info in a.infos)
    bad_input = analyse({**CNN, "input_shape": [1, 0]})
    assert not bad_input.input_ok and bad_input.infos == [None] * 4 and "input_shape" in bad_input.message
    assert analyse([1, 2]).message == "a spec must be a JSON object"


def test_the_summary_table_is_the_analysis():
    text = format_summary(CNN)
    assert "8x14x14" in text and "Conv2D(1x28x28 -> 8x28x28" in text
    assert f"total parameters: {analyse(CNN).num_params:,}" in text


@pytest.mark.parametrize(
    "train,field",
    [
        ({"lr": -1}, "train.lr"),
        ({"lr": "fast"}, "train.lr"),
        ({"optimizer": "adagrad"}, "train.optimizer"),
        ({"schedule": "linear"}, "train.schedule"),
        ({"batch_size": 0}, "train.batch_size"),
        ({"epochs": 2.5}, "train.epochs"),
        ({"epochs": True}, "train.epochs"),
        ({"augment": "heavy"}, "train.augment"),
        ({"augment": ["light"]}, "train.augment"),
        ({"val_split": 1.0}, "train.val_split"),
        ({"dataset": "cifar"}, "train.dataset"),
        ({"dataset": "csv:"}, "train.dataset"),
        ({"dataset_options": [4]}, "train.dataset_options"),
        ({"learning_rate": 0.1}, "unknown setting 'learning_rate'"),
        ("adam", "train must be an object"),
    ],
)
def test_a_bad_recipe_is_a_spec_error_naming_the_field(train, field):
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        check_spec({**CNN, "train": train})


def test_description_and_expected_are_text():
    check_spec({**CNN, "description": "A small CNN.", "expected": "98 % after 1 epoch"})
    with pytest.raises(SpecError, match="expected must be text"):
        check_spec({**CNN, "expected": 99.3})


def test_a_good_recipe_passes_and_is_read_as_a_copy():
    train = {"dataset": "csv:my.csv", "optimizer": "adamw", "lr": 0.01, "schedule": "step", "batch_size": 8}
    spec = {**CNN, "train": {**train, "epochs": 2, "augment": "light", "val_split": 0.1}}
    assert analyse(spec).valid
    recipe = recipe_of(spec)
    recipe["lr"] = 1.0
    assert spec["train"]["lr"] == 0.01 and recipe_of(CNN) == {}


def test_every_shipped_template_carries_a_valid_recipe_and_a_description():
    for path in sorted(NETWORKS.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        check_spec(spec)
        assert isinstance(spec.get("description"), str), path.name
        recipe = recipe_of(spec)
        assert set(recipe) <= set(RECIPE_FIELDS), path.name
        # every recipe names its data, but one for the user's own picture folder, which says so
        assert recipe.get("dataset") or "folder" in spec["description"], path.name


def test_settings_for_takes_given_values_then_the_recipe_then_the_engine_defaults():
    train = {
        "dataset": "mnist",
        "optimizer": "sgd",
        "lr": 1,
        "schedule": "cosine",
        "epochs": 4,
        "augment": "light",
    }
    s = settings_for(train, lr=None, epochs=2, warmup=0.5)
    assert (s.optimizer, s.lr, s.epochs, s.batch_size) == ("sgd", 1.0, 2, TrainSettings().batch_size)
    assert s.schedule == {"name": "cosine", "epochs": 2.0, "warmup": 0.5}
    plain = {"name": "constant", "epochs": float(TrainSettings().epochs), "warmup": 0.0}
    assert settings_for({}).to_dict() == {**TrainSettings().to_dict(), "schedule": plain}
    assert augment_for(train) == "light" and augment_for(train, "off") == "off" and augment_for({}) == "off"
