"""TrainingControl: stop, pause and live lr / batch size, read by the trainer between batches."""

import threading

import numpy as np
import pytest

from netcore.network import Network
from netcore.train import Trainer, TrainingControl, TrainSettings

SPEC = {"input_shape": [2], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}


def trainer(epochs=3, batch_size=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return Trainer(Network(SPEC, seed=0), TrainSettings(epochs=epochs, batch_size=batch_size, lr=0.01), x, y)


def test_pending_changes_reach_the_next_batch_and_stop_ends_the_run():
    t, control, seen = trainer(), TrainingControl(), []

    def on_batch(stats):
        seen.append((stats.batch, stats.lr, t.batch_size))
        if stats.batch == 2:
            control.change(lr=0.5, batch_size=8)
        if stats.batch == 4:
            control.request_stop()

    result = t.run(on_batch=on_batch, control=control)
    assert result.status == "cancelled"
    assert seen[:2] == [(1, 0.01, 4), (2, 0.01, 4)]
    assert seen[2] == (3, 0.5, 8) and len(seen) == 4
    assert control.take_changes() == {}  # applied once, then forgotten


def test_only_live_settings_can_change():
    with pytest.raises(ValueError, match="lr, batch_size"):
        TrainingControl().change(optimizer="sgd")


def test_a_paused_run_waits_and_a_stop_wakes_it():
    t, control = trainer(epochs=1000), TrainingControl()
    control.pause()
    results = []
    worker = threading.Thread(target=lambda: results.append(t.run(control=control)))
    worker.start()
    worker.join(0.2)
    assert worker.is_alive() and t.epoch == 0  # waiting before its first batch
    control.request_stop()
    worker.join(10)
    assert not worker.is_alive() and results[0].status == "cancelled" and t.epoch == 0


def test_should_stop_still_works_without_a_control():
    t, calls = trainer(), []
    result = t.run(should_stop=lambda: len(calls) >= 2, on_batch=calls.append)
    assert result.status == "cancelled" and len(calls) == 2
