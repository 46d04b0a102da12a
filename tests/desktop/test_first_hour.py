"""Issue 14, Truth: the window always says which model it holds and never loses or changes work silently."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from netcore.serialization import load_model

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


@pytest.fixture
def window(window):
    window._load_template("xor")
    window.training.epochs.setValue(300)
    return window


def train(qtbot, window, button=None):
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000) as finished:
        (button or window.training.train_button).click()
    return finished.args[0]


def save(qtbot, window, path):
    with qtbot.waitSignal(window.controller.model_saved, timeout=10000):
        window.save_model(str(path))


def answer_with(monkeypatch, reply):
    from desktop import messages

    asked = []
    monkeypatch.setattr(
        messages, "ask_unsaved", lambda p, text, then, can_save=True: (asked.append(text), then(reply))
    )
    return asked


def test_the_title_names_the_model_and_marks_unsaved_weights(qtbot, window, tmp_path):
    assert "(new design)" in window.windowTitle() and not window.isWindowModified()
    train(qtbot, window)
    assert window.windowTitle().startswith("xor[*]") and window.isWindowModified()
    save(qtbot, window, tmp_path / "mine.npz")
    assert window.windowTitle().startswith("mine.npz[*]") and not window.isWindowModified()
    window.new_design()
    assert window.windowTitle().startswith("untitled (new design)")


def test_a_design_change_sets_the_trained_model_aside_and_undo_brings_it_back(qtbot, window, tmp_path):
    train(qtbot, window)
    trained, history = window.controller.network, list(window.controller.history)
    out = trained.predict(XOR_X)
    spec = window.designer.spec()
    spec["layers"][0]["units"] = 6
    window.designer.set_spec(spec)  # one undoable edit
    assert window.controller.network is None and not window.controller.identity.trained
    assert "(new design)" in window.windowTitle()
    assert "has changed" in window.digits.model_label.text()  # the pad says it reads with the old one
    assert "Undo brings the trained model back" in window.training.status.text()
    assert window.plot.series["loss"].n == 0 and window.plot.earlier_runs()
    window.designer.undo_stack.undo()
    assert window.controller.network is trained and window.controller.history == history
    np.testing.assert_array_equal(window.controller.network.predict(XOR_X), out)
    assert window.plot.series["loss"].n == len(history)
    assert window.windowTitle().startswith("xor[*]")
    save(qtbot, window, tmp_path / "back.npz")  # not "there is no trained network to save yet"
    assert window.last_error is None and len(load_model(tmp_path / "back.npz").history) == len(history)


@pytest.mark.parametrize("doing", ["new", "template", "open", "quit", "reset"])
def test_unsaved_weights_are_asked_about_before_new_open_template_and_quit(
    qtbot, window, tmp_path, monkeypatch, doing
):
    from netcore.network import Network
    from netcore.serialization import SavedModel, save_model

    other = tmp_path / "other.npz"
    save_model(
        SavedModel(Network({"input_shape": [3], "layers": [{"type": "dense", "units": 2}]}, seed=0)), other
    )
    window.show()
    train(qtbot, window)
    trained = window.controller.network
    act = {
        "new": window.new_design,
        "template": lambda: window._load_template("mnist_mlp"),
        "open": lambda: window.open_model(str(other)),
        "quit": window.close,
        "reset": window.act_reset.trigger,
    }[doing]
    asked = answer_with(monkeypatch, "cancel")
    act()
    qtbot.wait(100)
    assert len(asked) == 1 and "not been saved" in asked[0]
    assert window.controller.network is trained and window.designer.spec()["input_shape"] == [2]
    assert window.isVisible()
    answer_with(monkeypatch, "save")
    saved = tmp_path / "kept.npz"
    monkeypatch.setattr("desktop.file_dialogs.save_file", lambda *a, **k: str(saved))
    act()
    qtbot.waitUntil(lambda: saved.exists(), timeout=10000)
    if doing == "quit":
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    else:
        qtbot.waitUntil(lambda: window.controller.network is not trained, timeout=10000)
    assert len(load_model(saved).history) == 300


def test_the_plot_and_score_reset_with_the_model_and_earlier_runs_are_named_and_clearable(qtbot, window):
    train(qtbot, window)
    qtbot.waitUntil(lambda: "test accuracy" in window.training.status.text(), timeout=10000)
    window._load_template("mnist_mlp")
    assert "test accuracy" not in window.training.status.text()
    assert window.plot.series["loss"].n == 0 and window.plot.series["batch_loss"].n == 0
    assert window.training.progress.value() == 0 and window.training.progress.format() == ""
    (run,) = window.plot.earlier_runs()
    assert run == "earlier: xor on XOR, 300 epochs"
    legend = [label.text for _, label in window.plot.loss_plot.legend.items]
    assert run in legend
    window.act_clear_runs.trigger()
    assert window.plot.earlier_runs() == [] and run not in [
        lb.text for _, lb in window.plot.loss_plot.legend.items
    ]


def test_saved_history_has_the_lr_change_and_the_batches_of_a_stopped_epoch(qtbot, window, tmp_path):
    """Train one epoch, change the learning rate, stop during epoch 2, save (issue 14's case)."""
    t = window.training
    window.designer.set_spec(
        {"input_shape": [2], "layers": [{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 2}],
         "loss": "softmax_cross_entropy"}
    )  # fmt: skip
    t.set_data_choice("moons", {"n": 20000, "noise": 0.1})
    t.batch_size.setValue(1)
    t.lr.setValue(0.001)
    train(qtbot, window, t.step_button)
    t.lr.setValue(0.01)
    batches = []
    window.controller.batch_finished.connect(batches.append)
    t.train_button.click()
    qtbot.waitUntil(lambda: any(b.epoch == 2 and b.batch > 200 for b in batches), timeout=30000)
    with qtbot.waitSignal(window.controller.training_finished, timeout=10000):
        window.controller.stop()
    path = tmp_path / "stopped.npz"
    save(qtbot, window, path)
    model = load_model(path)
    first, second = model.history
    assert first["fraction"] == 1.0 and first["lr"] == pytest.approx(0.001)
    assert second["epoch"] == 2 and 200 < second["batches"] < 14000 and second["fraction"] < 1
    assert second["changes"] == [{"batch": 1, "lr": 0.01}] and second["lr"] == pytest.approx(0.01)
    assert model.settings["lr"] == pytest.approx(0.01)


def test_time_left_counts_training_time_not_the_clock(qtbot):
    """A paused run: the trainer's clock (pauses excluded) sets the time left, not the wall clock."""
    from desktop.widgets.training import TrainingPanel
    from netcore.train import BatchStats

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.start_run(planned_epochs=2, first_epoch=0)
    panel.show_batch(BatchStats(1, 50, 100, 0.5, 0.9, 0.001, 5000, 250.0, 20.0))  # a quarter in 20 s
    assert "250 samples/s" in panel.progress.format() and "1 min 00 s left" in panel.progress.format()


def test_invalid_fields_are_refused_visibly_never_changed(qtbot, window):
    t = window.training
    window.show()
    for box, typed, value, words in (
        (t.epochs, "0", 0, "Epochs must be at least 1"),
        (t.lr, "100", 100.0, "Learning rate must be above 0 and at most 10"),
        (t.batch_size, "0", 0, "Batch size must be at least 1"),
    ):
        box.setFocus()
        box.lineEdit().selectAll()
        QTest.keyClicks(box.lineEdit(), typed)
        QTest.keyClick(box, Qt.Key.Key_Tab)
        assert box.value() == value  # kept as typed, not clamped or rounded to a neighbour
        assert "dc2626" in box.styleSheet() and words in box.toolTip()
        assert t.problem.isVisible() and words in t.problem.text()
        assert not t.train_button.isEnabled() and not t.step_button.isEnabled()
        with pytest.raises(ValueError, match=words):
            t.settings()
        window.train()
        assert window.controller.state == "idle" and words in window.last_error
        box.setValue(5 if box is not t.lr else 0.01)
        assert box.styleSheet() == "" and not t.problem.isVisible() and t.train_button.isEnabled()


def test_dataset_options_follow_the_dataset(qtbot, window, tmp_path):
    t = window.training
    assert t.samples.value() == 4
    assert not t.test_ratio.isEnabled() and t.test_ratio.text() == "same as training"
    assert "test_ratio" not in t.data_choice().options
    t.set_data_choice("spirals")
    assert (
        t.samples.value() == 300 and t.test_ratio.isEnabled() and t.test_ratio.value() == pytest.approx(0.3)
    )
    t.samples.setValue(500)
    t.set_data_choice("xor")
    assert t.samples.value() == 4
    t.set_data_choice("spirals")
    assert t.samples.value() == 500  # each dataset keeps what was set for it
    bad = tmp_path / "table.csv"
    bad.write_text("a,b,label\n1,2\n")
    monkey_path = str(bad)
    import desktop.file_dialogs as files

    original = files.open_file
    files.open_file = lambda *a, **k: monkey_path
    try:
        with qtbot.waitSignal(window.controller.error, timeout=10000):
            window.import_csv()
    finally:
        files.open_file = original
    assert t.dataset.findData(f"csv:{bad}") < 0  # the table that failed to load left the list
    assert "table.csv" in window.last_error


def test_a_learning_rate_that_blows_up_the_loss_says_so(qtbot, window):
    t = window.training
    window.designer.set_spec(
        {"input_shape": [2], "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 2}],
         "loss": "softmax_cross_entropy"}
    )  # fmt: skip
    t.set_data_choice("moons", {"n": 300})
    t.optimizer.setCurrentText("sgd")
    t.lr.setValue(10.0)  # the highest accepted
    t.batch_size.setValue(10)
    t.epochs.setValue(5)
    train(qtbot, window)
    assert not t.problem.isHidden() and "learning rate 10 is probably too high" in t.problem.text()
    assert "try 1" in t.problem.text()


def test_a_file_that_is_no_model_gets_the_engines_own_line(qtbot, window, tmp_path):
    from netcore.serialization import ModelFileError

    fake = tmp_path / "notes.npz"
    fake.write_text("these are my notes, not a model\n")
    with pytest.raises(ModelFileError) as engine:
        load_model(fake)
    with qtbot.waitSignal(window.controller.error, timeout=10000):
        window.open_model(str(fake))
    assert window.last_error == str(engine.value) and window.model_path is None


def test_the_pad_does_not_write_over_a_digit_for_a_model_that_cannot_read(qtbot, window, bar_network):
    from tests.desktop.conftest import draw_stroke, line

    pad = window.digits.pad
    window.digits.set_network(bar_network, "bars")
    draw_stroke(pad, line(140, 60, 140, 220))
    assert not pad.is_empty()
    train(qtbot, window)  # XOR's network arrives on the pad: it cannot read 28x28 digits
    assert window.digits.network_problem and pad.message() == "this model cannot read digits"
    assert pad.is_empty()


def test_the_batch_curve_does_not_lag_when_few_batches_arrive(qtbot):
    """Batches reach the plot throttled (fewer on a busy machine): the smoothing is per epoch, not per point."""
    from desktop.widgets.plot import LivePlot
    from netcore.train import BatchStats

    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.add_batch(BatchStats(1, 1, 100, 2.0, None, 0.001, 32, 1000.0))
    for batch in (20, 40, 60, 80, 100):  # one epoch, five points
        plot.add_batch(BatchStats(1, batch, 100, 0.2, None, 0.001, 32 * batch, 1000.0))
    x, y = plot.series["batch_loss"].data()
    assert x[-1] == 1.0 and y[-1] == pytest.approx(0.2, abs=0.02)
