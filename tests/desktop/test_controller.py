"""The controller and its workers: training on a thread, pause, stop, shutdown."""

import json

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Signal

from desktop.controller import Controller, DataChoice
from desktop.widgets.plot import LivePlot
from netcore.resources import resource_path
from netcore.train import TrainSettings

XOR_SPEC = json.loads(resource_path("networks", "xor.json").read_text())
MOONS_SPEC = {
    "input_shape": [2],
    "layers": [{"type": "dense", "units": 16, "activation": "tanh"}, {"type": "dense", "units": 2}],
}


@pytest.fixture
def controller(qtbot):
    c = Controller()
    yield c
    c.shutdown()
    assert c._thread is None or not c._thread.isRunning()


def test_training_xor_through_the_controller_reaches_the_plot(qtbot, controller):
    plot = LivePlot()
    qtbot.addWidget(plot)
    controller.batch_finished.connect(plot.add_batch)
    controller.epochs_finished.connect(plot.add_epochs)
    networks = []
    controller.network_changed.connect(lambda net, name: networks.append(name))
    settings = TrainSettings(epochs=2000, batch_size=4, optimizer="sgd", lr=2.0, shuffle=False)
    with qtbot.waitSignal(controller.training_finished, timeout=60000) as finished:
        controller.start_training(XOR_SPEC, settings, DataChoice("xor", {"n": 4, "noise": 0.0}))
    assert finished.args[0].status == "finished"
    assert controller.state == "idle"
    assert len(controller.history) == 2000
    assert plot.series["loss"].n == 2000 and plot.series["batch_loss"].n > 0
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    assert list(controller.network.predict(x).ravel() > 0.5) == [False, True, True, False]
    assert networks[-1].startswith("trained here")


def test_the_pad_never_reads_with_the_network_being_trained(qtbot, controller):
    settings = TrainSettings(epochs=3, batch_size=16, lr=0.01)
    seen, separate = [], []
    controller.network_changed.connect(lambda net, name: seen.append(net))
    controller.training_started.connect(
        lambda _: separate.append(controller.display_network is not controller.network)
    )
    for _ in range(2):  # the second run continues the first run's network
        with qtbot.waitSignal(controller.training_finished, timeout=60000):
            controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 300}))
    assert separate == [True, True]
    assert len(controller.history) == 6
    during = [net for net in seen[:-1] if net is not seen[-1]]
    assert during and all(net is not controller.network for net in during)
    assert seen[-1] is controller.network  # the run's end: the trained weights themselves


def test_batch_signals_are_throttled(qtbot, controller):
    batches = []
    controller.batch_finished.connect(batches.append)
    settings = TrainSettings(epochs=3, batch_size=1, lr=0.01)
    with qtbot.waitSignal(controller.training_finished, timeout=60000):
        controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 1000}))
    # 3 epochs x 700 single-sample batches, but at most ~20 signals a second plus each epoch's last
    assert 3 <= len(batches) < 3 * 700 / 4


def test_pause_resume_and_stop_leave_no_running_thread(qtbot, controller):
    settings = TrainSettings(epochs=100000, batch_size=8, lr=0.01)
    epochs = []
    controller.epoch_finished.connect(epochs.append)
    controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 400}))
    qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=20000)
    controller.pause()
    assert controller.state == "paused"
    qtbot.wait(100)
    frozen = len(epochs)
    qtbot.wait(300)
    assert len(epochs) <= frozen + 1  # at most the epoch that was finishing
    controller.resume()
    qtbot.waitUntil(lambda: len(epochs) >= frozen + 2, timeout=20000)
    thread = controller._thread
    with qtbot.waitSignal(controller.training_finished, timeout=20000) as finished:
        controller.stop()
    assert finished.args[0].status == "cancelled"
    assert controller.state == "idle" and controller._thread is None
    assert controller.threads.count() == 0  # nothing left running or referenced
    assert not _alive(thread) or not thread.isRunning()
    qtbot.waitUntil(lambda: not _alive(thread), timeout=5000)  # deleteLater reached it


def test_stop_while_paused_and_shutdown_while_training(qtbot, controller):
    settings = TrainSettings(epochs=100000, batch_size=8, lr=0.01)
    controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 400}))
    qtbot.waitUntil(lambda: controller.state == "training" and len(controller.history) >= 1, timeout=20000)
    controller.pause()
    with qtbot.waitSignal(controller.training_finished, timeout=20000):
        controller.stop()
    controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 400}))
    qtbot.waitUntil(lambda: controller.state == "training", timeout=20000)
    thread = controller._thread
    controller.shutdown()
    assert not thread.isRunning()


def test_live_learning_rate_change_reaches_the_trainer(qtbot, controller):
    settings = TrainSettings(epochs=100000, batch_size=8, lr=0.01)
    batches = []
    controller.batch_finished.connect(batches.append)
    controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 400}))
    qtbot.waitUntil(lambda: len(batches) >= 2, timeout=20000)
    controller.change_live(lr=0.123, batch_size=16)
    qtbot.waitUntil(lambda: abs(batches[-1].lr - 0.123) < 1e-9, timeout=20000)
    with qtbot.waitSignal(controller.training_finished, timeout=20000):
        controller.stop()
    assert controller.trainer.batch_size == 16


def test_divergence_is_reported_and_weights_stay_finite(qtbot, controller):
    settings = TrainSettings(epochs=50, batch_size=10, optimizer="sgd", lr=1e9)
    spec = {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 16, "activation": "relu"},
            {"type": "dense", "units": 16, "activation": "relu"},
            {"type": "dense", "units": 2},
        ],
    }
    with qtbot.waitSignal(controller.training_finished, timeout=30000) as finished:
        controller.start_training(spec, settings, DataChoice("moons", {"n": 400, "noise": 0.1}))
    result = finished.args[0]
    assert result.status == "diverged" and "learning rate" in result.message
    assert np.all(np.isfinite(controller.network.flat_params))


def test_bad_dataset_is_an_error_signal_not_an_exception(qtbot, controller):
    with qtbot.waitSignal(controller.error, timeout=10000) as error:
        controller.start_training(MOONS_SPEC, TrainSettings(), DataChoice("idx:/no/such/folder"))
    assert "/no/such/folder" in error.args[0]
    assert controller.state == "idle"


def test_design_that_does_not_fit_the_data_is_an_error(qtbot, controller):
    spec = {"input_shape": [784], "layers": [{"type": "dense", "units": 10}]}
    with qtbot.waitSignal(controller.error, timeout=10000) as error:
        controller.start_training(spec, TrainSettings(), DataChoice("moons"))
    assert "784" in error.args[0]


class _Emitter(QObject):
    flag = Signal(bool)

    def __init__(self):
        super().__init__()
        self.received = 0
        self.flag.connect(self._count)

    def _count(self, value):
        self.received += 1


class _BoolThread(QThread):
    def __init__(self, emitter):
        super().__init__()
        self.emitter = emitter

    def run(self):
        for i in range(3000):
            self.emitter.flag.emit(i % 2 == 0)


def test_bool_signals_survive_thousands_of_emits(qtbot):
    """PySide6 6.12.0 aborts the process here (see shared NOTES): the pin must keep it out."""
    emitter = _Emitter()
    for _ in range(3000):
        emitter.flag.emit(True)
    thread = _BoolThread(emitter)
    thread.start()
    thread.wait(20000)
    qtbot.waitUntil(lambda: emitter.received == 6000, timeout=10000)


def _alive(obj) -> bool:
    try:
        obj.objectName()
        return True
    except RuntimeError:
        return False


def test_a_missing_mnist_is_one_line_for_a_test_digit(qtbot, controller, tmp_path):
    controller.data_dir = str(tmp_path / "nowhere")
    failures = []
    digits = []
    controller.pick_test_digit(False, digits.append, failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    assert "MNIST not found" in failures[0] and "\n" not in failures[0] and digits == []


@pytest.mark.mnist
def test_test_digits_load_off_the_ui_thread_and_misread_ones_are_misread(
    qtbot, controller, mnist_dir, bar_network
):
    controller.data_dir = str(mnist_dir)
    controller._publish(bar_network, "bars")
    digits, errors = [], []
    controller.pick_test_digit(False, digits.append, errors.append)
    qtbot.waitUntil(lambda: bool(digits or errors), timeout=20000)
    assert errors == []
    assert digits[0]["image"].shape == (28, 28) and digits[0]["predicted"] is None
    assert controller.dataset(DataChoice("mnist")) is not None  # the next pick reuses the test set
    controller.pick_test_digit(True, digits.append, errors.append)
    qtbot.waitUntil(lambda: len(digits) == 2 or bool(errors), timeout=20000)
    assert errors == []
    wrong = digits[1]
    assert wrong["predicted"] is not None and wrong["predicted"] != wrong["label"]
    assert bar_network.predict(wrong["image"].reshape(1, 784)).argmax() == wrong["predicted"]


def test_one_train_click_builds_the_network_once_and_checks_the_fit_once(qtbot, controller, monkeypatch):
    import desktop.controller as module
    import netcore.experiment as experiment

    built, checked = [], []
    real_network, real_check = module.Network, experiment.check_fit
    monkeypatch.setattr(module, "Network", lambda *a, **k: built.append(a) or real_network(*a, **k))
    monkeypatch.setattr(experiment, "check_fit", lambda *a: checked.append(a) or real_check(*a))
    settings = TrainSettings(epochs=1, batch_size=16, lr=0.01)
    with qtbot.waitSignal(controller.training_finished, timeout=60000):
        controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 100}))
    assert len(checked) == 1
    # the trained network, and at its epoch end one display copy for the pad: never a rebuild
    assert len(built) <= 2 and controller.network.spec == MOONS_SPEC
    built.clear()
    with qtbot.waitSignal(controller.training_finished, timeout=60000):
        controller.start_training(MOONS_SPEC, settings, DataChoice("moons", {"n": 100}))
    assert len(checked) == 1 and built == []  # the same run continues


def test_the_pad_follows_tiny_epochs_at_a_bounded_rate_with_the_newest_weights(qtbot, controller):
    """Epoch reports arriving faster than PAD_PER_SECOND are coalesced: the pad gets the newest."""
    from desktop.controller import PAD_PER_SECOND
    from netcore.network import Network
    from netcore.train import EpochStats

    network = Network(MOONS_SPEC, seed=0)
    controller.session.start(network)
    controller._thread = object()  # a run is going on (only its presence is read)
    shown = []
    controller.network_changed.connect(lambda net, name: shown.append((name, net.state_dict()["0.W"].copy())))

    def report(epoch: int) -> dict:
        weights = {k: v + epoch for k, v in network.state_dict().items()}
        controller._on_worker_epoch_finished([EpochStats(epoch, 0.5, 0.8, None, None, 0.0, 0.1)], weights)
        return weights

    report(1)
    assert [name for name, _ in shown] == ["training: epoch 1"]  # the first at once
    report(2)
    newest = report(3)
    assert len(shown) == 1 and len(controller.history) == 3  # the history has every epoch
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=int(3000 / PAD_PER_SECOND))
    name, weights = shown[-1]
    assert name == "training: epoch 3" and np.array_equal(weights, newest["0.W"])
    report(4)
    controller._thread = None
    controller._on_thread_finished()  # the run ended: the trained network itself, nothing stale later
    qtbot.wait(int(1500 / PAD_PER_SECOND))
    assert shown[-1][0].startswith("trained here") and len(shown) == 3
