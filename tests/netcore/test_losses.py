import numpy as np
import pytest

from netcore.inspect.gradcheck import check_loss
from netcore.losses import (
    BinaryCrossEntropy,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    make_loss,
    one_hot,
    row_max,
)

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


def test_softmax_cross_entropy_labels_and_row_maxima_match_numpy_ties_included():
    """predicted_labels and the loss's row maxima (computed over the transpose) keep NumPy's rules:
    the first of tied scores wins; labels in every position, batches of 1 to 513."""
    rng = np.random.default_rng(4)
    for n in (1, 2, 33, 513):
        z = rng.integers(-2, 3, (n, 10)).astype(np.float32)  # many ties
        ce = SoftmaxCrossEntropy()
        np.testing.assert_array_equal(ce.predicted_labels(z), z.argmax(axis=1))
        np.testing.assert_array_equal(row_max(z), z.max(axis=1))
        y = np.arange(n) % 10
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        assert ce.forward(z, y) == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-5)
        np.testing.assert_allclose(ce.backward(), (p - one_hot(y, 10)) / n, atol=1e-7)


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
