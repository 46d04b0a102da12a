"""`netcore train` takes its defaults from the spec's "train" recipe; flags override."""

import json

from netcore.serialization import load_model
from tests.netcore.test_cli import run
from tests.netcore.test_spec import NETWORKS

XOR = NETWORKS / "xor.json"


def test_the_recipe_gives_the_dataset_and_settings_and_flags_override(tmp_path, capsys):
    out_path = tmp_path / "xor.npz"
    code, out, err = run(capsys, "train", "--arch", XOR, "--epochs", "4", "--out", out_path)
    assert code == 0, err
    assert "settings: sgd lr 2, constant schedule, batch 4, 4 epochs, augment off" in out
    model = load_model(out_path)
    recipe = json.loads(XOR.read_text())["train"]
    assert model.settings["optimizer"] == recipe["optimizer"] and model.settings["lr"] == recipe["lr"]
    assert model.settings["batch_size"] == recipe["batch_size"] and model.settings["epochs"] == 4
    assert model.dataset == {"name": "xor", **recipe["dataset_options"], "spec_file": str(XOR)}


def test_flags_win_over_the_recipe(tmp_path, capsys):
    argv = ["train", "--arch", XOR, "--epochs", "2", "--optimizer", "adam", "--lr", "0.05"]
    code, out, err = run(capsys, *argv, "--batch-size", "2", "--samples", "40", "--out", tmp_path / "m.npz")
    assert code == 0, err
    settings = load_model(tmp_path / "m.npz").settings
    assert (settings["optimizer"], settings["lr"], settings["batch_size"]) == ("adam", 0.05, 2)
    assert load_model(tmp_path / "m.npz").dataset["n"] == 40


def test_without_a_recipe_dataset_the_flag_is_needed(tmp_path, capsys):
    spec = json.loads(XOR.read_text())
    del spec["train"]
    (tmp_path / "plain.json").write_text(json.dumps(spec))
    code, _, err = run(capsys, "train", "--arch", tmp_path / "plain.json", "--out", tmp_path / "m.npz")
    assert code == 2 and "--dataset is needed" in err and len(err.strip().splitlines()) == 1


def test_a_bad_recipe_is_one_line_naming_the_field(tmp_path, capsys):
    spec = {**json.loads(XOR.read_text()), "train": {"optimizer": "adagrad"}}
    (tmp_path / "bad.json").write_text(json.dumps(spec))
    code, _, err = run(capsys, "train", "--arch", tmp_path / "bad.json", "--out", tmp_path / "m.npz")
    assert code == 2 and "train.optimizer" in err and len(err.strip().splitlines()) == 1


def test_the_model_file_defaults_to_the_spec_name_here(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "--arch", XOR, "--epochs", "1")
    assert code == 0, err
    assert (tmp_path / "xor.npz").exists() and "saved xor.npz" in out
