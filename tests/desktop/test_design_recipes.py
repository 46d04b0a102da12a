"""desktop.design reads each template's recipe from its spec file and analyses with the engine."""

import json

from desktop import design
from desktop.design import CNN_RECIPE, MLP_RECIPE, Recipe, recipe_for
from netcore import spec as engine_spec


def test_a_template_recipe_comes_from_its_spec_file(tmp_path, monkeypatch):
    monkeypatch.setattr(design, "TEMPLATES_DIR", tmp_path)
    net = {"input_shape": [2], "layers": [{"type": "dense", "units": 2}]}
    train = {"dataset": "moons", "optimizer": "rmsprop", "lr": 0.01, "batch_size": 16, "epochs": 7}
    (tmp_path / "my_net.json").write_text(json.dumps({**net, "train": {**train, "augment": "light"}}))
    assert recipe_for("my_net") == Recipe("moons", "rmsprop", 0.01, None, 16, 7, "light")
    (tmp_path / "my_cnn.json").write_text(json.dumps(net))  # no recipe: the defaults by name
    assert recipe_for("my_cnn") == CNN_RECIPE and recipe_for("missing") == MLP_RECIPE
    (tmp_path / "bad.json").write_text(json.dumps({**net, "train": {"lr": -1}}))
    assert recipe_for("bad") == MLP_RECIPE


def test_the_shipped_cnn_recipe_is_the_one_the_cli_uses():
    spec = json.loads((design.TEMPLATES_DIR / "mnist_cnn.json").read_text(encoding="utf-8"))
    r, train = recipe_for("mnist_cnn"), spec["train"]
    assert (r.dataset, r.optimizer, r.lr, r.schedule) == ("mnist", train["optimizer"], train["lr"], "cosine")
    assert (r.batch_size, r.epochs, r.augment) == (train["batch_size"], train["epochs"], train["augment"])


def test_the_designer_analysis_is_the_engine_analysis():
    assert design.analyse is engine_spec.analyse and design.Analysis is engine_spec.Analysis
