"""Models on picture folders: they learn, save their recipe, and read any picture file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netcore.cli import main
from netcore.data.folder import load_folder
from netcore.experiment import evaluate_on_test, make_trainer, saved_model
from netcore.image_model import classify, image_recipe, is_picture_model, to_display
from netcore.network import Network
from netcore.serialization import load_model, save_model
from netcore.spec import load_spec
from netcore.train import TrainSettings
from tests.netcore.test_folder import TINTS, mnist_digits, write_digit_folder

ROOT = Path(__file__).resolve().parents[2]


def template(name: str) -> Path:
    """A shipped spec: in resources/ of this checkout, else in the package's resources."""
    here = ROOT / "resources" / "networks" / name
    if here.is_file():
        return here
    from netcore.resources import resource_path  # where the templates moved to

    return resource_path("networks", name)


def small_cnn(channels: int, side: int, classes: int = 4) -> dict:
    return {
        "input_shape": [channels, side, side],
        "layers": [
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": classes},
        ],
    }


@pytest.fixture(scope="module")
def grey_folder(mnist_dir, tmp_path_factory) -> Path:
    return write_digit_folder(tmp_path_factory.mktemp("grey"), mnist_digits(mnist_dir, 60))


@pytest.fixture(scope="module")
def colour_folder(mnist_dir, tmp_path_factory) -> Path:
    return write_digit_folder(tmp_path_factory.mktemp("colour"), mnist_digits(mnist_dir, 40), tint=True)


def test_a_small_cnn_learns_digit_shapes_from_a_folder(grey_folder, tmp_path):
    # 4 digit classes, 192 training pictures at mixed sizes: shapes only, no colour to help
    data = load_folder(grey_folder, size=16, cache_dir=tmp_path)
    network = Network(small_cnn(1, 16), seed=0)
    trainer = make_trainer(network, data, TrainSettings(epochs=15, batch_size=16, lr=0.003, seed=0))
    trainer.run()
    assert evaluate_on_test(network, data)["accuracy"] >= 0.85


def test_saved_recipe_reads_a_picture_as_the_training_pictures_were(grey_folder, tmp_path):
    data = load_folder(grey_folder, size=16, cache_dir=tmp_path)
    network = Network(small_cnn(1, 16), seed=0)
    trainer = make_trainer(network, data, TrainSettings(epochs=10, batch_size=16, lr=0.003, seed=0))
    trainer.run()
    save_model(saved_model(trainer, data), tmp_path / "m.npz")
    model = load_model(tmp_path / "m.npz")
    assert model.preprocessing["image"] == data.preprocessing["image"]
    # every test file classified from disk gives the same scores as the loaded test array
    for i in range(0, len(data.test_files), 7):
        reading = classify(
            model.network, grey_folder / data.test_files[i], model.preprocessing, model.class_names
        )
        np.testing.assert_allclose(reading.x[0], data.x_test[i], atol=1e-5)
        assert reading.image.shape == (1, 16, 16) and 0 <= reading.image.min() <= reading.image.max() <= 1
        assert reading.top[0][0] == model.class_names[reading.label]
        assert [p for _, p in reading.top] == sorted((p for _, p in reading.top), reverse=True)
        np.testing.assert_allclose(
            to_display(data.x_test[i : i + 1], model.preprocessing)[0], reading.image, atol=1e-5
        )


def test_cli_trains_on_a_colour_folder_and_predicts_any_picture(colour_folder, tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(small_cnn(3, 16)))
    model = tmp_path / "colour.npz"
    code = main(
        ["train", "--arch", str(spec), "--dataset", f"folder:{colour_folder}", "--image-size", "16",
         "--epochs", "8", "--batch-size", "16", "--lr", "0.003", "--data-dir", str(tmp_path),
         "--out", str(model)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "input 3x16x16, 4 classes" in out
    accuracy = float(out.split("test accuracy ")[1].split(";")[0])
    assert accuracy >= 0.9  # the tint alone tells the classes apart
    # evaluate prepares the folder by the model's recipe (16x16, its statistics), not the median
    assert (
        main(["evaluate", str(model), "--dataset", f"folder:{colour_folder}", "--data-dir", str(tmp_path)])
        == 0
    )
    assert f"accuracy {accuracy:.4f}" in capsys.readouterr()[0]
    # a large photo-like picture of class "two" (blue), another size and format than the folder's
    digit = np.asarray(Image.open(sorted((colour_folder / "two").glob("*.png"))[0]).convert("L"))
    big = Image.fromarray(digit).resize((150, 120))
    rgb = (np.asarray(big, np.float32)[..., None] * np.array(TINTS[2]) / 255).astype(np.uint8)
    photo = tmp_path / "photo.bmp"
    Image.fromarray(rgb, "RGB").save(photo)
    assert main(["predict", str(model), str(photo)]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0].startswith("two  (")
    assert main(["predict", str(model), str(photo), "--json"]) == 0
    answer = json.loads(capsys.readouterr()[0])
    assert answer["class"] == "two" and len(answer["probabilities"]) == 4
    (tmp_path / "junk.jpg").write_bytes(b"not a picture")
    assert main(["predict", str(model), str(tmp_path / "junk.jpg")]) == 2
    assert "cannot read a picture" in capsys.readouterr()[1]


def test_any_image_model_reads_pictures_without_a_recipe():
    picture = np.zeros((50, 40), np.uint8)
    picture[10:40, 18:22] = 255
    for shape in ([1, 28, 28], [3, 20, 20], [784]):
        spec = {"input_shape": shape, "layers": [{"type": "flatten"}, {"type": "dense", "units": 3}]}
        reading = classify(Network(spec), picture, class_names=["a", "b", "c"], top=2)
        assert len(reading.top) == 2 and reading.probabilities.shape == (3,)
        assert reading.x.shape == (1, *shape)
    recipe = image_recipe(Network({"input_shape": [3, 20, 20], "layers": [{"type": "flatten"}]}))
    assert recipe == {"size": [20, 20], "channels": 3, "fit": "pad"}
    digit = Network({"input_shape": [1, 28, 28], "layers": [{"type": "flatten"}]})
    flat = Network({"input_shape": [784], "layers": [{"type": "dense", "units": 2}]})
    assert not is_picture_model(digit, {"scale": 1 / 255}) and not is_picture_model(flat)  # the pad's
    assert is_picture_model(flat, {"image": {"size": [28, 28], "channels": 1}})
    assert is_picture_model(Network({"input_shape": [3, 8, 8], "layers": [{"type": "flatten"}]}))
    with pytest.raises(ValueError, match="not pictures"):
        image_recipe(Network({"input_shape": [10], "layers": [{"type": "dense", "units": 2}]}))


def test_colour_cnn_template_is_a_valid_rgb_spec_with_a_recipe():
    spec = load_spec(template("color_cnn.json"))
    assert spec["input_shape"] == [3, 32, 32]
    assert [layer["filters"] for layer in spec["layers"] if layer["type"] == "conv2d"] == [32, 32, 64, 64]
    assert {"optimizer", "lr", "batch_size", "epochs"} <= set(spec["train"])
    assert spec["description"] and "%" in spec["expected"]
    assert Network(spec).output_shape == (10,)
