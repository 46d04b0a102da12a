"""netcore.step_profile and `netcore bench --layers`: where a training step's time goes."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from netcore.cli import main
from netcore.layers import MaxPool2D
from netcore.network import Network
from netcore.resources import resource_path
from netcore.spec import load_spec
from netcore.step_profile import _layer_clocks, format_profile, profile_step
from tests.conftest import small_cnn

SMALL = small_cnn((1, 8, 8), 3)


def data(n: int, shape=(1, 8, 8), classes: int = 3):
    rng = np.random.default_rng(0)
    return rng.random((n,) + shape, dtype=np.float32), rng.integers(0, classes, n)


def test_each_layers_time_is_its_own(monkeypatch):
    slow = 0.005
    forward = MaxPool2D.forward

    def slow_forward(self, x, training=False):
        time.sleep(slow)
        return forward(self, x, training)

    monkeypatch.setattr(MaxPool2D, "forward", slow_forward)
    x, y = data(40)
    p = profile_step(SMALL, x, y, batch=8, rounds=5)
    names = [row["layer"] for row in p["layers"]]
    assert names == [layer.describe() for layer in Network(SMALL).layers]
    forwards = [row["forward_ms"] for row in p["layers"]]
    assert forwards[1] >= slow * 1e3 and forwards[1] == max(forwards)  # the pooling's, not its neighbours'
    assert all(row["backward_ms"] > 0 for row in p["layers"]) and p["loss_ms"] > 0 and p["optimizer_ms"] > 0
    assert p["gather_ms"] > 0
    pieces = (
        sum(row["forward_ms"] + row["backward_ms"] for row in p["layers"])
        + p["loss_ms"]
        + p["gather_ms"]
        + p["optimizer_ms"]
    )
    assert p["pieces_ms"] == pytest.approx(pieces)
    assert p["layers_ms"] == pytest.approx(sum(row["forward_ms"] + row["backward_ms"] for row in p["layers"]))
    assert p["step_ms"] >= slow * 1e3 and p["steps"] >= 20  # the trainer's steps run the same pooling
    # inside the trainer's steps, the same layer's clock (and none of its neighbours') holds the sleep
    in_step = [row["step_forward_ms"] for row in p["layers"]]
    assert in_step[1] >= slow * 1e3 and in_step[1] == max(in_step)
    assert all(row["step_backward_ms"] > 0 for row in p["layers"])
    assert p["step_layers_ms"] == pytest.approx(
        sum(in_step) + sum(r["step_backward_ms"] for r in p["layers"])
    )
    assert p["step_layers_ms"] < p["step_ms"]
    assert (p["parts"], p["part_size"], p["runs_in"]) == (1, 8, "whole")
    table = format_profile("small", 8, p)
    assert all(name in table for name in names) and "whole step (trainer)" in table
    assert "in the step" in table and "the layers in the step, against alone" in table


def test_a_split_batch_is_profiled_on_one_part():
    x, y = data(64)
    p = profile_step(SMALL, x, y, batch=32, threads=2, rounds=3)
    assert (p["parts"], p["part_size"]) == (2, 16) and p["runs_in"] in ("processes", "threads")
    assert "2 parts of 16" in format_profile("small", 32, p)


def test_profile_refuses_a_batch_larger_than_the_data():
    x, y = data(4)
    with pytest.raises(ValueError, match="at least 8"):
        profile_step(SMALL, x, y, batch=8)


def test_bench_layers_prints_each_layer_and_pytorchs_step(capsys):
    torch = pytest.importorskip("torch")  # PyTorch is optional: its step is printed when importable
    assert torch is not None
    spec = resource_path("networks", "mnist_cnn_small.json")
    args = ["bench", "--layers", "--spec", str(spec), "--batch-size", "16", "--samples", "96"]
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (row,) = report["results"]
    assert len(row["profile"]["layers"]) == len(Network(load_spec(spec)).layers)
    assert row["torch_step_ms"] > 0 and "netcore_s" not in row  # a profile, not epochs
    assert min(report["products"].values()) > 0
    # PyTorch's same layers, one at a time, beside each of netcore's
    assert all(r["beside_forward_ms"] > 0 and r["beside_backward_ms"] >= 0 for r in row["profile"]["layers"])
    assert row["torch_layers_ms"] == pytest.approx(
        sum(r["beside_forward_ms"] + r["beside_backward_ms"] for r in row["profile"]["layers"])
    )
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (
        "GFLOP/s on one thread" in out
        and "mnist_cnn_small batch 16" in out
        and "PyTorch's whole step" in out
        and "forward  backward" in out
        and "PyTorch, alone" in out
        and "the layers alone, summed: netcore" in out
    )


def test_pytorchs_layers_are_timed_one_for_one_with_netcores():
    torch = pytest.importorskip("torch")  # optional, as above
    from netcore.bench import torch_layer_passes

    spec = load_spec(resource_path("networks", "mnist_cnn_small.json"))
    x, y = data(16, (1, 28, 28), 10)
    threads = torch.get_num_threads()
    forward, backward = torch_layer_passes(spec)(x, y, 3, True)
    layers = len(Network(spec).layers)
    assert [len(p) for p in forward] == [layers] * 3 == [len(p) for p in backward]
    assert all(t > 0 for p in forward for t in p)
    assert torch.get_num_threads() == threads  # one thread while it ran, PyTorch's own again after


def test_a_regression_network_is_profiled_with_the_trainers_targets():
    spec = {"input_shape": [2], "layers": [{"type": "dense", "units": 1}], "loss": "mse"}
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 2), dtype=np.float32), rng.random(40)
    p = profile_step(spec, x, y, batch=8, rounds=3)
    assert [row["layer"] for row in p["layers"]] == ["Dense(2 -> 1, linear)"] and p["loss_ms"] > 0


def test_layer_clocks_count_training_passes_and_leave_the_layers_as_they_were():
    net = Network(SMALL, seed=0)
    x, y = data(8)
    before = net.forward(x)
    with _layer_clocks(net) as (forward, backward):
        out = net.forward(x, training=True)
        net.backward(np.ones_like(out))
        net.forward(x)  # an inference pass: not a step's
    assert [len(t) for t in forward] == [1] * len(net.layers) == [len(t) for t in backward]
    assert all(vars(layer).keys().isdisjoint({"forward", "backward"}) for layer in net.layers)
    np.testing.assert_array_equal(net.forward(x), before)


def test_another_engines_steps_take_their_turn_in_every_block():
    calls = []

    def beside(steps):  # another engine whose steps take 2, 4, 6... ms by block
        calls.append(steps)
        return [0.002 * len(calls)] * steps

    x, y = data(40)
    p = profile_step(SMALL, x, y, batch=8, rounds=8, beside=beside)
    assert calls == [5, 5, 5, 5]  # one turn per block, beside the trainer's steps
    assert p["beside_step_ms"] == pytest.approx(5.0)  # the median over all of them: blocks 2 and 3
    assert profile_step(SMALL, x, y, batch=8, rounds=1)["beside_step_ms"] is None


def test_another_engines_layers_take_their_turn_beside_the_pieces():
    calls = []
    layers = len(Network(SMALL).layers)

    def beside_layers(x, labels, count, one_thread):  # layers taking 1 ms forward, 3 ms backward
        calls.append((len(x), len(labels), count, one_thread))
        return [[0.001] * layers] * count, [[0.003] * layers] * count

    x, y = data(40)
    p = profile_step(SMALL, x, y, batch=8, rounds=8, beside_layers=beside_layers)
    assert calls == [(8, 8, 2, False)] * 4  # the pieces' part, in every block, on every thread
    assert [(r["beside_forward_ms"], r["beside_backward_ms"]) for r in p["layers"]] == [
        (pytest.approx(1.0), pytest.approx(3.0))
    ] * layers
    assert p["beside_layers_ms"] == pytest.approx(4.0 * layers)
    table = format_profile("small", 8, p, other="Fake")
    assert "Fake, alone" in table
    ratio = (p["layers"][0]["forward_ms"] + p["layers"][0]["backward_ms"]) / 4.0
    assert f"{ratio:7.2f}x" in table.splitlines()[3]
    split = profile_step(SMALL, *data(64), batch=32, threads=2, rounds=4, beside_layers=beside_layers)
    assert calls[-1] == (16, 16, 1, True) and split["parts"] == 2  # one part, on one thread
    plain = profile_step(SMALL, x, y, batch=8, rounds=1)
    assert all(r["beside_forward_ms"] is None for r in plain["layers"]) and plain["beside_layers_ms"] is None
    table = format_profile("small", 8, plain)
    assert "alone" in table and "netcore /" not in table
