"""The saved history tells what the weights went through: live changes, stopped epochs, pauses."""

import threading

import numpy as np

from netcore.experiment import parse_history
from netcore.network import Network
from netcore.train import Trainer, TrainingControl, TrainSettings

SPEC = {"input_shape": [2], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}


def trainer(n=200, batch_size=10):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return Trainer(Network(SPEC, seed=0), TrainSettings(epochs=1, batch_size=batch_size, lr=0.01), x, y)


def test_live_changes_and_a_stopped_epoch_are_in_the_history():
    t, control = trainer(), TrainingControl()
    t.run(epochs=1, control=control)

    def on_batch(stats):
        if stats.epoch == 2 and stats.batch == 3:
            control.change(lr=0.1)
        if stats.epoch == 2 and stats.batch == 6:
            control.change(batch_size=5)
        if stats.epoch == 2 and stats.batch == 8:
            control.request_stop()

    epochs = []
    result = t.run(epochs=3, on_batch=on_batch, on_epoch=epochs.append, control=control)
    assert result.status == "cancelled"
    first, stopped = t.history
    assert first.fraction == 1.0 and first.batches == 20 and first.changes is None
    assert stopped.epoch == 2 and stopped.batches == 8 and epochs == [stopped]
    # batches 1-6 of 10 samples, then 7-8 of 5: 70 of 200 samples
    assert stopped.fraction == 0.35
    assert stopped.changes == [{"batch": 4, "lr": 0.1}, {"batch": 7, "batch_size": 5}]
    assert stopped.lr == 0.1
    rows = [e.to_dict() for e in t.history]
    assert parse_history(rows) == t.history  # and it reads back as it was written


def test_an_old_history_without_the_new_fields_still_reads():
    row = {"epoch": 1, "loss": 0.5, "accuracy": 0.9, "val_loss": None, "val_accuracy": None,
           "seconds": 1.0, "lr": 0.001}  # fmt: skip
    (stats,) = parse_history([row])
    assert stats.fraction == 1.0 and stats.batches is None and stats.changes is None


def test_paused_time_counts_neither_in_samples_per_second_nor_in_the_epoch_time():
    t, control = trainer(n=400, batch_size=10), TrainingControl()
    seen = []

    def on_batch(stats):
        seen.append(stats)
        if stats.batch == 20:
            control.pause()
            threading.Timer(0.6, control.resume).start()

    t.run(epochs=1, on_batch=on_batch, control=control)
    (epoch,) = t.history
    last = seen[-1]
    assert epoch.seconds < 0.5 and last.seconds < 0.5  # the 0.6 s pause is not training time
    assert last.samples_per_second == last.samples / last.seconds


def test_stopping_before_the_first_batch_records_nothing():
    t, control = trainer(), TrainingControl()
    control.request_stop()
    assert t.run(control=control).status == "cancelled" and t.history == []
