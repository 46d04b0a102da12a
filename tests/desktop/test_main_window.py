"""The whole window: design -> train -> save -> open, errors as dialogs, closing while training."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from desktop.main_window import MainWindow
from netcore.resources import resource_path

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


@pytest.fixture
def window(window):
    window._load_template("xor")
    window.training.epochs.setValue(1500)
    return window


def train_and_wait(qtbot, window, timeout=60000):
    with qtbot.waitSignal(window.controller.training_finished, timeout=timeout) as finished:
        window.training.train_button.click()
    return finished.args[0]


def test_invalid_design_disables_train_with_the_engines_message(qtbot, window):
    assert window.training.train_button.isEnabled()
    spec = {"input_shape": [1, 8, 8], "layers": [{"type": "dense", "units": 2}]}
    window.designer.set_spec(spec)
    assert not window.designer.is_valid()
    assert not window.training.train_button.isEnabled() and not window.act_train.isEnabled()
    assert "insert a flatten" in window.training.status.text()
    window.designer.undo_stack.undo()
    assert window.training.train_button.isEnabled()


def test_xor_trains_through_the_window_and_the_plot_gets_points(qtbot, window):
    result = train_and_wait(qtbot, window)
    assert result.status == "finished"
    assert window.plot.series["loss"].n == 1500
    assert window.plot.redraws > 0
    out = window.controller.network.predict(XOR_X).ravel()
    assert list(out > 0.5) == [False, True, True, False]
    qtbot.waitUntil(lambda: "test accuracy" in window.training.status.text(), timeout=10000)


def test_save_then_open_restores_design_history_and_predictions(qtbot, window, tmp_path):
    train_and_wait(qtbot, window)
    trained = window.controller.network.predict(XOR_X)
    history = list(window.controller.history)
    path = str(tmp_path / "xor.npz")
    with qtbot.waitSignal(window.controller.model_saved, timeout=10000):
        window.save_model(path)
    window._load_template("mnist_mlp")
    window.controller.reset()
    assert window.designer.spec()["input_shape"] == [784]
    with qtbot.waitSignal(window.controller.model_opened, timeout=10000):
        window.open_model(path)
    assert window.designer.spec()["input_shape"] == [2]
    assert window.controller.history == history
    assert window.plot.series["loss"].n == len(history)
    np.testing.assert_array_equal(window.controller.network.predict(XOR_X), trained)
    assert window.model_path == path and window.memory.recent()[0] == path
    assert window.training.data_choice().name == "xor"


def test_a_corrupt_model_file_shows_an_error_dialog(qtbot, window, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 this is no model")
    with qtbot.waitSignal(window.controller.error, timeout=10000):
        window.open_model(str(bad))
    assert window.last_error and "broken.npz" in window.last_error
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "broken.npz" in boxes[0].text()
    assert window.controller.state == "idle"


@pytest.mark.parametrize(
    "broken",
    [
        {"history": [{"epoch": 1, "loss": "low"}]},
        {"history": {"epoch": 1}},
        {"settings": {"lr": "fast"}},
        {"settings": ["adam"]},
        {"dataset": "mnist"},
    ],
    ids=["history-value", "history-type", "settings-value", "settings-type", "dataset-type"],
)
def test_a_model_with_malformed_history_or_settings_leaves_the_window_as_it_was(
    qtbot, window, tmp_path, broken
):
    from netcore.network import Network
    from netcore.serialization import SavedModel, save_model

    path = tmp_path / "odd.npz"
    spec = {"input_shape": [3], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}
    save_model(SavedModel(Network(spec, seed=0), **broken), path)
    train_and_wait(qtbot, window)
    before = (window.designer.spec(), window.controller.network, list(window.controller.history))
    curve = window.plot.series["loss"].n
    errors = []
    window.controller.error.connect(errors.append)
    with qtbot.waitSignal(window.controller.error, timeout=10000):
        window.open_model(str(path))
    qtbot.wait(50)  # nothing else arrives after the error
    assert (
        len(errors) == 1 and "odd.npz" in errors[0] and "\n" not in errors[0]
    )  # the engine or the window names it
    assert (window.designer.spec(), window.controller.network, window.controller.history) == before
    assert window.plot.series["loss"].n == curve and window.model_path is None
    assert len([b for b in window.findChildren(QMessageBox) if b.isVisible()]) == 1


def test_closing_the_window_while_training_stops_the_worker(qtbot, window):
    window.training.epochs.setValue(100000)
    window.training.train_button.click()
    qtbot.waitUntil(
        lambda: window.controller.state == "training" and len(window.controller.history) > 5, timeout=20000
    )
    thread = window.controller._thread
    window.close()
    assert not thread.isRunning()


def test_design_round_trip_through_json(qtbot, window, tmp_path):
    from netcore.spec import save_spec

    path = tmp_path / "design.json"
    spec = json.loads(resource_path("networks", "mnist_mlp.json").read_text())
    save_spec(spec, path)
    window.open_design(str(path))
    assert window.designer.spec()["layers"] == spec["layers"]
    (tmp_path / "junk.json").write_text("{not json")
    window.open_design(str(tmp_path / "junk.json"))
    assert "not a readable JSON design" in window.last_error


def test_settings_persist_between_sessions(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings=settings, load_default_model=False)
    qtbot.addWidget(first)
    first._load_template("mnist_mlp")
    first.close()
    second = MainWindow(
        settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), load_default_model=False
    )
    qtbot.addWidget(second)
    assert second.designer.spec()["input_shape"] == [784]
    second.close()


# -- my handwriting: evaluate and fine-tune with the shipped reader ---------------------------
@pytest.fixture
def reader_window(qtbot, tmp_path, monkeypatch, mnist_dir):
    """A window reading with the shipped digit model; "my handwriting" is 20 MNIST test digits."""
    from desktop.controller import Controller
    from netcore.data.handwriting import save_sample
    from netcore.data.mnist import load_mnist

    monkeypatch.setenv("NETCORE_HANDWRITING_DIR", str(tmp_path / "handwriting"))
    data = load_mnist(mnist_dir, download=False)
    for image, label in zip(data.x_test[:20], data.y_test[:20], strict=True):
        save_sample(image[0], int(label))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(controller=Controller(data_dir=str(mnist_dir)), settings=settings)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.controller.display_network is not None, timeout=20000)
    yield w
    w.controller.shutdown()


def test_evaluate_on_my_handwriting_reports_the_readers_accuracy(qtbot, reader_window):
    reader_window.act_eval_mine.trigger()
    qtbot.waitUntil(lambda: reader_window.last_info is not None, timeout=20000)
    assert "right on your 20 saved digits" in reader_window.last_info
    accuracy = float(reader_window.last_info.split("%")[0].rsplit(" ", 1)[1])
    assert accuracy >= 90.0  # the shipped model reads 99.6 % of MNIST's test set
    assert reader_window.last_error is None


def test_evaluate_without_saved_digits_says_how_to_make_some(qtbot, reader_window, tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_HANDWRITING_DIR", str(tmp_path / "nothing here"))
    reader_window.act_eval_mine.trigger()
    qtbot.waitUntil(lambda: reader_window.last_error is not None, timeout=20000)
    assert "Save to my handwriting" in reader_window.last_error


def test_fine_tune_trains_a_copy_of_the_reader_on_mnist_and_my_digits(qtbot, reader_window):
    from netcore.data.handwriting import MNIST_WITH_HANDWRITING

    w = reader_window
    reader = w.controller.display_network
    before = reader.flat_params.copy()
    batches = []
    w.controller.batch_finished.connect(batches.append)
    with qtbot.waitSignal(w.controller.training_started, timeout=30000):
        w.act_finetune.trigger()
    qtbot.waitUntil(lambda: len(batches) >= 3, timeout=30000)
    with qtbot.waitSignal(w.controller.training_finished, timeout=30000) as finished:
        w.controller.stop()
    assert finished.args[0].status == "cancelled"
    choice = w.controller.data_choice
    assert choice.name == MNIST_WITH_HANDWRITING
    data = w.controller.dataset(choice)
    assert len(data.y_test) == 5  # a quarter of my 20 digits, held out of training
    assert len(data.y_train) == 60000 + 15 * 50  # MNIST plus the other 15, repeated
    assert w.designer.spec() == reader.spec  # the design shown is the reader's
    trained = w.controller.network
    assert trained is not reader and not np.array_equal(trained.flat_params, before)
    np.testing.assert_array_equal(reader.flat_params, before)  # the shipped reader is untouched
    assert w.controller.settings.lr <= 1e-4
    # measured on the held-out digits and on MNIST's test set (issue 10, item 7)
    qtbot.waitUntil(lambda: "did not train on" in w.training.status.text(), timeout=60000)
    text = w.training.status.text()
    assert "test accuracy" in text and "(MNIST)" in text and "on 5 of your digits" in text


def test_cnn_templates_bring_the_settings_their_figures_were_measured_with(window):
    window._load_template("mnist_cnn_large")
    t = window.training
    assert (t.epochs.value(), t.augment.currentText(), t.batch_size.value()) == (10, "light", 64)
    assert window.designer.spec()["name"] == "mnist_cnn_large"
    window._load_template("mnist_cnn_small")
    assert (t.epochs.value(), t.augment.currentText()) == (3, "off")
