"""`netcore gradcheck`, `netcore inspect` and the confusion matrix of `netcore evaluate --json`."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from netcore.cli import main
from netcore.data.registry import load_dataset
from netcore.layers import Dense
from netcore.network import Network
from netcore.resources import resource_path
from netcore.serialization import SavedModel, save_model
from netcore.train import Trainer, TrainSettings

ROOT = Path(__file__).resolve().parents[2]
XOR = resource_path("networks", "xor.json")
DIGITS = resource_path("models", "digits.npz")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gradcheck_passes_a_template(capsys):
    code, out, err = run(capsys, "gradcheck", XOR, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["passed"] and [t["name"] for t in report["tensors"]] == ["0.W", "0.b", "1.W", "1.b"]
    assert all(t["relative_error"] <= 1e-6 and t["checked"] >= 1 for t in report["tensors"])
    code, out, _ = run(capsys, "gradcheck", XOR)
    assert code == 0 and "all tensors within 1e-06" in out and out.count(" ok") == 4


def test_gradcheck_takes_a_model_file(capsys, tmp_path):
    save_model(SavedModel(Network(json.loads(XOR.read_text()))), tmp_path / "xor.npz")
    code, out, err = run(capsys, "gradcheck", tmp_path / "xor.npz", "--json", "--batch", "2")
    assert code == 0, err
    assert json.loads(out)["passed"]


def test_gradcheck_exits_1_on_a_broken_backward(capsys, monkeypatch):
    original = Dense.backward

    def broken(self, dy):
        dx = original(self, dy)
        self.grads["b"] += 1e-3
        return dx

    monkeypatch.setattr(Dense, "backward", broken)
    code, out, _ = run(capsys, "gradcheck", XOR)
    assert code == 1 and "FAIL" in out and "NOT all tensors" in out


def test_gradcheck_bad_input_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "gradcheck", tmp_path / "missing.json")
    assert code == 2 and "cannot read" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "gradcheck", XOR, "--batch", "0")
    assert code == 2 and "--batch" in err


def test_inspect_reports_every_layer_and_the_saliency(capsys, tmp_path):
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(90, 60), (190, 60), (120, 240)], fill=0, width=22)
    image.save(tmp_path / "seven.png")
    code, out, err = run(capsys, "inspect", DIGITS, tmp_path / "seven.png", "--json")
    assert code == 0, err
    report = json.loads(out)
    shapes = [row["output_shape"] for row in report["layers"]]
    assert shapes[0] == [16, 28, 28] and shapes[1] == [16, 14, 14] and shapes[-1] == [10]
    assert len(shapes) == 8 and report["layers"][0]["name"].startswith("Conv2D(")
    conv = report["layers"][0]["stats"]
    assert conv["min"] >= 0 and 0 < conv["zero_fraction"] < 1  # after a ReLU
    code, predicted, _ = run(capsys, "predict", DIGITS, tmp_path / "seven.png", "--json")
    assert report["predicted"] == json.loads(predicted)["label"]
    assert abs(sum(report["probabilities"]) - 1) < 1e-5
    sal = report["saliency"]
    assert sal["shape"] == [28, 28] and all(0 <= i < 28 for i in sal["peak"]) and sal["max"] > 0
    code, out, _ = run(capsys, "inspect", DIGITS, tmp_path / "seven.png")
    assert code == 0 and f"predicted {report['predicted']}" in out and "peak at row" in out


def test_inspect_refuses_what_it_cannot_read(capsys, tmp_path):
    Image.new("L", (100, 100), 255).save(tmp_path / "blank.png")
    code, _, err = run(capsys, "inspect", DIGITS, tmp_path / "blank.png")
    assert code == 2 and "nothing to read" in err
    net = Network(json.loads(XOR.read_text()))
    save_model(SavedModel(net), tmp_path / "xor.npz")
    code, _, err = run(capsys, "inspect", tmp_path / "xor.npz", tmp_path / "blank.png")
    assert code == 2 and "784 or 1x28x28" in err


def test_evaluate_json_has_the_confusion_matrix(capsys, tmp_path):
    data = load_dataset("moons")
    net = Network(
        {
            "input_shape": [2],
            "layers": [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 2}],
        }
    )
    Trainer(net, TrainSettings(epochs=5, batch_size=16, lr=0.05), data.x_train, data.y_train).run()
    save_model(SavedModel(net, dataset={"name": "moons"}), tmp_path / "moons.npz")
    code, out, err = run(capsys, "evaluate", tmp_path / "moons.npz", "--dataset", "moons", "--json")
    assert code == 0, err
    figures = json.loads(out)
    matrix = np.array(figures["confusion"])
    assert matrix.shape == (2, 2) and matrix.sum() == figures["samples"] == len(data.y_test)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(figures["accuracy"])
    assert matrix.sum(axis=1).tolist() == np.bincount(data.y_test, minlength=2).tolist()  # rows = true
