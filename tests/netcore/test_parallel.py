"""A batch split over threads or processes (netcore/parallel.py, netcore/part_process.py)
computes what the whole batch does."""

import sys

import numpy as np
import pytest

from netcore import parallel
from netcore.network import Network
from netcore.parallel import SplitStep, parts_for
from netcore.resources import resource_path
from netcore.spec import load_spec
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


# batch statistics over the whole batch: the parts meet at each batchnorm layer
BN_CNN = {
    **CNN,
    "layers": [CNN["layers"][0], {"type": "batchnorm"}, *CNN["layers"][1:5], {"type": "dense", "units": 12},
               {"type": "batchnorm"}, {"type": "dense", "units": 3}],
}  # fmt: skip


def whole_batch(net, x, y):
    out = net.forward(x, training=True)
    loss = net.loss.forward(out, y)
    net.backward(net.loss.backward())
    return out.copy(), loss, net.flat_grads.copy()


def part_grads(split, replica):
    """The gradient a part left: a thread replica's flat_grads, or a process part's block."""
    return replica.grads if split.in_processes else replica.flat_grads


@pytest.mark.parametrize(
    "spec, processes",
    [(CNN, False), (CNN, True), (BN_CNN, False), (BN_CNN, True)],
    ids=["threads", "processes", "batchnorm-threads", "batchnorm-processes"],
)
@pytest.mark.parametrize("n, parts", [(32, 2), (21, 2), (37, 3), (9, 2)])
def test_split_batch_gives_the_whole_batchs_output_loss_and_gradient(spec, processes, n, parts):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(n, 1, 10, 10)), rng.integers(0, 3, n)
    net = Network(spec, seed=0, dtype=np.float64)
    out, loss, grads = whole_batch(net, x, y)
    states = [v.copy() for layer in net.layers for v in layer.state.values()]
    for name, value in (kv for layer in net.layers for kv in layer.state.items()):
        value[...] = {"running_mean": 0.0, "running_var": 1.0}[name]  # as before whole_batch
    split = SplitStep(net, parts, processes=processes)
    assert split.in_processes is processes
    try:
        split_out, split_loss = split.forward_backward(x, y)
    finally:
        split.close()
    np.testing.assert_allclose(split_out, out, rtol=1e-12, atol=1e-14)
    assert split_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(net.flat_grads, grads, rtol=1e-10, atol=1e-13)
    for value, expected in zip([v for la in net.layers for v in la.state.values()], states, strict=True):
        np.testing.assert_allclose(value, expected, rtol=1e-12)  # the whole batch's statistics
    # the parts really ran on the replicas (n // MIN_PART of them at most)
    used = min(parts, n // parallel.MIN_PART)
    for replica in split.replicas[1:used]:
        assert np.abs(part_grads(split, replica)).sum() > 0


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
    with_batchnorm = Network(BN_CNN, seed=0)
    cores = parallel.usable_cores()
    assert parts_for(cnn) == min(cores, parallel.MAX_PARTS)
    assert parts_for(cnn, threads=3) == 3
    assert parts_for(cnn, threads=1) == 1
    assert parts_for(mlp) == 1 and parts_for(mlp, threads=2) == 2
    assert parts_for(with_batchnorm) == parts_for(cnn)


@pytest.mark.parametrize("spec", [CNN, BN_CNN], ids=["cnn", "batchnorm"])
def test_training_split_over_two_threads_follows_the_single_threads_run(spec):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(96, 1, 10, 10)), rng.integers(0, 3, 96)
    weights = []
    for threads in (1, 2):
        net = Network(spec, seed=0, dtype=np.float64)
        trainer = Trainer(net, TrainSettings(epochs=2, batch_size=32, lr=0.01, threads=threads), x, y)
        result = trainer.run()
        assert result.status == "finished"
        assert trainer._split is None  # the helper thread is gone after the run
        assert all(getattr(layer, "group", None) is None for layer in net.layers)
        states = np.concatenate([v.ravel() for layer in net.layers for v in layer.state.values()] or [[]])
        weights.append((net.flat_params.copy(), [h.loss for h in trainer.history], states))
    # atol: biases before a batchnorm have no gradient (rounding only), which Adam scales up
    np.testing.assert_allclose(weights[1][0], weights[0][0], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(weights[1][1], weights[0][1], rtol=1e-9)
    np.testing.assert_allclose(weights[1][2], weights[0][2], rtol=1e-8, atol=1e-10)


def test_an_error_in_a_helper_part_reaches_the_caller_and_no_part_keeps_running(monkeypatch):
    net = Network(CNN, seed=0, dtype=np.float64)
    split = SplitStep(net, 2, processes=False)
    helper = split.replicas[1]

    def broken(x, training=False):
        raise FloatingPointError("helper failed")

    monkeypatch.setattr(helper, "forward", broken)
    x, y = np.zeros((16, 1, 10, 10)), np.zeros(16, dtype=int)
    with pytest.raises(FloatingPointError, match="helper failed"):
        split.forward_backward(x, y)
    split.close()


@pytest.mark.parametrize("failing", [0, 1], ids=["first part", "helper part"])
def test_a_part_failing_before_a_batchnorm_meeting_wakes_the_others_and_the_next_batch_works(
    monkeypatch, failing
):
    net = Network(BN_CNN, seed=0, dtype=np.float64)
    split = SplitStep(net, 2, processes=False)
    conv = split.replicas[failing].layers[0]  # before the first batchnorm: the other part waits there
    real = conv.forward

    def broken(x, training=False):
        raise FloatingPointError("part failed")

    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(16, 1, 10, 10)), rng.integers(0, 3, 16)
    monkeypatch.setattr(conv, "forward", broken)
    with pytest.raises(FloatingPointError, match="part failed"):  # the cause, not a broken barrier
        split.forward_backward(x, y)
    monkeypatch.setattr(conv, "forward", real)
    out, loss = split.forward_backward(x, y)
    split.close()
    whole = Network(BN_CNN, seed=0, dtype=np.float64)
    np.testing.assert_allclose(out, whole_batch(whole, x, y)[0], rtol=1e-12)


@pytest.mark.parametrize("parts_in", ["threads", "processes"])
def test_health_counts_relu_units_that_fire_only_in_a_helpers_part(monkeypatch, parts_in):
    monkeypatch.setenv("NETCORE_PARTS", parts_in)
    # unit 0 fires for x < 0 only, unit 1 for x > 0 only, unit 2 never: the positive samples are
    # all in the second half, so each part sees one of the two fire (and the first part's unit 0
    # leaves the silent set before the second part's report is read)
    spec = {
        "input_shape": [1],
        "layers": [{"type": "dense", "units": 3, "activation": "relu"}, {"type": "dense", "units": 1}],
        "loss": "mse",
    }
    net = Network(spec, seed=0, dtype=np.float64)
    net.layers[0].params["W"][...] = [[-1.0, 1.0, -1.0]]
    net.layers[0].params["b"][...] = [0.0, 0.0, -5.0]
    x = np.concatenate([-np.ones(16), np.ones(16)]).reshape(32, 1)
    dead = {}
    for threads in (1, 2):
        trainer = Trainer(
            net.replica(seed=0), TrainSettings(epochs=1, batch_size=32, lr=1e-9, shuffle=False, threads=threads),
            x, np.zeros(32),
        )  # fmt: skip
        trainer.run()
        dead[threads] = trainer.history[-1].health["layers"][0]["dead_fraction"]
    assert dead == {1: pytest.approx(1 / 3), 2: pytest.approx(1 / 3)}  # unit 2 alone, either way
    assert parallel.in_processes(net) is (parts_in == "processes")


def test_blas_stays_at_one_thread_until_the_last_split_step_leaves_from_any_thread():
    import threading

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    with parallel.one_blas_thread:
        with parallel.one_blas_thread:  # another thread's step, overlapping
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}  # the first is still inside
    assert blas_threads() == before
    # a thread that held it stays alive (OpenBLAS then ignored other threads' changes): another
    # thread's step still gets one BLAS thread, and so does this one's afterwards
    seen, done = {}, threading.Event()

    def step(name, stay):
        with parallel.one_blas_thread:
            seen[name] = blas_threads()
        if stay:
            done.wait(10)

    first = threading.Thread(target=step, args=("first", True))
    first.start()
    second = threading.Thread(target=step, args=("second", False))
    second.start()
    second.join()
    step("main", False)
    done.set()
    first.join()
    assert seen == {"first": [1] * len(before), "second": [1] * len(before), "main": [1] * len(before)}
    assert blas_threads() == before


def test_netcores_own_choice_splits_only_batches_with_work_for_two_cores():
    net = Network(CNN, seed=0, dtype=np.float64)
    # conv 4x1x3x3 on 10x10, conv 6x4x3x3 on 5x5, dense 24 -> 12, dense 12 -> 3
    assert parallel.work_per_sample(net) == 4 * 9 * 100 + 6 * 4 * 9 * 25 + 24 * 12 + 12 * 3
    work = parallel.work_per_sample(net)
    split = SplitStep(net, 2, min_part_work=20 * work, processes=False)  # a part needs 20 samples
    rng = np.random.default_rng(5)
    try:
        for n, split_expected in ((32, False), (40, True), (16, False)):
            for replica in split.replicas:
                replica.flat_grads[...] = 0
            x, y = rng.normal(size=(n, 1, 10, 10)), rng.integers(0, 3, n)
            split.forward_backward(x, y)
            assert bool(np.abs(split.replicas[1].flat_grads).sum()) is split_expected
            assert split._blas_held is split_expected  # one BLAS thread only while split
    finally:
        split.close()
    assert not split._blas_held
    # what the trainer will do, as bench and the command line report it
    assert parallel.batch_parts(net, 40, threads=2) == 2  # asked for: enough samples only
    assert parallel.batch_parts(net, 12, threads=2) == 1
    two = min(parallel.usable_cores(), 2)
    assert parallel.batch_parts(net, 3000, threads=0) == 1  # 14 M a slice: too little work
    assert parallel.batch_parts(net, 4000, threads=0) == two  # 18.6 M
    mnist_cnn = Network(load_spec(resource_path("networks", "mnist_cnn.json")))  # 3.0 M a sample
    assert parallel.batch_parts(mnist_cnn, 64) == parallel.batch_parts(mnist_cnn, 32) == two
    assert parallel.batch_parts(mnist_cnn, 16) == 1  # 24 M a slice, but only 8 samples
    small_cnn = Network(load_spec(resource_path("networks", "mnist_cnn_small.json")))  # 0.79 M
    assert parallel.batch_parts(small_cnn, 64) == two  # 25 M a slice
    assert parallel.batch_parts(small_cnn, 32) == 1  # 16 samples, but 12.7 M a slice


def test_validation_between_split_epochs_gets_blas_back(monkeypatch):
    from threadpoolctl import threadpool_info

    import netcore.train

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before, seen = blas_threads(), []
    real = netcore.train.evaluate

    def watched(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(netcore.train, "evaluate", watched)
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(64, 1, 10, 10)), rng.integers(0, 3, 64)
    net = Network(CNN, seed=0, dtype=np.float64)
    trainer = Trainer(net, TrainSettings(epochs=2, batch_size=32, threads=2), x, y, x[:16], y[:16])
    trainer.run()
    assert seen == [before, before] and blas_threads() == before
    assert trainer.history[-1].val_loss is not None


def test_a_split_run_stops_cleanly_when_cancelled_or_diverging():
    import threading

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(128, 1, 10, 10)), rng.integers(0, 3, 128)
    net = Network(BN_CNN, seed=0, dtype=np.float64)
    trainer = Trainer(net, TrainSettings(epochs=3, batch_size=32, threads=2), x, y)
    calls = []
    result = trainer.run(should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert result.status == "cancelled" and trainer._split is None
    assert not [t for t in threading.enumerate() if t.name.startswith("netcore-part")]
    assert all(layer.group is None for layer in net.layers if hasattr(layer, "group"))

    x[5, 0, 0, 0] = np.inf  # the first batch's first part
    net = Network(CNN, seed=0, dtype=np.float64)
    start = net.flat_params.copy()
    trainer = Trainer(net, TrainSettings(epochs=1, batch_size=32, threads=2, shuffle=False), x, y)
    result = trainer.run()
    assert result.status == "diverged" and trainer._split is None
    np.testing.assert_array_equal(net.flat_params, start)  # the weights it started from


def test_the_split_measuring_script_times_both_ways():
    """scripts/split_ab.py, which the split rule's figures come from, runs and reports both."""
    import re

    from tests.conftest import run_script

    args = ["--spec", "mnist_cnn_small", "--batch-size", "16", "--batches", "2", "--pairs", "2"]
    stdout = run_script("split_ab.py", *args)
    found = re.search(r"whole ([\d.]+) ms, split ([\d.]+) ms a batch; split/whole median ([\d.]+)", stdout)
    assert found and all(float(value) > 0 for value in found.groups()), stdout
    assert "(8 samples, 6.3 M multiply-adds a half)" in stdout


@pytest.mark.parametrize("base", [CNN, BN_CNN], ids=["cnn", "batchnorm"])
def test_steps_with_parts_in_processes_equal_steps_on_threads_bit_for_bit(base):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(96, 1, 10, 10)).astype(np.float32), rng.integers(0, 3, 96)
    spec = {**base, "layers": [*base["layers"][:-2], {"type": "dropout", "rate": 0.3}, *base["layers"][-2:]]}
    runs = {}
    for processes in (False, True):
        net = Network(spec, seed=0)
        split = SplitStep(net, 2, processes=processes)
        try:
            for start in range(0, 96, 32):  # three plain gradient steps
                split.forward_backward(x[start : start + 32], y[start : start + 32])
                net.flat_params -= 0.01 * net.flat_grads
        finally:
            split.close()
        states = [value.ravel() for layer in net.layers for value in layer.state.values()]
        runs[processes] = np.concatenate([net.flat_params, *states])  # batchnorm's running statistics too
    # the same code on the same values, one BLAS thread each, dropout drawn from the same seeds
    np.testing.assert_array_equal(runs[True], runs[False])


def test_a_part_process_that_dies_is_reported_and_replaced_by_the_next_split_step():
    from netcore.part_process import PartProcessError

    net = Network(CNN, seed=0, dtype=np.float64)
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(16, 1, 10, 10)), rng.integers(0, 3, 16)
    split = SplitStep(net, 2, processes=True)
    child = split.replicas[1]
    child._process.kill()
    child._process.wait()
    with pytest.raises(PartProcessError, match="ended"):
        split.forward_backward(x, y)
    split.close()
    again = SplitStep(net, 2, processes=True)
    try:
        assert again.replicas[1] is not child and again.replicas[1].alive
        out, _ = again.forward_backward(x, y)
    finally:
        again.close()
    np.testing.assert_allclose(out, whole_batch(Network(CNN, seed=0, dtype=np.float64), x, y)[0], rtol=1e-12)


def test_batchnorm_networks_split_into_processes():
    assert parallel.in_processes(Network(BN_CNN, seed=0))


@pytest.mark.parametrize("failing", [0, 1], ids=["first part", "part in a process"])
def test_a_part_failing_before_a_batchnorm_meeting_in_processes_stops_the_other_and_the_next_batch_works(
    failing,
):
    from netcore.part_process import PartProcessError

    net = Network(BN_CNN, seed=0)
    split = SplitStep(net, 2, processes=True)
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(16, 1, 10, 10)).astype(np.float32), rng.integers(0, 3, 16)
    bad = x.copy()
    bad[8 * failing : 8 * failing + 8] = 1e38  # overflows in the first convolution, before any meeting
    try:
        with np.errstate(over="raise", invalid="ignore"):
            raised = FloatingPointError if failing == 0 else PartProcessError
            with pytest.raises(raised, match="overflow"):  # the cause, not a stopped part
                split.forward_backward(bad, y)
        for _ in range(2):  # nobody is left waiting at a meeting, nor answers out of turn
            out, loss = split.forward_backward(x, y)
    finally:
        split.close()
    whole = Network(BN_CNN, seed=0)
    np.testing.assert_allclose(out, whole_batch(whole, x, y)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "spec, failing",
    [(CNN, 1), (BN_CNN, 0)],
    ids=["part in a process", "first part between batchnorm meetings"],
)
def test_an_error_in_a_parts_loss_reaches_the_caller_and_the_next_batch_works(spec, failing):
    """A label with no class fails one part's loss: the part in the other process's (its error
    comes back), or the first part's, after every batchnorm forward meeting, while the part in
    the process waits at backward's first one (it is told to stop)."""
    from netcore.part_process import PartProcessError

    net = Network(spec, seed=0, dtype=np.float64)
    split = SplitStep(net, 2, processes=True)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(16, 1, 10, 10)), rng.integers(0, 3, 16)
    bad = y.copy()
    bad[8 * failing : 8 * failing + 8] = 7  # no such class: only that part's loss fails
    raised, match = (IndexError, None) if failing == 0 else (PartProcessError, "IndexError")
    try:
        with pytest.raises(raised, match=match):
            split.forward_backward(x, bad)
        out, loss = split.forward_backward(x, y)
    finally:
        split.close()
    expected_out, expected_loss, _ = whole_batch(Network(spec, seed=0, dtype=np.float64), x, y)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12)
    assert loss == pytest.approx(expected_loss, rel=1e-12)


def test_where_no_part_process_starts_the_parts_train_on_threads_with_a_warning(monkeypatch):
    from netcore import child_process, part_process

    monkeypatch.setattr(part_process, "_unavailable", None)
    monkeypatch.setattr(part_process, "_idle", [])  # no started child to reuse
    monkeypatch.setattr(child_process, "command", lambda module, *args: [sys.executable, "-c", "exit(3)"])
    net = Network(CNN, seed=0, dtype=np.float64)
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(16, 1, 10, 10)), rng.integers(0, 3, 16)
    with pytest.warns(RuntimeWarning, match="threads: .*exit code 3"):
        split = SplitStep(net, 2)
    try:
        assert not split.in_processes and not parallel.in_processes(net)  # nor the next one
        out, _ = split.forward_backward(x, y)
    finally:
        split.close()
    np.testing.assert_allclose(out, whole_batch(Network(CNN, seed=0, dtype=np.float64), x, y)[0], rtol=1e-12)


def test_a_part_process_follows_the_callers_floating_point_error_handling():
    from netcore.part_process import PartProcessError

    net = Network(CNN, seed=0)
    x = np.ones((16, 1, 10, 10), dtype=np.float32)
    x[8:] = 1e38  # overflows in the second part only
    y = np.zeros(16, dtype=int)
    split = SplitStep(net, 2, processes=True)
    try:
        with np.errstate(over="raise", invalid="ignore"):
            with pytest.raises(PartProcessError, match="FloatingPointError"):
                split.forward_backward(x, y)
        with np.errstate(over="ignore", invalid="ignore"):
            out, _ = split.forward_backward(x, y)  # as a trainer runs (its NaN guard reports)
    finally:
        split.close()
    assert out.shape == (16, 3)
