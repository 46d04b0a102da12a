"""The PyTorch side: the generated module, torch.onnx graphs read back, and train.py under torchrun.

These need PyTorch, which is never a project dependency: they skip where it is not importable,
and fail instead when NETCORE_REQUIRE_TORCH=1 (CI installs the CPU build and sets it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netcore.cli import main
from netcore.interop import InteropError, export_model, import_model
from netcore.network import Network
from netcore.resources import resource_path
from netcore.serialization import SavedModel, load_model
from tests.netcore.test_interop import (
    CASES,
    EVERY_LAYER,
    LOSS_VARIANTS,
    close,
    csv_model,
    inputs,
    load_case,
    loss_variant_model,
    randomised,
)

pytestmark = pytest.mark.torch
pytest.importorskip("onnx")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def torch():
    try:
        import torch
    except ImportError:
        message = "PyTorch is not installed (pip install torch); CI installs it"
        if os.environ.get("NETCORE_REQUIRE_TORCH") == "1":
            pytest.fail(f"{message}, and NETCORE_REQUIRE_TORCH=1 makes it mandatory")
        pytest.skip(message)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # beside other work on 2 cores
    yield torch
    torch.set_num_threads(threads)


def generated_module(folder: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_net(torch, folder: Path, name: str):
    from safetensors.torch import load_file

    net = generated_module(folder, name).Net()
    net.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    return net.eval()


@pytest.mark.parametrize("case", CASES)
def test_generated_module_scores_equal_netcore(torch, case, tmp_path):
    model = load_case(case)
    export_model(model, "torch", tmp_path / "t")
    net = torch_net(torch, tmp_path / "t", f"model_{case.stem}")
    for n in (1, 64):
        x = inputs(model, n)
        with torch.no_grad():
            close(net(torch.from_numpy(x)).numpy(), model.network.predict(x))


def test_every_layer_type_in_pytorch(torch, tmp_path):
    model = randomised(SavedModel(Network(EVERY_LAYER, seed=2)))
    export_model(model, "torch", tmp_path / "t")
    net = torch_net(torch, tmp_path / "t", "model_every")
    x = inputs(model, 16)
    with torch.no_grad():
        close(net(torch.from_numpy(x)).numpy(), model.network.predict(x))
    # the generated probabilities() is netcore's
    module = sys.modules.get("model_every") or generated_module(tmp_path / "t", "model_every2")
    with torch.no_grad():
        close(module.probabilities(net(torch.from_numpy(x))).numpy(), model.network.predict_proba(x))


def test_batchnorm_momentum_is_converted(torch, tmp_path):
    """One training step's running statistics agree: PyTorch weighs the new batch by 1 - netcore's momentum."""
    spec = {
        "name": "bn",
        "input_shape": [2, 5, 5],
        "layers": [
            {"type": "conv2d", "filters": 3, "kernel_size": 3},
            {"type": "batchnorm", "momentum": 0.7},
            {"type": "flatten"},
            {"type": "dense", "units": 4},
            {"type": "batchnorm"},
            {"type": "dense", "units": 2},
        ],
    }
    model = randomised(SavedModel(Network(spec, seed=0)))
    export_model(model, "torch", tmp_path / "t")
    net = torch_net(torch, tmp_path / "t", "model_bn").train()
    x = inputs(model, 32)
    model.network.forward(x.copy(), training=True)
    net(torch.from_numpy(x))
    state = net.state_dict()
    for key, layer in (("bn2", 1), ("bn5", 4)):
        ours = model.network.layers[layer].state
        np.testing.assert_allclose(
            state[f"{key}.running_mean"].numpy(), ours["running_mean"], rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            state[f"{key}.running_var"].numpy(), ours["running_var"], rtol=1e-5, atol=1e-6
        )


def test_plain_torch_sequential_exported_by_torch_onnx_imports(torch, tmp_path):
    from torch import nn

    torch.manual_seed(0)
    seq = nn.Sequential(
        nn.ZeroPad2d((0, 1, 0, 1)),  # what 'same' means for an odd total: the extra pixel after
        nn.Conv2d(1, 4, 3, stride=2),
        nn.ReLU(),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(6 * 6 * 6, 16),
        nn.LeakyReLU(0.1),
        nn.Dropout(0.3),
        nn.Linear(16, 10),
        nn.Softmax(dim=1),
    )
    with torch.no_grad():
        seq[3].running_mean.uniform_(-1, 1)
        seq[3].running_var.uniform_(0.5, 2)
    seq.eval()
    path = tmp_path / "seq.onnx"
    x = torch.rand(5, 1, 28, 28)
    # the TorchScript exporter (the default dynamo one needs the onnxscript package)
    torch.onnx.export(
        seq,
        (x,),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        dynamic_axes={"input": {0: "batch"}},
    )
    model = import_model(path)
    kinds = [layer["type"] for layer in model.network.spec["layers"]]
    assert kinds == [
        "conv2d",
        "batchnorm",
        "conv2d",
        "maxpool2d",
        "avgpool2d",
        "flatten",
        "dense",
        "leaky_relu",
        "dense",
    ]
    assert model.network.spec["layers"][0]["padding"] == "same"
    assert model.network.loss.name == "softmax_cross_entropy"
    with torch.no_grad():
        expected = seq(x).numpy()
    close(model.network.predict_proba(x.numpy()), expected)
    # and the imported model is a netcore model file like any other
    assert main(["import", str(path), "--out", str(tmp_path / "seq.npz")]) == 0
    assert load_model(tmp_path / "seq.npz").class_names == [str(k) for k in range(10)]


def run(cmd, cwd, timeout=240, env=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def printed_accuracy(stdout: str) -> float:
    match = re.search(r"test accuracy (\d\.\d+)", stdout)
    assert match, stdout
    return float(match.group(1))


def evaluated_accuracy(model_path: Path, dataset: str, capsys, *extra) -> float:
    capsys.readouterr()
    assert main(["evaluate", str(model_path), "--dataset", dataset, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["accuracy"]


@pytest.mark.mnist
@pytest.mark.slow
def test_train_py_under_torchrun_and_back(torch, mnist_dir, tmp_path, capsys):
    folder = tmp_path / "mlp"
    assert (
        main(
            [
                "export",
                str(resource_path("networks", "mnist_mlp.json")),
                "--format",
                "torch",
                "--out",
                str(folder),
            ]
        )
        == 0
    )
    out = run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "train.py",
            "--limit",
            "4000",
            "--epochs",
            "2",
            "--data-dir",
            str(mnist_dir),
        ],
        cwd=folder,
    )
    assert "2 process(es) on cpu" in out and "epoch   2" in out
    accuracy = printed_accuracy(out)
    assert accuracy > 0.8  # 4,000 samples, 2 epochs: it learned
    metrics = json.loads((folder / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["history"]] == [1, 2] and metrics["processes"] == 2
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)
    assert main(["import", str(folder / "trained.safetensors"), "--out", str(tmp_path / "back.npz")]) == 0
    back = load_model(tmp_path / "back.npz")
    assert len(back.history) == 2 and back.extra["trained_with"].endswith("2 process(es)")
    # netcore's own evaluation of the imported weights gives the figure train.py printed
    assert evaluated_accuracy(
        tmp_path / "back.npz", "mnist", capsys, "--data-dir", str(mnist_dir)
    ) == pytest.approx(accuracy, abs=1e-4)


def load_script(folder: Path, name: str):
    """The generated train.py as a module (in this process: torch is already imported)."""
    sys.modules.pop("model", None)  # train.py imports the model.py beside it
    found = importlib.util.spec_from_file_location(name, folder / "train.py")
    script = importlib.util.module_from_spec(found)
    found.loader.exec_module(script)
    return script


def run_script(monkeypatch, script, *argv) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", *argv])
    assert script.main() == 0


def test_train_py_reads_the_csv_as_netcore_split_and_standardised_it(torch, tmp_path, capsys, monkeypatch):
    """--epochs 0 evaluates the exported weights: on the same test split with the same scaling,
    the accuracy is netcore's to the last sample."""
    model, csv_path = csv_model(tmp_path)
    export_model(model, "torch", tmp_path / "t")  # the model file names the table, not its path
    monkeypatch.setattr(sys, "argv", ["train.py"])
    with pytest.raises(SystemExit, match="give --data csv:PATH"):
        load_script(tmp_path / "t", "train_csv_unknown").main()
    export_model(model, "torch", tmp_path / "t", data=f"csv:{csv_path}")
    capsys.readouterr()
    run_script(monkeypatch, load_script(tmp_path / "t", "train_csv"), "--epochs", "0")
    out = capsys.readouterr().out
    assert "84 train / 36 test" in out
    expected = evaluated_accuracy(tmp_path / "table.npz", f"csv:{csv_path}", capsys, "--split", "test")
    assert printed_accuracy(out) == pytest.approx(expected, abs=5e-5)


def test_train_py_on_a_generated_dataset_with_batchnorm_and_dropout(torch, tmp_path):
    spec = {
        "name": "spiral_net",
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 16, "activation": "relu"},
            {"type": "batchnorm"},
            {"type": "dropout", "rate": 0.1},
            {"type": "dense", "units": 2},
        ],
        "train": {
            "dataset": "spirals",
            "optimizer": "sgd",
            "lr": 0.05,
            "schedule": "cosine",
            "batch_size": 16,
            "epochs": 2,
            "val_split": 0.2,
        },
    }
    (tmp_path / "s.json").write_text(json.dumps(spec))
    assert main(["export", str(tmp_path / "s.json"), "--format", "torch", "--out", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t" / "data.npz").is_file()
    out = run([sys.executable, "train.py"], cwd=tmp_path / "t")
    assert "sgd lr 0.05, 2 epochs" in out and "val_accuracy" in out
    back = import_model(tmp_path / "t" / "trained.safetensors")
    assert back.network.spec["layers"] == spec["layers"] and back.settings["val_split"] == 0.2
    assert back.history[-1]["val_loss"] is not None


@pytest.mark.parametrize("variant", sorted(LOSS_VARIANTS))
def test_train_py_loss_and_predictions_are_netcores(torch, variant, tmp_path):
    """train.py's loss on a batch equals netcore's loss, and its predicted classes netcore's."""
    loss, k, extra = LOSS_VARIANTS[variant]
    model = loss_variant_model(variant)
    export_model(model, "torch", tmp_path / "t")
    script = load_script(tmp_path / "t", f"train_{variant}")
    rng = np.random.default_rng(0)
    x = inputs(model, 16)
    scores = model.network.predict(x)
    net = model.network
    if net.is_classifier:
        labels = rng.integers(0, max(k, 2), 16)
        target = net.loss.targets(labels, k, np.float32)
        torch_labels = torch.from_numpy(labels)
        np.testing.assert_array_equal(
            script.predicted(torch.from_numpy(scores)).numpy(), net.loss.predicted_labels(scores)
        )
    else:
        labels = rng.normal(size=(16, k)).astype(np.float32)
        target, torch_labels = labels, torch.from_numpy(labels)
    expected = net.loss.forward(scores, target)
    got = float(script.loss_fn(torch.from_numpy(scores), torch_labels))
    assert got == pytest.approx(expected, rel=1e-5)


def test_state_dict_of_a_plain_sequential_with_the_design_given(torch, tmp_path):
    """Keys "0.weight", "2.weight" ... are taken module by module; a wrong shape is named."""
    from safetensors.torch import save_file
    from torch import nn

    torch.manual_seed(0)
    seq = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3 * 6 * 6, 4)
    )
    with torch.no_grad():
        seq[2].running_mean.uniform_(-1, 1)
    seq.eval()
    spec = {
        "name": "plain",
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "filters": 3, "kernel_size": 3, "activation": "relu"},
            {"type": "batchnorm", "momentum": 0.9},
            {"type": "flatten"},
            {"type": "dense", "units": 4},
        ],
    }
    save_file(seq.state_dict(), str(tmp_path / "plain.safetensors"))
    model = import_model(tmp_path / "plain.safetensors", arch=spec)
    x = torch.rand(6, 1, 8, 8)
    with torch.no_grad():
        close(model.network.predict(x.numpy()), seq(x).numpy())
    spec["layers"][3]["units"] = 5
    with pytest.raises(
        InteropError, match=r"4.weight has shape \(4, 108\) but layer 4 of the design needs \(5, 108\)"
    ):
        import_model(tmp_path / "plain.safetensors", arch=spec)
