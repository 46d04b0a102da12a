"""Training health: what the trainer records per epoch, its cost rules, the series and the hints."""

import json

import numpy as np
import pytest

from netcore.data.synthetic import make_spirals
from netcore.inspect.health import HealthRecorder, health_series, records_epoch, relu_output
from netcore.inspect.hints import health_hints
from netcore.inspect.trace import trace
from netcore.network import Network
from netcore.serialization import SavedModel, load_model, save_model
from netcore.train import Trainer, TrainSettings

SPEC = {
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 16, "activation": "relu"},
        {"type": "dense", "units": 8, "activation": "tanh"},
        {"type": "relu"},
        {"type": "dense", "units": 3},
    ],
}


def spirals_trainer(**settings):
    x, y = make_spirals(240, classes=3, seed=0)
    net = Network(SPEC, seed=1)
    return Trainer(net, TrainSettings(**{"epochs": 3, "batch_size": 16, "lr": 1e-2, **settings}), x, y)


def test_every_epoch_has_a_record_of_the_documented_shape():
    trainer = spirals_trainer()
    trainer.run()
    assert all(e.health is not None for e in trainer.history)
    record = trainer.history[-1].health
    json.dumps(record)  # JSON-able
    assert record["every"] == 20 and record["sampled_batches"] == 1  # 15 batches: only the first
    rows = record["layers"]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]  # layers with parameters, and the ReLU layer
    dense = rows[0]
    assert set(dense) == {
        "index", "kind", "name", "weight_norm", "grad_norm", "update_ratio", "dead_fraction", "histogram"
    }  # fmt: skip
    assert dense["name"] == "Dense(2 -> 16, relu)" and dense["weight_norm"] > 0 and dense["grad_norm"] > 0
    assert 0 <= dense["dead_fraction"] <= 1 and rows[1]["dead_fraction"] is None
    hist = dense["histogram"]
    assert len(hist["counts"]) == 20 and sum(hist["counts"]) == 32 and hist["lo"] < hist["hi"]
    relu = rows[2]
    assert relu["kind"] == "relu" and relu["weight_norm"] is None and relu["dead_fraction"] is not None


def test_health_does_not_change_training():
    class Off:
        def before_step(self):
            pass

        def after_step(self):
            pass

        def end_epoch(self, epoch):
            return None

    watched, plain = spirals_trainer(), spirals_trainer()
    plain.health = Off()
    watched.run()
    plain.run()
    np.testing.assert_array_equal(watched.network.flat_params, plain.network.flat_params)
    assert [e.loss for e in watched.history] == [e.loss for e in plain.history]


def test_norms_and_update_ratio_are_those_of_the_step():
    """Full-batch SGD with every batch sampled: grad_norm = ||g||, update_ratio = lr ||g|| / ||w after||."""
    x, y = make_spirals(60, classes=3, seed=2)
    net = Network(SPEC, seed=3)
    reference = Network(SPEC, seed=3)
    trainer = Trainer(
        net, TrainSettings(epochs=1, batch_size=60, lr=0.1, optimizer="sgd", shuffle=False), x, y
    )
    trainer.health = HealthRecorder(net, every=1)
    reference.loss.forward(reference.forward(x, training=True), y)
    reference.backward(reference.loss.backward())
    trainer.run()
    rows = {r["index"]: r for r in trainer.history[0].health["layers"]}
    for i, layer in enumerate(reference.layers):
        if not layer.grads:
            continue
        g = np.sqrt(sum(float(np.vdot(v, v)) for v in layer.grads.values()))
        w = np.sqrt(sum(float(np.vdot(v, v)) for v in net.layers[i].params.values()))
        assert rows[i]["grad_norm"] == pytest.approx(g, rel=1e-4)
        assert rows[i]["update_ratio"] == pytest.approx(0.1 * g / w, rel=1e-4)
        assert rows[i]["weight_norm"] == pytest.approx(w, rel=1e-5)


def test_dead_units_are_those_that_never_fired():
    spec = {
        "input_shape": [1, 6, 6],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 5, "activation": "relu"},
            {"type": "dense", "units": 2},
        ],
    }
    rng = np.random.default_rng(4)
    x, y = rng.random((40, 1, 6, 6)).astype(np.float32), rng.integers(0, 2, 40)
    net = Network(spec, seed=5)
    net.layers[0].params["b"][[1, 3]] = -1e3  # two filters that cannot fire
    net.layers[2].params["b"][...] = [-1e3, 5, 5, 5, 5]  # one dense unit that cannot fire
    trainer = Trainer(net, TrainSettings(epochs=1, batch_size=8, lr=1e-4, optimizer="sgd"), x, y)
    trainer.run()
    rows = {r["index"]: r for r in trainer.history[0].health["layers"]}
    assert rows[0]["dead_fraction"] == 0.5 and rows[2]["dead_fraction"] == 0.2
    net.forward(x[:8], training=True)
    found, axis = relu_output(net.layers[0])
    assert axis == 0 and found.shape == (4, 8, 4, 4)  # the batch's ReLU output, per filter
    np.testing.assert_array_equal(found.transpose(1, 0, 2, 3), trace(net, x[:8])[0].output)


def test_saved_models_keep_health_and_series_have_the_documented_shapes(tmp_path):
    trainer = spirals_trainer()
    trainer.run()
    save_model(
        SavedModel(trainer.network, history=[e.to_dict() for e in trainer.history]), tmp_path / "m.npz"
    )
    history = load_model(tmp_path / "m.npz").history
    assert history[1]["health"] == trainer.history[1].health
    series = health_series([{"epoch": 0}] + history)  # an epoch without a record is left out
    assert series.epochs.tolist() == [1, 2, 3] and series.indices == [0, 1, 2, 3]
    assert series.grad_norm.shape == (3, 4) and series.dead_fraction.shape == (3, 4)
    assert np.isnan(series.grad_norm[:, 2]).all() and np.isnan(series.dead_fraction[:, 1]).all()
    assert series.hist_counts.shape == (3, 4, 20) and series.hist_range.shape == (3, 4, 2)
    assert series.hist_counts[0, 0].sum() == 32 and series.names[0] == "Dense(2 -> 16, relu)"


def test_long_runs_keep_a_bounded_number_of_records():
    recorded = [e for e in range(1, 3001) if records_epoch(e)]
    assert len(recorded) == 210 and recorded[:3] == [1, 2, 3] and recorded[-1] == 3000
    assert sum(records_epoch(e) for e in range(1, 100_001)) < 500


def record(*layers):
    return {"layers": [{"index": i, **row} for i, row in enumerate(layers)]}


def test_hints_in_plain_words():
    healthy = record(
        {"grad_norm": 0.1, "update_ratio": 1e-3, "dead_fraction": 0.05},
        {"grad_norm": 0.3, "update_ratio": 2e-3, "dead_fraction": None},
    )
    assert health_hints(healthy) == [] and health_hints(None) == []
    vanishing = record({"grad_norm": 1e-7, "update_ratio": 1e-3}, {"grad_norm": 0.2, "update_ratio": 1e-3})
    (hint,) = health_hints(vanishing)
    assert (
        hint.kind == "vanishing" and hint.layer == 0 and "million" in hint.message and "ReLU" in hint.message
    )
    no_gradient = record({"grad_norm": 0.0, "update_ratio": 0.0}, {"grad_norm": 0.2, "update_ratio": 1e-3})
    assert "gradient is zero, unlike the last layer's" in health_hints(no_gradient)[0].message  # no 1/0
    too_fast = record({"grad_norm": 0.1, "update_ratio": 0.05}, {"grad_norm": 0.1, "update_ratio": 0.2})
    (hint,) = health_hints(too_fast)
    assert hint.kind == "lr_high" and hint.layer == 1 and "20.0%" in hint.message
    slow = record({"grad_norm": 0.1, "update_ratio": 1e-8}, {"grad_norm": 0.1, "update_ratio": 1e-7})
    assert [h.kind for h in health_hints(slow)] == ["lr_low"]
    dead = record({"grad_norm": 0.1, "update_ratio": 1e-3, "dead_fraction": 0.75})
    (hint,) = health_hints(dead)
    assert hint.kind == "dead_relu" and "75%" in hint.message


def test_a_deep_sigmoid_network_is_told_its_gradients_vanish():
    x, y = make_spirals(128, classes=2, seed=6)
    spec = {
        "input_shape": [2],
        "layers": [{"type": "dense", "units": 16, "activation": "sigmoid"}] * 10
        + [{"type": "dense", "units": 2}],
    }
    trainer = Trainer(
        Network(spec, seed=7), TrainSettings(epochs=1, batch_size=32, lr=0.01, optimizer="sgd"), x, y
    )
    trainer.run()
    assert "vanishing" in [h.kind for h in health_hints(trainer.history[0].health)]
