"""Every layer's backward against central differences, in float64."""

import numpy as np
import pytest

from netcore.inspect.gradcheck import check_layer, relative_error
from netcore.layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Reshape, Sigmoid, Softmax, Tanh

TOL = 1e-6


def away_from_zero(rng, shape, margin=0.05):
    """Random inputs with no entry near 0, where ReLU-like kinks break finite differences."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, x + np.sign(x + 1e-12) * 2 * margin, x)


def built(layer, in_shape):
    layer.build(in_shape, np.random.default_rng(1), np.float64)
    return layer


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_dense_gradients(activation):
    rng = np.random.default_rng(0)
    layer = built(Dense(5, activation), (7,))
    layer.params["b"][...] = rng.standard_normal(5)
    x = away_from_zero(rng, (4, 7))
    errors = check_layer(layer, x)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("inputs", [7, 40])
def test_dense_input_gradient_for_few_rows_and_many_inputs(inputs):
    """Two samples of 40 inputs take the transposed product W dz^T (16 rows per input at most);
    7 inputs the plain one. Either way dL/dx = dz W^T, and central differences agree."""
    rng = np.random.default_rng(3)
    layer = built(Dense(3, "relu"), (inputs,))
    x = away_from_zero(rng, (2, inputs))
    layer.forward(x, training=True)
    dy = rng.standard_normal((2, 3))
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, (dy * (layer.act.y > 0)) @ layer.params["W"].T, rtol=1e-12)
    assert dx.flags.f_contiguous == (inputs == 40)  # which product ran
    errors = check_layer(layer, x)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("cls", [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax])
def test_activation_gradients(cls):
    rng = np.random.default_rng(2)
    layer = built(cls(), (3, 4))
    errors = check_layer(layer, away_from_zero(rng, (2, 3, 4)) * 3)
    assert errors["x"] < TOL, errors


def test_dropout_gradient_and_inference_identity():
    rng = np.random.default_rng(3)
    layer = built(Dropout(0.3), (10,))
    x = rng.standard_normal((6, 10))
    errors = check_layer(layer, x, training=True, reseed=True)
    assert errors["x"] < TOL
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_dropout_keeps_expected_scale():
    layer = built(Dropout(0.4), (1000,))
    y = layer.forward(np.ones((50, 1000)), training=True)
    assert abs((y == 0).mean() - 0.4) < 0.02
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


@pytest.mark.parametrize("layer,shape", [(Flatten(), (2, 3, 4)), (Reshape([4, 6]), (2, 3, 4))])
def test_reshape_layers(layer, shape):
    rng = np.random.default_rng(4)
    built(layer, shape)
    assert check_layer(layer, rng.standard_normal((3,) + shape))["x"] < TOL


def test_checker_catches_a_wrong_backward():
    """A deliberately wrong gradient must fail the same check (the check can fail)."""
    rng = np.random.default_rng(5)
    layer = built(Dense(3, "tanh"), (4,))
    original = layer.backward

    def wrong(dy):
        dx = original(dy)
        layer.grads["W"] *= 1.01
        return dx

    layer.backward = wrong
    errors = check_layer(layer, rng.standard_normal((5, 4)))
    assert errors["W"] > 1e-3
    assert relative_error(np.ones(3), np.ones(3)) == 0


def test_leaky_relu_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(1.5)
