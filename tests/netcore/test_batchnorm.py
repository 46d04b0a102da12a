"""BatchNorm: gradients in training and inference, running statistics, saving."""

import numpy as np
import pytest

from netcore.inspect.gradcheck import check_layer
from netcore.layers import BatchNorm
from netcore.layers.batchnorm import channel_dots
from netcore.network import Network
from netcore.spec import SpecError, check_spec

TOL = 1e-6


def built(in_shape, dtype=np.float64, seed=0, **settings):
    layer = BatchNorm(**settings)
    layer.build(in_shape, np.random.default_rng(seed), dtype)
    rng = np.random.default_rng(seed + 1)
    layer.params["gamma"][...] = 1 + 0.5 * rng.standard_normal(in_shape[0])
    layer.params["beta"][...] = rng.standard_normal(in_shape[0])
    return layer


@pytest.mark.parametrize("in_shape,batch", [((5,), 6), ((3, 4, 5), 2), ((2, 1, 1), 4)])
def test_training_gradients(in_shape, batch):
    layer = built(in_shape)
    x = 2 + 3 * np.random.default_rng(2).standard_normal((batch,) + in_shape)
    errors = check_layer(layer, x, training=True)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("in_shape", [(5,), (3, 4, 5)])
def test_inference_gradients(in_shape):
    layer = built(in_shape)
    layer.state["running_mean"][...] = np.linspace(-1, 1, in_shape[0])
    layer.state["running_var"][...] = np.linspace(0.5, 2, in_shape[0])
    errors = check_layer(layer, np.random.default_rng(3).standard_normal((4,) + in_shape))
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("in_shape,axes", [((4,), (0,)), ((3, 5, 6), (0, 2, 3))])
def test_training_output_is_normalised_per_channel(in_shape, axes):
    layer = BatchNorm()
    layer.build(in_shape, None, np.float64)
    x = 5 + 4 * np.random.default_rng(4).standard_normal((16,) + in_shape)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-4)  # var / (var + eps)


def test_running_statistics_and_inference():
    layer = built((3, 4, 4), momentum=0.8, eps=1e-3)
    rng = np.random.default_rng(5)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, (6, 3, 4, 4))
        layer.forward(x, training=True)
        m = 6 * 4 * 4
        mean = 0.8 * mean + 0.2 * x.mean(axis=(0, 2, 3))
        var = 0.8 * var + 0.2 * x.var(axis=(0, 2, 3)) * m / (m - 1)
    np.testing.assert_allclose(layer.state["running_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["running_var"], var, rtol=1e-12)
    x = rng.normal(size=(2, 3, 4, 4))
    gamma, beta = (v[:, None, None] for v in (layer.params["gamma"], layer.params["beta"]))
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3) * gamma + beta
    before = layer.state["running_mean"].copy()
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.state["running_mean"], before)  # inference leaves it alone


def test_first_layer_returns_no_input_gradient():
    layer = built((4,))
    layer.needs_input_grad = False
    layer.forward(np.random.default_rng(6).standard_normal((5, 4)), training=True)
    assert layer.backward(np.ones((5, 4))) is None
    assert np.all(np.isfinite(layer.grads["gamma"]))


def test_float32_stays_float32():
    layer = built((3, 4, 4), dtype=np.float32)
    x = np.random.default_rng(7).standard_normal((4, 3, 4, 4)).astype(np.float32)
    for training in (True, False):
        y = layer.forward(x, training=training)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == np.float32
        assert layer.state["running_var"].dtype == layer.grads["gamma"].dtype == np.float32


SPEC = {
    "input_shape": [1, 6, 6],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 3},
        {"type": "batchnorm"},
        {"type": "flatten"},
        {"type": "dense", "units": 4},
        {"type": "batchnorm", "momentum": 0.5},
        {"type": "dense", "units": 2},
    ],
}


def test_running_statistics_are_saved_and_loaded_with_the_network():
    net = Network(SPEC, seed=0)
    rng = np.random.default_rng(8)
    for _ in range(3):
        net.forward(rng.standard_normal((8, 1, 6, 6)).astype(np.float32), training=True)
    state = net.state_dict()
    assert {"1.gamma", "1.beta", "1.running_mean", "1.running_var", "4.running_var"} <= set(state)
    assert not np.allclose(state["1.running_var"], 1)
    other = Network(SPEC, seed=1)
    other.load_state_dict(state)
    x = rng.standard_normal((5, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    assert net.layers[1].num_params() == 6 and net.num_params == 30 + 6 + (48 * 4 + 4) + 8 + (4 * 2 + 2)


def test_shape_error_and_settings():
    with pytest.raises(SpecError, match=r"layer 1 \(batchnorm\) needs a flat \(D\) or image \(CxHxW\) input"):
        check_spec(
            {"input_shape": [3, 4], "layers": [{"type": "batchnorm"}], "loss": "mse", "task": "regression"}
        )
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(momentum=1.0)
    with pytest.raises(ValueError, match="eps"):
        BatchNorm(eps=0)
    assert BatchNorm(0.99).config() == {"type": "batchnorm", "momentum": 0.99, "eps": 1e-5}


@pytest.mark.parametrize("shape", [(6, 3, 4, 5), (7, 4)])
def test_channel_dots_in_either_memory_order(shape):
    """Per-channel sums of a * b: by BLAS dots for channel-major memory, by einsum otherwise."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    expected = (a * b).sum(axis=tuple(k for k in range(len(shape)) if k != 1))
    major_a = np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)  # (C, N, ...) in memory
    major_b = np.ascontiguousarray(b.swapaxes(0, 1)).swapaxes(0, 1)
    for x, y in ((a, b), (major_a, major_b), (major_a, b)):
        np.testing.assert_allclose(channel_dots(x, y), expected, rtol=1e-12)


def test_channel_major_batches_train_like_plain_ones():
    """A convolution's channel-major output through batchnorm: the same y, dL/dx and gradients."""
    rng = np.random.default_rng(8)
    x, dy = rng.standard_normal((5, 3, 4, 6)), rng.standard_normal((5, 3, 4, 6))
    results = []
    for layout in (lambda a: a, lambda a: np.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)):
        layer = built((3, 4, 6))
        y = layer.forward(layout(x), training=True).copy()
        dx = layer.backward(layout(dy))
        results.append((y, dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy()))
    for plain, major in zip(*results, strict=True):
        np.testing.assert_allclose(major, plain, rtol=1e-10, atol=1e-12)


def test_backward_after_a_training_forward_then_an_inference_one_uses_the_last():
    """The inference forward's dL/dx is dL/dy * gamma / sqrt(running var + eps), whatever
    training forward came before it; a backward with no forward at all is a clear error."""
    layer = built((3,))
    with pytest.raises(RuntimeError, match="forward first"):
        layer.backward(np.ones((2, 3)))
    rng = np.random.default_rng(6)
    layer.forward(rng.normal(size=(8, 3)), training=True)
    x, dy = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    layer.forward(x, training=False)
    dx = layer.backward(dy)
    scale = layer.params["gamma"] / np.sqrt(layer.state["running_var"] + layer.eps)
    np.testing.assert_allclose(dx, dy * scale, rtol=1e-12)
    xhat = (x - layer.state["running_mean"]) / np.sqrt(layer.state["running_var"] + layer.eps)
    np.testing.assert_allclose(layer.grads["gamma"], (dy * xhat).sum(axis=0), rtol=1e-12)
