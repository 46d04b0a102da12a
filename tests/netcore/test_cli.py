"""The command line on good and bad input: exit status and message."""

import json
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from netcore.bench import alternate, blas_kernel, median_call_ms
from netcore.cli import main
from netcore.network import Network
from netcore.parallel import batch_parts, parts_run_in
from netcore.resources import resource_path
from netcore.serialization import ModelFileError, SavedModel, load_model, save_model
from netcore.spec import load_spec

XOR = str(resource_path("networks", "xor.json"))
MLP = str(resource_path("networks", "mnist_mlp.json"))


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
    assert code == 2 and ("not a netcore model" in err or "damaged" in err)


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
    spec = resource_path("networks", "mnist_cnn.json")
    args = ["bench", "--spec", str(spec), "--batch-size", "16", "--samples", "96", "--no-torch", "--json"]
    assert main(args + ["--epochs", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["results"]
    assert (row["network"], row["batch"], row["samples"]) == ("mnist_cnn", 16, 96)
    assert row["netcore_s"] > 0 and row["netcore_inference_ms"] > 0 and "ratio" not in row
    assert len(row["netcore_epochs_s"]) == 2 and row["netcore_s"] == min(row["netcore_epochs_s"])
    assert row["netcore_threads"] == batch_parts(Network(load_spec(spec)), 16) == 1  # 16: too little work
    assert main(args + ["--threads", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["netcore_threads"] == 1
    assert main(args[:-1] + ["--epochs", "1", "--threads", "2"]) == 0  # the words, split in two
    out, err = capsys.readouterr()
    words = out + err
    assert "PyTorch: not asked for" in words
    assert f"on 2 {parts_run_in(Network(load_spec(spec)))}" in words


def test_bench_names_numpys_blas_kernel_and_threads():
    kernel = blas_kernel()
    assert kernel is not None and kernel.endswith("threads"), kernel


def test_bench_engines_take_turns_epoch_by_epoch():
    calls = []
    runs = [lambda: calls.append("netcore") or 2.0, lambda: calls.append("torch") or 1.0]
    assert alternate(runs, 3) == [[2.0] * 3, [1.0] * 3]
    assert calls == ["netcore", "torch"] * 3  # a drifting machine slows both alike


def test_bench_inference_is_the_median_of_alternating_blocks(monkeypatch):
    import netcore.bench

    clock, calls = [0.0], []

    def call(name, seconds):
        def run():
            calls.append(name)
            # one call in thirty a hiccup of a second: the median does not see it
            clock[0] += 1.0 if calls.count(name) % 30 == 0 else seconds

        return run

    monkeypatch.setattr(netcore.bench.time, "perf_counter", lambda: clock[0])
    medians = median_call_ms([call("a", 0.002), call("b", 0.001)], repeats=60, block=30)
    assert medians == pytest.approx([2.0, 1.0])
    timed = calls[40:]  # after the warm-up of 20 calls each
    assert timed == ["a"] * 30 + ["b"] * 30 + ["a"] * 30 + ["b"] * 30


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


# -- nothing lost, nothing wrong (issue 10) ---------------------------------------------------

BN_MLP = {
    "name": "bn_mlp",
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 16, "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "dense", "units": 2},
    ],
    "loss": "softmax_cross_entropy",
}


def _spec(tmp_path, spec=BN_MLP):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _train(capsys, tmp_path, out, *extra):
    return run(capsys, "train", "--arch", _spec(tmp_path), "--dataset", "spirals", "--out", out, *extra)


def test_a_diverged_run_keeps_the_previous_model(tmp_path, capsys):
    good = tmp_path / "good.npz"
    assert _train(capsys, tmp_path, good, "--epochs", "2")[0] == 0
    before = good.read_bytes()
    code, out, err = _train(capsys, tmp_path, good, "--epochs", "3", "--lr", "1e6")
    assert code == 2 and "diverged" in err
    assert good.read_bytes() == before, "the good model is not replaced"
    assert "good.npz still holds the previous model" in err and "--save-diverged" in err
    assert run(capsys, "evaluate", good, "--dataset", "spirals")[0] == 0
    kept = tmp_path / "kept.npz"
    code, _, err = _train(capsys, tmp_path, kept, "--epochs", "3", "--lr", "1e6", "--save-diverged")
    assert code == 2 and kept.exists()
    model = load_model(kept)  # finite weights and batchnorm statistics
    assert model.extra["status"] == "diverged"
    assert all(np.isfinite(a).all() for a in model.network.state_dict().values())


def test_evaluate_exits_1_when_the_loss_is_not_finite(tmp_path, capsys):
    net = Network({**BN_MLP, "layers": [{"type": "dense", "units": 8}, {"type": "dense", "units": 2}]})
    net.flat_params[...] = 3e37  # finite weights whose outputs overflow
    path = tmp_path / "huge.npz"
    save_model(SavedModel(net, class_names=["0", "1"]), path)
    code, out, err = run(capsys, "evaluate", path, "--dataset", "spirals")
    assert code == 1, (out, err)
    assert "not finite" in err or "inf" in err or "nan" in err


def test_predict_exits_1_when_the_outputs_are_not_finite(tmp_path, capsys):
    net = Network({"input_shape": [784], "layers": [{"type": "dense", "units": 10}]})
    net.flat_params[...] = 3e37
    path = tmp_path / "huge.npz"
    save_model(SavedModel(net, class_names=[str(k) for k in range(10)]), path)
    image = Image.new("L", (28, 28), 255)
    ImageDraw.Draw(image).line([(14, 4), (14, 24)], fill=0, width=3)
    image.save(tmp_path / "one.png")
    code, out, err = run(capsys, "predict", path, tmp_path / "one.png")
    assert code == 1 and "not finite" in err and out == ""


def test_a_folder_that_refuses_files_is_reported_before_training(tmp_path, capsys, monkeypatch):
    import netcore.files

    def refuse(**kwargs):  # what a read-only folder does (root ignores chmod, so simulate it)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(netcore.files.tempfile, "mkstemp", refuse)
    code, out, err = _train(capsys, tmp_path, tmp_path / "m.npz")
    assert code == 2 and "epoch" not in out and "--out: cannot write" in err and "Permission denied" in err


@pytest.mark.parametrize("flag", ["--out", "--metrics-out"])
def test_unwritable_outputs_are_reported_before_training(tmp_path, capsys, flag):
    for target in ("", tmp_path, tmp_path / "no" / "such" / "dir.json"):
        args = {"--out": tmp_path / "m.npz", "--metrics-out": tmp_path / "m.json", flag: target}
        code, out, err = _train(capsys, tmp_path, args["--out"], "--metrics-out", args["--metrics-out"])
        assert code == 2 and "epoch" not in out, (target, out)
        assert flag in err and len(err.strip().splitlines()) == 1, err


def test_metrics_are_written_atomically(tmp_path, capsys, monkeypatch):
    metrics = tmp_path / "m.json"
    metrics.write_text("previous")

    real_fsync, calls = os.fsync, []

    def disk_full_on_second_write(fd):  # the model is saved, then the metrics cannot reach the disk
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full_on_second_write)
    code, _, err = _train(capsys, tmp_path, tmp_path / "m.npz", "--epochs", "1", "--metrics-out", metrics)
    assert code == 2 and "No space left" in err and len(calls) == 2
    assert metrics.read_text() == "previous", "a failed write leaves the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz", "spec.json"], "no .part left"


def _interrupt_after_epochs(monkeypatch, epochs: int):
    """Ctrl+C (a real SIGINT) once ``epochs`` epochs have finished (0: during the first batch)."""
    import signal

    import netcore.train as engine

    real_step = engine.Trainer._step

    def step(self, *args):
        if self.epoch == epochs:
            signal.raise_signal(signal.SIGINT)
        return real_step(self, *args)

    monkeypatch.setattr(engine.Trainer, "_step", step)


def test_ctrl_c_saves_only_weights_that_match_the_history(tmp_path, capsys, monkeypatch):
    one = tmp_path / "one.npz"
    assert _train(capsys, tmp_path, one, "--epochs", "1")[0] == 0
    _interrupt_after_epochs(monkeypatch, 1)
    cut = tmp_path / "cut.npz"
    code, out, err = _train(capsys, tmp_path, cut, "--epochs", "3")
    assert code == 130 and "stopped during epoch 2" in err
    saved, reference = load_model(cut), load_model(one)
    assert [row["epoch"] for row in saved.history] == [1]
    for key, value in reference.network.state_dict().items():
        np.testing.assert_array_equal(saved.network.state_dict()[key], value, err_msg=key)


def test_ctrl_c_in_the_first_epoch_keeps_the_previous_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"previous")
    _interrupt_after_epochs(monkeypatch, 0)
    code, out, err = _train(capsys, tmp_path, path, "--epochs", "3")
    assert code == 130 and path.read_bytes() == b"previous"
    assert "did not write" in err and "still holds the previous model" in err


def test_task_classification_forces_classes(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n" + "".join(f"{i % 7},{i % 5},{i % 25}\n" for i in range(200)))
    spec = _spec(tmp_path, {"input_shape": [2], "layers": [{"type": "dense", "units": 25}]})
    out_path = tmp_path / "m.npz"
    args = ["train", "--arch", spec, "--dataset", f"csv:{table}", "--epochs", "1", "--out", out_path]
    code, _, err = run(capsys, *args)
    assert code == 2 and "regression" in err, "auto: 25 integer values mean regression"
    code, _, err = run(capsys, *args, "--task", "classification")
    assert code == 0, err
    assert len(load_model(out_path).class_names) == 25


@pytest.mark.parametrize(
    "flag, value, field",
    [
        ("--l2", "inf", "l2"),
        ("--warmup", "nan", "warmup"),
        ("--momentum", "nan", "momentum"),
        ("--lr", "inf", "lr"),
    ],
)
def test_non_finite_settings_are_refused_naming_the_field(tmp_path, capsys, flag, value, field):
    code, out, err = _train(capsys, tmp_path, tmp_path / "m.npz", flag, value)
    assert code == 2 and "epoch" not in out
    assert f"{field} must be a finite number" in err and len(err.strip().splitlines()) == 1


def test_non_finite_spec_values_are_refused_naming_the_field(tmp_path, capsys):
    spec = tmp_path / "eps.json"
    spec.write_text(json.dumps(BN_MLP).replace('"batchnorm"', '"batchnorm", "eps": 1e999'))
    code, out, err = run(capsys, "train", "--arch", spec, "--dataset", "spirals", "--out", tmp_path / "m.npz")
    assert code == 2 and "epoch" not in out and "layers[1].eps is not a finite number" in err


def test_samples_beyond_the_limit_are_refused_before_generating(tmp_path, capsys):
    code, out, err = _train(capsys, tmp_path, tmp_path / "m.npz", "--samples", "1000000000")
    assert code == 2 and "NETCORE_MAX_SAMPLES" in err and "1,000,000,000" in err


def test_an_image_beyond_the_pixel_limit_is_refused(tmp_path, capsys, monkeypatch):
    model = _vertical_bar_model(tmp_path)
    Image.new("L", (200, 100), 255).save(tmp_path / "big.png")
    monkeypatch.setenv("NETCORE_MAX_IMAGE_PIXELS", "10000")
    code, _, err = run(capsys, "predict", model, tmp_path / "big.png")
    assert code == 2 and "200x100" in err and "NETCORE_MAX_IMAGE_PIXELS" in err


TABLE_SPEC = {
    "input_shape": [3],
    "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3}],
}


@pytest.fixture
def table_model(tmp_path, capsys):
    """A model trained on a table with features on very different scales and text labels."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 3)) * [1, 10, 100] + [5, 50, 500]
    y = (x[:, 0] > 5).astype(int) + (x[:, 1] > 50)
    names = np.array(["low", "mid", "high"])
    lines = "".join(f"{a:.4f},{b:.4f},{c:.4f},{names[k]}\n" for (a, b, c), k in zip(x, y, strict=True))
    (tmp_path / "train.csv").write_text("a,b,c,kind\n" + lines)
    model = tmp_path / "table.npz"
    spec = _spec(tmp_path, TABLE_SPEC)
    args = ["train", "--arch", spec, "--dataset", f"csv:{tmp_path / 'train.csv'}", "--epochs", "30"]
    code, _, err = run(capsys, *args, "--out", model)
    assert code == 0, err
    return model, x, names[y]


def test_evaluate_applies_the_models_own_scaling_to_the_whole_file(table_model, tmp_path, capsys):
    from netcore.data.features import apply_preprocessing, map_labels

    path, x, labels = table_model
    model = load_model(path)
    few = tmp_path / "few.csv"  # other columns' order, 40 rows, statistics unlike the training set's
    few.write_text(
        "kind,c,b,a\n"
        + "".join(f"{k},{r[2]:.4f},{r[1]:.4f},{r[0]:.4f}\n" for r, k in zip(x[:40], labels[:40], strict=True))
    )
    code, out, err = run(capsys, "evaluate", path, "--dataset", f"csv:{few}", "--json")
    assert code == 0, err
    figures = json.loads(out)
    raw = np.round(x[:40], 4)
    expected = model.network.evaluate(apply_preprocessing(model, raw), map_labels(model, labels[:40]))
    assert figures["samples"] == 40
    assert figures["accuracy"] == pytest.approx(expected["accuracy"])
    assert figures["loss"] == pytest.approx(expected["loss"], rel=1e-4)
    code, out, _ = run(
        capsys, "evaluate", path, "--dataset", f"csv:{tmp_path / 'train.csv'}", "--split", "test", "--json"
    )
    assert code == 0 and json.loads(out)["accuracy"] == pytest.approx(model.extra["test"]["accuracy"])


def test_evaluate_names_a_label_the_model_never_learnt(table_model, tmp_path, capsys):
    path, _, _ = table_model
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c,kind\n5,50,500,low\n5,50,500,weird\n")
    code, _, err = run(capsys, "evaluate", path, "--dataset", f"csv:{odd}")
    assert code == 2 and "'weird'" in err and "low" in err


def test_predict_labels_csv_rows(table_model, tmp_path, capsys):
    from netcore.data.features import apply_preprocessing

    path, x, _ = table_model
    model = load_model(path)
    rows = tmp_path / "rows.csv"
    rows.write_text("c,a,b\n" + "".join(f"{r[2]:.4f},{r[0]:.4f},{r[1]:.4f}\n" for r in x[:5]))
    code, out, err = run(capsys, "predict", path, rows, "--json")
    assert code == 0, err
    readings = json.loads(out)
    k = model.network.predict(apply_preprocessing(model, np.round(x[:5], 4))).argmax(axis=1)
    assert [r["label"] for r in readings] == [model.class_names[i] for i in k]
    code, out, _ = run(capsys, "predict", path, rows)
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [r["label"] for r in readings]
