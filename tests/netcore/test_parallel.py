"""A batch split over threads (netcore/parallel.py) computes what the whole batch does."""

import numpy as np
import pytest

from netcore import parallel
from netcore.network import Network
from netcore.parallel import SplitStep, parts_for
from netcore.train import Trainer, TrainSettings

CNN = {
    "input_shape": [1, 10, 10],
    "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 12, "activation": "tanh"},
        {"type": "dense", "units": 3},
    ],
    "loss": "softmax_cross_entropy",
}


def whole_batch(net, x, y):
    out = net.forward(x, training=True)
    loss = net.loss.forward(out, y)
    net.backward(net.loss.backward())
    return out.copy(), loss, net.flat_grads.copy()


@pytest.mark.parametrize("n, parts", [(32, 2), (21, 2), (37, 3), (9, 2)])
def test_split_batch_gives_the_whole_batchs_output_loss_and_gradient(n, parts):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(n, 1, 10, 10)), rng.integers(0, 3, n)
    net = Network(CNN, seed=0, dtype=np.float64)
    out, loss, grads = whole_batch(net, x, y)
    split = SplitStep(net, parts)
    try:
        split_out, split_loss = split.forward_backward(x, y)
    finally:
        split.close()
    np.testing.assert_allclose(split_out, out, rtol=1e-12, atol=1e-14)
    assert split_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(net.flat_grads, grads, rtol=1e-10, atol=1e-13)
    # the parts really ran on the replicas (n // MIN_PART of them at most)
    used = min(parts, n // parallel.MIN_PART)
    for replica in split.replicas[1:used]:
        assert np.abs(replica.flat_grads).sum() > 0


def test_a_replica_shares_the_parameters_but_not_the_gradients():
    net = Network(CNN, seed=0, dtype=np.float64)
    twin = net.replica(seed=1)
    assert np.shares_memory(twin.flat_params, net.flat_params)
    assert not np.shares_memory(twin.flat_grads, net.flat_grads)
    x = np.random.default_rng(2).normal(size=(4, 1, 10, 10))
    net.flat_params *= 1.5  # an optimizer step moves both
    np.testing.assert_array_equal(twin.forward(x), net.forward(x))
    for mine, theirs in zip(net.layers, twin.layers, strict=True):
        assert getattr(mine, "method", None) == getattr(theirs, "method", None)
        for key in mine.params:
            assert np.shares_memory(theirs.params[key], mine.params[key])


def test_which_networks_are_split():
    cnn = Network(CNN, seed=0)
    mlp = Network({"input_shape": [4], "layers": [{"type": "dense", "units": 2}]}, seed=0)
    with_batchnorm = Network(
        {**CNN, "layers": [CNN["layers"][0], {"type": "batchnorm"}, *CNN["layers"][1:]]}, seed=0
    )
    cores = parallel.usable_cores()
    assert parts_for(cnn) == min(cores, parallel.MAX_PARTS)
    assert parts_for(cnn, threads=3) == 3
    assert parts_for(cnn, threads=1) == 1
    assert parts_for(mlp) == 1 and parts_for(mlp, threads=2) == 2
    assert parts_for(with_batchnorm) == 1 and parts_for(with_batchnorm, threads=2) == 1
    with pytest.raises(ValueError, match="batchnorm"):
        SplitStep(with_batchnorm, 2)


def test_training_split_over_two_threads_follows_the_single_threads_run():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(96, 1, 10, 10)), rng.integers(0, 3, 96)
    weights = []
    for threads in (1, 2):
        net = Network(CNN, seed=0, dtype=np.float64)
        trainer = Trainer(net, TrainSettings(epochs=2, batch_size=32, lr=0.01, threads=threads), x, y)
        result = trainer.run()
        assert result.status == "finished"
        assert trainer._split is None  # the helper thread is gone after the run
        weights.append((net.flat_params.copy(), [h.loss for h in trainer.history]))
    np.testing.assert_allclose(weights[1][0], weights[0][0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weights[1][1], weights[0][1], rtol=1e-9)


def test_an_error_in_a_helper_part_reaches_the_caller_and_no_part_keeps_running(monkeypatch):
    net = Network(CNN, seed=0, dtype=np.float64)
    split = SplitStep(net, 2)
    helper = split.replicas[1]

    def broken(x, training=False):
        raise FloatingPointError("helper failed")

    monkeypatch.setattr(helper, "forward", broken)
    x, y = np.zeros((16, 1, 10, 10)), np.zeros(16, dtype=int)
    with pytest.raises(FloatingPointError, match="helper failed"):
        split.forward_backward(x, y)
    split.close()


def test_health_counts_relu_units_that_fire_only_in_a_helpers_part():
    # unit 0 fires for x > 0 only, unit 1 never: the positive samples are all in the second half
    spec = {
        "input_shape": [1],
        "layers": [{"type": "dense", "units": 2, "activation": "relu"}, {"type": "dense", "units": 1}],
        "loss": "mse",
    }
    net = Network(spec, seed=0, dtype=np.float64)
    net.layers[0].params["W"][...] = [[1.0, -1.0]]
    net.layers[0].params["b"][...] = [0.0, -5.0]
    x = np.concatenate([-np.ones(16), np.ones(16)]).reshape(32, 1)
    dead = {}
    for threads in (1, 2):
        trainer = Trainer(
            net.replica(seed=0), TrainSettings(epochs=1, batch_size=32, lr=1e-9, shuffle=False, threads=threads),
            x, np.zeros(32),
        )  # fmt: skip
        trainer.run()
        dead[threads] = trainer.history[-1].health["layers"][0]["dead_fraction"]
    assert dead == {1: 0.5, 2: 0.5}  # unit 1 is dead either way, unit 0 fired in the second half
