import numpy as np
import pytest

from netcore.inspect.gradcheck import check_loss
from netcore.losses import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy, make_loss, one_hot

TOL = 1e-6


def test_mse_value_and_gradient():
    rng = np.random.default_rng(0)
    out, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss = MeanSquaredError()
    assert loss.forward(out, target) == pytest.approx(np.mean((out - target) ** 2))
    assert check_loss(loss, out, target) < TOL


def test_binary_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 1)) * 3
    t = rng.integers(0, 2, (6, 1)).astype(float)
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    loss = BinaryCrossEntropy()
    assert loss.forward(z, t) == pytest.approx(expected)
    assert check_loss(loss, z, t) < TOL


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((7, 4)) * 2
    y = rng.integers(0, 4, 7)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = SoftmaxCrossEntropy()
    assert loss.forward(z, y) == pytest.approx(-np.mean(np.log(p[np.arange(7), y])))
    assert check_loss(loss, z, y) < TOL
    loss.forward(z, y)
    np.testing.assert_allclose(loss.backward(), (p - one_hot(y, 4, np.float64)) / 7, atol=1e-12)


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_cross_entropies_are_finite_for_huge_scores(scale):
    z = np.array([[scale, 0.0, -scale], [0.0, scale, 1.0]], dtype=np.float32)
    ce = SoftmaxCrossEntropy()
    value = ce.forward(z, np.array([2, 1]))
    assert np.isfinite(value) and np.all(np.isfinite(ce.backward()))
    bce = BinaryCrossEntropy()
    value = bce.forward(np.array([[scale], [-scale]], np.float32), np.array([[0.0], [0.0]]))
    assert np.isfinite(value) and np.all(np.isfinite(bce.backward()))
    assert value == pytest.approx(abs(scale) / 2, rel=1e-4)  # one wrong by |scale|, one right


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        make_loss("hinge")
