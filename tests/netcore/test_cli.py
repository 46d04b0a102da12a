"""The command line on good and bad input: exit status and message."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from netcore.cli import main
from netcore.network import Network
from netcore.serialization import ModelFileError, SavedModel, load_model, save_model

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "resources/networks/xor.json")
MLP = str(ROOT / "resources/networks/mnist_mlp.json")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_xor_writes_model_and_metrics(tmp_path, capsys):
    model, metrics = tmp_path / "xor.npz", tmp_path / "m.json"
    code, out, err = run(
        capsys,
        "train",
        "--arch",
        XOR,
        "--dataset",
        "xor",
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--optimizer",
        "sgd",
        "--lr",
        "2",
        "--out",
        model,
        "--metrics-out",
        metrics,
    )
    assert code == 0, err
    assert out.count("epoch ") == 3 and "saved" in out
    data = json.loads(metrics.read_text())
    assert [row["epoch"] for row in data["history"]] == [1, 2, 3]
    keys = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr", "health"}
    keys |= {"batches", "fraction", "changes"}  # what a stopped epoch and live changes record
    assert set(data["history"][0]) == keys
    assert data["history"][0]["batches"] == 1 and data["history"][0]["fraction"] == 1.0
    assert data["settings"]["optimizer"] == "sgd" and data["settings"]["epochs"] == 3
    assert 0 <= data["test_accuracy"] <= 1
    assert load_model(model).network.spec["name"] == "xor"


def test_train_evaluate_summary_on_spirals(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "input_shape": [2],
                "layers": [
                    {"type": "dense", "units": 32, "activation": "tanh"},
                    {"type": "dense", "units": 2},
                ],
            }
        )
    )
    model = tmp_path / "s.npz"
    code, out, err = run(
        capsys,
        "train",
        "--arch",
        spec,
        "--dataset",
        "moons",
        "--epochs",
        "30",
        "--lr",
        "0.01",
        "--val-split",
        "0.2",
        "--out",
        model,
    )
    assert code == 0, err
    assert "val_accuracy" in out
    code, out, err = run(capsys, "evaluate", model, "--dataset", "moons", "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["accuracy"] > 0.8 and figures["samples"] > 0
    code, out, _ = run(capsys, "summary", model)
    assert code == 0 and "Dense(2 -> 32, tanh)" in out and "trained 30 epochs" in out
    code, out, _ = run(capsys, "summary", MLP)
    assert code == 0 and "101,770" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["train", "--arch", "missing.json", "--dataset", "xor", "--out", "x.npz"],
            "cannot read missing.json",
        ),
        (["train", "--arch", XOR, "--dataset", "nope", "--out", "x.npz"], "unknown dataset"),
        (["train", "--arch", MLP, "--dataset", "xor", "--out", "x.npz"], "takes inputs of shape 784"),
        (["train", "--arch", XOR, "--dataset", "xor", "--epochs", "0", "--out", "x.npz"], "epochs"),
        (["train", "--arch", XOR, "--dataset", "xor", "--out", "/no/such/dir/x.npz"], "does not exist"),
        (["evaluate", "missing.npz", "--dataset", "xor"], "no such model file"),
        (["summary", "missing.npz"], "no such model file"),
        (["train", "--arch", XOR, "--dataset", "csv:/no/file.csv", "--out", "x.npz"], "csv"),
    ],
)
def test_bad_input_gives_status_2_and_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message.lower() in err.lower(), err


def test_bad_spec_and_corrupt_model_are_reported(tmp_path, capsys):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"input_shape": [1, 8, 8], "layers": [{"type": "dense", "units": 3}]}))
    code, _, err = run(capsys, "train", "--arch", spec, "--dataset", "xor", "--out", tmp_path / "m.npz")
    assert code == 2 and "insert a flatten" in err
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run(capsys, "evaluate", broken, "--dataset", "xor")
    assert code == 2 and "not a netcore model" in err or "damaged" in err


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(ModelFileError):
        main(["summary", "missing.npz", "--debug"])


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def _vertical_bar_model(tmp_path):
    """A tiny classifier of 28x28 images: class 1 = vertical bar, class 0 = horizontal bar."""
    from netcore.train import Trainer, TrainSettings

    rng = np.random.default_rng(0)
    x = np.zeros((200, 28, 28), np.float32)
    y = rng.integers(0, 2, 200)
    pos = rng.integers(8, 20, 200)
    for i in range(200):
        if y[i]:
            x[i, 4:24, pos[i] - 1 : pos[i] + 2] = 1
        else:
            x[i, pos[i] - 1 : pos[i] + 2, 4:24] = 1
    spec = {"input_shape": [784], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}
    net = Network(spec)
    Trainer(net, TrainSettings(epochs=20, batch_size=20, lr=0.01), x.reshape(200, -1), y).run()
    path = tmp_path / "bars.npz"
    save_model(SavedModel(net, class_names=["horizontal", "vertical"]), path)
    return path


def test_predict_reads_a_drawn_image(tmp_path, capsys):
    model = _vertical_bar_model(tmp_path)
    image = Image.new("L", (280, 280), 255)  # dark ink on light paper
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill=0, width=20)
    image.save(tmp_path / "bar.png")
    code, out, err = run(capsys, "predict", model, tmp_path / "bar.png", "--json")
    assert code == 0, err
    reading = json.loads(out)
    assert reading["label"] == 1 and len(reading["probabilities"]) == 2
    code, out, _ = run(capsys, "predict", model, tmp_path / "bar.png")
    assert code == 0 and out.startswith("vertical")
    Image.new("L", (280, 280), 255).save(tmp_path / "empty.png")
    code, _, err = run(capsys, "predict", model, tmp_path / "empty.png")
    assert code == 2 and "nothing to read" in err
    (tmp_path / "junk.png").write_bytes(b"not an image")
    code, _, err = run(capsys, "predict", model, tmp_path / "junk.png")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_bench_times_a_given_spec_on_a_short_epoch(capsys):
    spec = Path(__file__).resolve().parents[2] / "resources" / "networks" / "mnist_cnn.json"
    args = ["bench", "--spec", str(spec), "--batch-size", "16", "--samples", "96", "--no-torch", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["results"]
    assert (row["network"], row["batch"], row["samples"]) == ("mnist_cnn", 16, 96)
    assert row["netcore_s"] > 0 and row["netcore_inference_ms"] > 0 and "ratio" not in row


def test_bench_refuses_a_network_for_other_inputs(tmp_path, capsys):
    path = tmp_path / "xor.json"
    path.write_text(json.dumps({"input_shape": [2], "layers": [{"type": "dense", "units": 2}]}))
    assert main(["bench", "--spec", str(path), "--no-torch", "--samples", "8"]) == 2
    assert "28x28" in capsys.readouterr().err


def test_batch_progress_rewrites_one_line_and_clears_it_at_the_epoch_end():
    import io
    from types import SimpleNamespace

    from netcore.cli.train import BatchProgress

    stream = io.StringIO()
    show = BatchProgress(stream, epochs=2)
    for batch in (1, 2, 3):  # the second comes too soon after the first and is not shown
        show(SimpleNamespace(epoch=1, batch=batch, batches=3, loss=0.5, samples_per_second=1000.0))
    text = stream.getvalue()
    assert "epoch 1/2  batch 1/3" in text and "batch 2/3" not in text and "batch 3/3" in text
    assert "\n" not in text and text.endswith("\r\033[K")


def test_bench_refuses_an_empty_epoch(capsys):
    assert main(["bench", "--no-torch", "--samples", "0"]) == 2
    assert "samples must be a positive integer" in capsys.readouterr().err
