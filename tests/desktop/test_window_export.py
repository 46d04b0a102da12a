"""File > Export model (ONNX, PyTorch, NumPy) and File > Open of .onnx / .safetensors (issue 13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

import netcore.interop
from desktop import file_dialogs
from desktop.model_exchange import FORMATS
from netcore.experiment import DataSource, saved_model
from netcore.interop import export_model
from netcore.network import Network
from netcore.serialization import load_model, save_model
from netcore.train import Trainer, TrainSettings
from tests.desktop.conftest import bar_images

pytest.importorskip("onnx")
pytest.importorskip("safetensors")

CNN = {
    "name": "bars_cnn",
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "stride": 2, "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ],
    "loss": "softmax_cross_entropy",
}
X, Y = bar_images(64, np.random.default_rng(3))
X = X.reshape(-1, 1, 28, 28)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A small CNN (conv, batchnorm, pooling, dense) trained on bars, saved as a netcore model."""
    net = Network(CNN, seed=0)
    trainer = Trainer(net, TrainSettings(epochs=3, batch_size=16, lr=0.01), X, Y)
    trainer.run()
    path = tmp_path_factory.mktemp("model") / "bars.npz"
    source = DataSource({"name": "mnist"}, {}, [str(i) for i in range(10)])
    save_model(saved_model(trainer, source), path)
    return path


@pytest.fixture
def window(window):
    window._load_template("xor")
    return window


def open_in(qtbot, window, path) -> None:
    with qtbot.waitSignal(window.controller.model_opened, timeout=20000):
        window.open_model(str(path))


def export_with_menu(qtbot, window, fmt: str) -> None:
    action = getattr(window, FORMATS[fmt][0])
    assert action.isEnabled(), action.toolTip()
    action.trigger()
    qtbot.waitUntil(lambda: not window.exchange.exporting, timeout=30000)
    assert QApplication.overrideCursor() is None  # the busy cursor is gone


def answer(monkeypatch, name: str, *replies):
    """Make file_dialogs.<name> return ``replies`` in turn (and record its titles)."""
    titles, queue = [], list(replies)

    def reply(parent, title, *args, **kwargs):
        titles.append(title)
        return queue.pop(0)

    monkeypatch.setattr(file_dialogs, name, reply)
    return titles


def refuse(monkeypatch, *names):
    for name in names:
        monkeypatch.setattr(file_dialogs, name, lambda *a, n=name, **k: pytest.fail(f"{n} was asked"))


def scores(network) -> np.ndarray:
    return network.predict(X)


def test_export_entries_are_disabled_with_a_reason_until_there_is_a_model(qtbot, window, trained):
    for attr, _, _ in FORMATS.values():
        action = getattr(window, attr)
        assert not action.isEnabled() and "open a model first" in action.toolTip()
    menu = window.menus["&File > E&xport model"]
    assert menu.toolTipsVisible() and menu.menuAction() in window.menus["&File"].actions()
    open_in(qtbot, window, trained)
    assert all(getattr(window, attr).isEnabled() for attr, _, _ in FORMATS.values())
    window.reset()  # the model is dropped: the menu says so when it opens
    menu.aboutToShow.emit()
    assert not window.act_export_onnx.isEnabled()


def test_onnx_export_writes_a_file_onnx_runtime_loads(qtbot, window, trained, tmp_path, monkeypatch):
    open_in(qtbot, window, trained)
    out = tmp_path / "bars.onnx"
    answer(monkeypatch, "save_file", str(out))
    export_with_menu(qtbot, window, "onnx")
    assert window.last_error is None, window.last_error
    assert out.is_file()
    assert str(out) in window.last_info and "Netron" in window.last_info
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(got, scores(load_model(trained).network), rtol=1e-4, atol=1e-5)


def test_torch_export_writes_model_weights_and_train_script(qtbot, window, trained, tmp_path, monkeypatch):
    from safetensors.numpy import load_file

    open_in(qtbot, window, trained)
    folder = tmp_path / "torch"
    folder.mkdir()
    answer(monkeypatch, "folder", str(folder))
    refuse(monkeypatch, "confirm", "data_source")  # an empty folder; MNIST needs no path
    export_with_menu(qtbot, window, "torch")
    assert window.last_error is None, window.last_error
    assert sorted(p.name for p in folder.iterdir()) == ["model.py", "model.safetensors", "train.py"]
    assert "train.py" in window.last_info and "torchrun" in window.last_info
    weights = load_file(folder / "model.safetensors")
    # PyTorch's key names (the designer's layer numbers) and layouts (Linear transposed)
    assert weights["conv1.weight"].shape == (4, 1, 3, 3) and weights["fc5.weight"].shape == (10, 144)
    assert "bn2.running_var" in weights and "bn2.num_batches_tracked" in weights
    for name in ("model.py", "train.py"):
        compile((folder / name).read_text(), name, "exec")
    # a second export into the same folder asks before replacing, and No writes nothing
    before = (folder / "train.py").stat().st_mtime_ns
    answer(monkeypatch, "folder", str(folder))
    asked = answer(monkeypatch, "confirm", False)
    window.act_export_torch.trigger()
    assert asked and not window.exchange.exporting
    assert (folder / "train.py").stat().st_mtime_ns == before


def test_numpy_export_runs_without_netcore(qtbot, window, trained, tmp_path, monkeypatch):
    open_in(qtbot, window, trained)
    answer(monkeypatch, "save_file", str(tmp_path / "bars.py"))
    export_with_menu(qtbot, window, "numpy")
    assert (tmp_path / "bars.py").is_file() and (tmp_path / "bars_weights.npz").is_file()
    np.save(tmp_path / "x.npy", X[:8])
    run = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "bars.py"), str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    expected = scores(load_model(trained).network)[:8].argmax(1)
    assert [int(line.split()[0]) for line in run.stdout.splitlines()] == expected.tolist()


def csv_trained(tmp_path: Path) -> Path:
    """A model file of a CSV-trained network: it records the table by name ("table") only."""
    from netcore.data.registry import load_dataset

    rng = np.random.default_rng(0)
    x = rng.normal([50.0, -3.0], [10.0, 1.0], size=(60, 2))
    rows = ["a,b,label"] + [f"{a:.3f},{b:.3f},{int(a / 10 + b > 2)}" for a, b in x]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    data = load_dataset(f"csv:{tmp_path / 'table.csv'}")
    net = Network({"input_shape": [2], "layers": [{"type": "dense", "units": 2}]}, seed=0)
    trainer = Trainer(net, TrainSettings(epochs=2, batch_size=8), data.x_train, data.y_train)
    trainer.run()
    model = saved_model(trainer, data)
    assert model.dataset["name"] == "table"
    save_model(model, tmp_path / "table.npz")
    return tmp_path / "table.npz"


def test_torch_export_of_a_csv_model_asks_where_the_table_is(qtbot, window, tmp_path, monkeypatch):
    path = csv_trained(tmp_path)
    open_in(qtbot, window, path)
    table = tmp_path / "table.csv"
    for reply, folder in ((None, "cancelled"), ("", "without"), (f"csv:{table}", "located")):
        (tmp_path / folder).mkdir()
        answer(monkeypatch, "folder", str(tmp_path / folder))
        answer(monkeypatch, "data_source", reply)
        window.act_export_torch.trigger()
        qtbot.waitUntil(lambda: not window.exchange.exporting, timeout=30000)
        script = tmp_path / folder / "train.py"
        if reply is None:
            assert not script.exists()
        elif reply == "":
            assert "train.py will ask for --data" in window.last_info
            assert str(table) not in script.read_text()
        else:
            assert str(table) in script.read_text() and "--data" not in window.last_info
    # trained here on that table: the window knows the path and does not ask
    window.training.add_custom_dataset("CSV: table.csv", f"csv:{table}")
    refuse(monkeypatch, "data_source")
    (tmp_path / "known").mkdir()
    answer(monkeypatch, "folder", str(tmp_path / "known"))
    export_with_menu(qtbot, window, "torch")
    assert str(table) in (tmp_path / "known" / "train.py").read_text()


def assert_window_shows(window, expected: Network) -> None:
    """The design, the session's network and the pad's network are ``expected``'s."""
    spec = window.designer.spec()
    assert [layer["type"] for layer in spec["layers"]] == [layer["type"] for layer in expected.spec["layers"]]
    assert tuple(spec["input_shape"]) == expected.input_shape
    assert window.controller.network.spec == spec
    pad = window.digits.network()
    assert pad is window.controller.network
    np.testing.assert_allclose(scores(pad), scores(expected), rtol=1e-4, atol=1e-5)
    assert window.digits.network_problem is None  # it reads digits


def test_open_an_exported_onnx_file(qtbot, window, trained, tmp_path, monkeypatch):
    model = load_model(trained)
    export_model(model, "onnx", tmp_path / "bars.onnx")
    answer(monkeypatch, "open_file", str(tmp_path / "bars.onnx"))
    with qtbot.waitSignal(window.controller.model_opened, timeout=20000):
        window.act_open.trigger()
    assert_window_shows(window, model.network)
    assert window.controller.history == model.history  # the header carried the training record
    assert window.model_path is None  # Save asks for a .npz instead of writing over the .onnx
    assert "imported" in window.exchange.last_message
    assert window.memory.recent()[0] == str(tmp_path / "bars.onnx")
    # and from Open recent, after something else was opened
    window._load_template("xor")
    window.controller.reset()
    with qtbot.waitSignal(window.controller.model_opened, timeout=20000):
        window.recent_menu.actions()[0].trigger()
    assert_window_shows(window, model.network)


def test_open_safetensors_with_the_design_embedded(qtbot, window, trained, tmp_path, monkeypatch):
    model = load_model(trained)
    export_model(model, "torch", tmp_path / "t")
    refuse(monkeypatch, "open_file")  # no design is asked for
    open_in(qtbot, window, tmp_path / "t" / "model.safetensors")
    assert_window_shows(window, model.network)


def test_open_bare_safetensors_asks_for_the_design(qtbot, window, trained, tmp_path, monkeypatch):
    from safetensors.numpy import load_file, save_file

    model = load_model(trained)
    export_model(model, "torch", tmp_path / "t")
    bare = tmp_path / "bare.safetensors"  # the same weights, no netcore header
    save_file(load_file(tmp_path / "t" / "model.safetensors"), bare)
    design = tmp_path / "bars.json"
    design.write_text(json.dumps(CNN))
    before = window.designer.spec()
    # cancelled: the window stays as it was
    asked = answer(monkeypatch, "open_file", None)
    with qtbot.waitSignal(window.controller.design_needed, timeout=20000):
        window.open_model(str(bare))
    assert asked and "design" in asked[0]
    assert window.designer.spec() == before and window.controller.network is None
    assert "not opened" in window.exchange.last_message
    # given
    answer(monkeypatch, "open_file", str(design))
    with qtbot.waitSignal(window.controller.model_opened, timeout=20000):
        window.open_model(str(bare))
    assert_window_shows(window, model.network)
    # opened again this session: the design given is remembered
    refuse(monkeypatch, "open_file")
    open_in(qtbot, window, bare)


def test_missing_packages_give_the_pip_command_and_change_nothing(
    qtbot, window, trained, tmp_path, monkeypatch
):
    open_in(qtbot, window, trained)
    network, spec = window.controller.network, window.designer.spec()
    monkeypatch.setattr(
        netcore.interop,
        "missing_packages",
        lambda what: (["onnx", "onnxruntime"], "pip install onnx onnxruntime"),
    )
    refuse(monkeypatch, "save_file", "folder", "open_file")
    monkeypatch.setattr(window.controller, "run_task", lambda *a: pytest.fail("a task was started"))
    window.act_export_onnx.trigger()
    message = window.last_error
    assert len(message.splitlines()) == 1
    assert "onnx and onnxruntime" in message and "pip install onnx onnxruntime" in message
    assert '[export]"' in message  # the project's extra
    assert not list(tmp_path.glob("*.onnx"))
    window.last_error = None
    (tmp_path / "other.onnx").write_bytes(b"")
    window.open_model(str(tmp_path / "other.onnx"))
    assert "pip install" in window.last_error and "Opening a .onnx file" in window.last_error
    assert window.controller.network is network and window.designer.spec() == spec


@pytest.mark.parametrize("kind", ["truncated onnx", "truncated safetensors", "misfit safetensors"])
def test_a_bad_file_gives_one_line_and_leaves_the_window_as_it_was(
    qtbot, window, trained, tmp_path, monkeypatch, kind
):
    model = load_model(trained)
    open_in(qtbot, window, trained)
    network, spec, path = window.controller.network, window.designer.spec(), window.model_path
    if kind == "truncated onnx":
        export_model(model, "onnx", tmp_path / "full.onnx")
        bad = tmp_path / "bad.onnx"
        bad.write_bytes((tmp_path / "full.onnx").read_bytes()[:200])
    else:
        export_model(model, "torch", tmp_path / "t")
        bad = tmp_path / "bad.safetensors"
        data = (tmp_path / "t" / "model.safetensors").read_bytes()
        if kind == "truncated safetensors":
            bad.write_bytes(data[: len(data) // 2])
        else:  # the design given is another one
            from safetensors.numpy import load_file, save_file

            save_file(load_file(tmp_path / "t" / "model.safetensors"), bad)
            other = {**CNN, "layers": [{**CNN["layers"][0], "filters": 6}, *CNN["layers"][1:]]}
            (tmp_path / "other.json").write_text(json.dumps(other))
            answer(monkeypatch, "open_file", str(tmp_path / "other.json"))
    window.last_error = None
    with qtbot.waitSignal(window.controller.error, timeout=20000) as error:
        window.open_model(str(bad))
    message = error.args[0]
    assert len(message.splitlines()) == 1 and "bad." in message, message
    assert window.controller.network is network and window.designer.spec() == spec
    assert window.model_path == path and window.last_error == message


def test_an_export_that_fails_says_why_and_restores_the_window(qtbot, window, trained, tmp_path, monkeypatch):
    open_in(qtbot, window, trained)
    gone = tmp_path / "gone" / "bars.onnx"  # its folder does not exist
    answer(monkeypatch, "save_file", str(gone))
    export_with_menu(qtbot, window, "onnx")
    assert window.last_error and "does not exist" in window.last_error
    assert len(window.last_error.splitlines()) == 1 and not gone.exists()
    assert window.act_export_onnx.isEnabled()


@pytest.mark.parametrize(("button", "expected"), [("Export without", ""), ("Cancel", None)])
def test_the_data_question_itself(qtbot, window, button, expected):
    """The real dialog (the other tests replace it): its buttons answer as data_source says."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    seen = []

    def click():  # never leaves the dialog open (the test would hang instead of failing)
        box = QApplication.activeModalWidget()
        seen.append(box.text() if isinstance(box, QMessageBox) else None)
        buttons = [b for b in box.buttons() if b.text() == button] if seen[0] else []
        buttons[0].click() if buttons else box.close()

    QTimer.singleShot(100, click)
    assert file_dialogs.data_source(window, "csv", "table", "") == expected
    assert "CSV table 'table'" in seen[0]
