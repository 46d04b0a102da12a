import json

import numpy as np
import pytest

from netcore.network import Network
from netcore.resources import resource_path
from netcore.train import Trainer, TrainSettings

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 2)).astype(np.float32) * 0.5 + np.array([[0, 3], [3, 0], [-3, -3]])[y]
    return x.astype(np.float32), y


SMALL = {
    "input_shape": [2],
    "layers": [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 3}],
}


def test_xor_learns_with_the_shipped_spec():
    spec = json.loads(resource_path("networks", "xor.json").read_text())
    net = Network(spec, seed=0)
    trainer = Trainer(
        net, TrainSettings(epochs=10000, batch_size=4, optimizer="sgd", lr=2.0, shuffle=False), XOR_X, XOR_Y
    )
    result = trainer.run()
    out = net.predict(XOR_X).ravel()
    assert result.status == "finished"
    assert trainer.history[-1].loss < 0.1
    assert list(out > 0.5) == [False, True, True, False], out


@pytest.mark.parametrize("batch_size,epochs", [(1, 5), (16, 20), (1000, 300)])
def test_stochastic_minibatch_and_full_batch_all_learn(batch_size, epochs):
    x, y = blobs()
    trainer = Trainer(
        Network(SMALL, seed=1), TrainSettings(epochs=epochs, batch_size=batch_size, lr=0.01), x, y
    )
    trainer.run()
    assert trainer.history[-1].accuracy > 0.95
    assert trainer.history[-1].loss < trainer.history[0].loss


def test_callbacks_report_every_batch_and_epoch():
    x, y = blobs(100)
    batches, epochs = [], []
    Trainer(Network(SMALL), TrainSettings(epochs=3, batch_size=32), x, y).run(
        on_batch=batches.append, on_epoch=epochs.append
    )
    assert len(batches) == 3 * 4 and [e.epoch for e in epochs] == [1, 2, 3]
    assert batches[-1].batches == 4 and batches[-1].samples == 300


def test_batch_size_and_lr_can_change_while_training():
    x, y = blobs(100)
    trainer = Trainer(Network(SMALL), TrainSettings(epochs=1, batch_size=10, lr=0.01), x, y)
    seen = []

    def on_batch(stats):
        seen.append((stats.batch, stats.batches, stats.lr))
        if stats.batch == 2:
            trainer.batch_size = 40
            trainer.base_lr = 0.05

    trainer.run(on_batch=on_batch)
    assert seen[:2] == [(1, 10, 0.01), (2, 10, 0.01)]
    assert seen[2][1] == 4 and seen[2][2] == pytest.approx(0.05)  # 80 left in batches of 40


def test_cancel_between_batches_keeps_a_usable_network():
    x, y = blobs()
    trainer = Trainer(Network(SMALL), TrainSettings(epochs=5, batch_size=10), x, y)
    calls = []
    result = trainer.run(on_batch=calls.append, should_stop=lambda: len(calls) >= 7)
    assert result.status == "cancelled" and "epoch 1" in result.message
    assert len(calls) == 7 and [(e.epoch, e.batches, e.fraction) for e in trainer.history] == [(1, 7, 0.35)]
    assert np.all(np.isfinite(trainer.network.predict(x)))
    assert trainer.run(epochs=1).status == "finished"  # and it can go on


def test_divergence_stops_with_a_clear_message_and_finite_weights():
    x, y = blobs()
    x = x * 1e3
    trainer = Trainer(Network(SMALL), TrainSettings(epochs=50, batch_size=20, optimizer="sgd", lr=1e6), x, y)
    result = trainer.run()
    assert result.status == "diverged"
    assert "epoch" in result.message and "batch" in result.message and "learning rate" in result.message
    assert np.all(np.isfinite(trainer.network.flat_params))


def test_validation_split_and_early_stopping():
    x, y = blobs(300)
    trainer = Trainer(
        Network(SMALL), TrainSettings(epochs=200, batch_size=300, lr=0.05, val_split=0.2, patience=3), x, y
    )
    assert len(trainer.x) == 240 and len(trainer.x_val) == 60
    result = trainer.run()
    assert trainer.history[-1].val_accuracy is not None
    assert result.status == "early_stopped" and len(trainer.history) < 200


def test_l2_penalty_is_part_of_the_reported_loss():
    x, y = blobs(50)
    plain = Trainer(Network(SMALL, seed=2), TrainSettings(epochs=1, batch_size=50, shuffle=False), x, y)
    decayed = Trainer(
        Network(SMALL, seed=2), TrainSettings(epochs=1, batch_size=50, l2=0.1, shuffle=False), x, y
    )
    w = decayed.network.weight_views
    penalty = 0.5 * 0.1 * sum(float(np.sum(v.astype(np.float64) ** 2)) for v in w)
    a = []
    b = []
    plain.run(on_batch=a.append)
    decayed.run(on_batch=b.append)
    assert b[0].loss - a[0].loss == pytest.approx(penalty, rel=1e-4)


def test_same_seed_same_run():
    x, y = blobs()
    runs = []
    for _ in range(2):
        t = Trainer(Network(SMALL, seed=7), TrainSettings(epochs=2, batch_size=16, seed=3), x, y)
        t.run()
        runs.append(t.network.flat_params.copy())
    np.testing.assert_array_equal(*runs)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        TrainSettings(batch_size=0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainSettings(optimizer="lbfgs")


# -- divergence and early stopping keep good weights, batchnorm statistics included -----------

BN = {
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 16, "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "dense", "units": 3},
    ],
}


def test_divergence_restores_weights_that_gave_a_finite_loss():
    x, y = blobs()
    net = Network(BN, seed=0)
    trainer = Trainer(net, TrainSettings(epochs=5, batch_size=16, lr=1e6, shuffle=False), x, y)
    result = trainer.run()
    assert result.status == "diverged" and "finite loss and gradients" in result.message
    state = net.state_dict()
    assert all(np.isfinite(v).all() for v in state.values()), "weights and running statistics"
    # The restored weights are those the last finite batch was computed with: that batch gives
    # a finite loss again (in training mode, as it did then).
    batch = int(result.message.split("(epoch 1, batch ")[1].split(")")[0])
    xb, yb = x[(batch - 1) * 16 : batch * 16], y[(batch - 1) * 16 : batch * 16]
    out = net.forward(xb, training=True)
    assert np.isfinite(net.loss.forward(out, net.loss.targets(yb, 3, np.float32)))


def test_early_stopping_restores_the_best_epochs_batchnorm_statistics():
    x, y = blobs()
    states = []
    net = Network(BN, seed=0)
    wrong = (y + 1) % 3  # validation labels that training makes worse every epoch
    trainer = Trainer(net, TrainSettings(epochs=10, batch_size=20, lr=0.01, patience=2), x, y, x, wrong)
    result = trainer.run(on_epoch=lambda e: states.append(net.state_dict()))
    assert result.status == "early_stopped"
    best = states[trainer._best_epoch - 1]
    assert trainer._best_epoch < len(states)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, best[key], err_msg=key)


def test_restore_epoch_start_puts_back_the_weights_that_match_the_history():
    x, y = blobs()
    net = Network(BN, seed=0)
    trainer = Trainer(net, TrainSettings(epochs=3, batch_size=20), x, y)
    trainer.run(epochs=1)
    after_one = net.state_dict()
    calls = iter(range(100))
    result = trainer.run(epochs=1, should_stop=lambda: next(calls) == 4)  # stop mid-epoch 2
    assert result.status == "cancelled" and trainer.epoch == 2 and trainer.history[-1].fraction < 1
    assert not np.array_equal(net.state_dict()["0.W"], after_one["0.W"])
    trainer.restore_epoch_start()
    assert trainer.epoch == 1  # the partial record goes with the weights it described
    for key, value in after_one.items():
        np.testing.assert_array_equal(net.state_dict()[key], value, err_msg=key)


def test_settings_refuse_non_finite_values():
    for field in ("l2", "momentum", "weight_decay", "lr", "clip_norm"):
        with pytest.raises(ValueError, match=f"{field} must be a finite number"):
            TrainSettings(**{field: float("inf")})
    with pytest.raises(ValueError, match="schedule warmup must be a finite number"):
        TrainSettings(schedule={"name": "constant", "warmup": float("nan")})
