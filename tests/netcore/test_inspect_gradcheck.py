"""gradient_check: the engine's whole-network checker passes every layer type and can fail."""

import numpy as np
import pytest

from netcore.inspect.gradcheck import TOLERANCE, gradient_check, numerical_grad
from netcore.layers import Conv2D, Dense
from netcore.network import Network

EVERY_LAYER = {
    "input_shape": [2, 7, 7],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "maxpool2d", "pool_size": 2, "stride": 1},
        {"type": "conv2d", "filters": 4, "kernel_size": 2, "stride": 2, "activation": "leaky_relu"},
        {"type": "avgpool2d", "pool_size": 2, "stride": 1},
        {"type": "tanh"},
        {"type": "flatten"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 6, "activation": "sigmoid"},
        {"type": "batchnorm"},
        {"type": "relu"},
        {"type": "reshape", "shape": [2, 3]},
        {"type": "flatten"},
        {"type": "dense", "units": 5, "activation": "tanh"},
        {"type": "leaky_relu"},
        {"type": "dense", "units": 3},
    ],
}


def test_every_layer_type_passes_in_training_and_inference_mode():
    for training in (True, False):
        report = gradient_check(EVERY_LAYER, batch=3, max_coords=12, training=training)
        assert report.passed, [(t.name, t.relative_error) for t in report.tensors]
        names = [t.name for t in report.tensors]
        assert names == list(Network(EVERY_LAYER).named_params())
        assert all(t.checked == min(12, int(np.prod(t.shape))) for t in report.tensors)
        assert report.worst.relative_error < TOLERANCE


@pytest.mark.parametrize(
    "spec",
    [
        {
            "input_shape": [4],
            "layers": [{"type": "dense", "units": 3, "activation": "softmax"}],
            "loss": "mse",
        },
        {"input_shape": [4], "layers": [{"type": "dense", "units": 1}], "loss": "binary_cross_entropy"},
        {
            "input_shape": [4],
            "layers": [{"type": "dense", "units": 2, "activation": "tanh"}],
            "loss": "mse",
            "task": "regression",
        },
    ],
)
def test_every_loss_passes(spec):
    assert gradient_check(spec).passed


def test_both_conv_methods_pass():
    spec = {
        "input_shape": [3, 6, 6],
        "layers": [
            {"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
    }
    net = Network(spec, dtype=np.float64)
    assert net.layers[0].method == "kernel_rows"
    assert gradient_check(net).passed
    original = Conv2D.preferred_method
    try:
        Conv2D.preferred_method = lambda self: "im2col"
        assert gradient_check(spec).passed
    finally:
        Conv2D.preferred_method = original


def test_a_broken_backward_is_flagged(monkeypatch):
    """The check can fail: dL/dW one percent off in every dense layer."""
    original = Dense.backward

    def broken(self, dy):
        dx = original(self, dy)
        self.grads["W"] *= 1.01
        return dx

    monkeypatch.setattr(Dense, "backward", broken)
    report = gradient_check(EVERY_LAYER, batch=3, max_coords=12)
    failed = {t.name for t in report.tensors if not t.passed}
    assert not report.passed
    assert failed == {"8.W", "13.W", "15.W"}
    assert min(t.relative_error for t in report.tensors if t.name in failed) > 1e-3


def test_a_given_network_is_checked_on_a_copy():
    net = Network(EVERY_LAYER)
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 7))
    before = {k: v.copy() for k, v in net.state_dict().items()}
    report = gradient_check(net, x, np.array([0, 2]))
    assert report.passed
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert net.dtype == np.float32 and report.to_dict()["tensors"][0]["shape"] == [3, 2, 3, 3]


def test_coordinates_on_a_relu_kink_are_skipped_not_failed():
    """One hidden unit with its pre-activation 1e-7 from zero: perturbing its bias by 1e-6 crosses
    the kink, where central differences are meaningless."""
    spec = {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 2, "activation": "relu"}, {"type": "dense", "units": 2}],
    }
    net = Network(spec, dtype=np.float64)
    x = np.array([[0.5, -1.0, 2.0]])
    w, b = net.layers[0].params["W"], net.layers[0].params["b"]
    b[...] = -(x @ w)[0] + np.array([1e-7, 0.7])
    report = gradient_check(net, x, np.array([1]))
    bias = next(t for t in report.tensors if t.name == "0.b")
    assert bias.at_kinks >= 1 and bias.checked == 1
    assert report.passed


def test_progress_is_reported_per_tensor():
    calls = []
    spec = {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 2, "activation": "tanh"}, {"type": "dense", "units": 2}],
    }
    gradient_check(spec, progress=lambda *args: calls.append(args))
    assert calls == [(0, 4, "0.W"), (1, 4, "0.b"), (2, 4, "1.W"), (3, 4, "1.b")]


def test_numerical_grad_perturbs_a_view_where_its_entries_live():
    """A transposed (non-contiguous) input: the perturbation must reach what f reads."""
    base = np.random.default_rng(0).normal(size=(3, 4))
    view = base.T  # (4, 3), not contiguous
    weights = np.arange(12.0).reshape(4, 3)
    grad = numerical_grad(lambda: float(np.sum(weights * view)), view)
    np.testing.assert_allclose(grad, weights, rtol=1e-6)
