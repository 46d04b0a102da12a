import math

import numpy as np
import pytest

from netcore.optimizers import (
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    RMSprop,
    clip_by_global_norm,
    make_optimizer,
)
from netcore.schedules import Schedule


def run(opt, steps=2, p0=(1.0, -2.0), grads=((0.5, -1.0), (0.25, 2.0))):
    p = np.array(p0)
    for g in grads[:steps]:
        opt.step({"p": p}, {"p": np.array(g)})
    return p


def test_sgd():
    np.testing.assert_allclose(run(SGD(0.1)), [1 - 0.1 * 0.75, -2 - 0.1 * 1.0])


def test_momentum_and_nesterov_by_hand():
    # v1 = g1, p1 = p0 - lr v1; v2 = mu v1 + g2, p2 = p1 - lr v2
    g1, g2, lr, mu = np.array([0.5, -1.0]), np.array([0.25, 2.0]), 0.1, 0.9
    v1 = g1
    v2 = mu * v1 + g2
    np.testing.assert_allclose(run(Momentum(lr, mu)), np.array([1.0, -2.0]) - lr * v1 - lr * v2)
    nes = np.array([1.0, -2.0]) - lr * (g1 + mu * v1) - lr * (g2 + mu * v2)
    np.testing.assert_allclose(run(Nesterov(lr, mu)), nes)


def test_rmsprop_by_hand():
    g1, g2, lr, rho, eps = np.array([0.5, -1.0]), np.array([0.25, 2.0]), 0.01, 0.9, 1e-8
    s1 = (1 - rho) * g1**2
    p1 = np.array([1.0, -2.0]) - lr * g1 / (np.sqrt(s1) + eps)
    s2 = rho * s1 + (1 - rho) * g2**2
    np.testing.assert_allclose(run(RMSprop(lr, rho, eps)), p1 - lr * g2 / (np.sqrt(s2) + eps))


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_adam_and_adamw_by_hand(decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate((np.array([0.5, -1.0]), np.array([0.25, 2.0])), start=1):
        p = p * (1 - lr * decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    opt = AdamW(lr, weight_decay=decay) if decay else Adam(lr)
    np.testing.assert_allclose(run(opt), p, rtol=1e-12)
    m_opt, v_opt = opt.moments("p")
    np.testing.assert_allclose(m_opt, m)
    np.testing.assert_allclose(v_opt, v)


def test_learning_rate_change_between_steps_takes_effect():
    opt = SGD(0.1)
    p = np.array([1.0])
    opt.step({"p": p}, {"p": np.array([1.0])})
    opt.lr = 0.5
    opt.step({"p": p}, {"p": np.array([1.0])})
    assert p[0] == pytest.approx(1 - 0.1 - 0.5)


def test_clip_by_global_norm():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    assert clip_by_global_norm([a, b], 1.0) == pytest.approx(5.0)
    assert math.hypot(*a, *b) == pytest.approx(1.0)
    c = np.array([0.3])
    clip_by_global_norm([c], 1.0)
    assert c[0] == pytest.approx(0.3)


def test_make_optimizer_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'"):
        make_optimizer("adamax", 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(-1)
    assert isinstance(make_optimizer("nesterov", 0.1, momentum=0.5, weight_decay=0.1), Nesterov)


def test_schedules():
    assert Schedule().factor(7.3) == 1.0
    assert Schedule("step", step_epochs=2, gamma=0.5).factor(4.1) == pytest.approx(0.25)
    assert Schedule("exponential", gamma=0.9).factor(2) == pytest.approx(0.81)
    cos = Schedule("cosine", epochs=10, min_factor=0.1)
    assert cos.factor(0) == pytest.approx(1.0) and cos.factor(10) == pytest.approx(0.1)
    assert cos.factor(5) == pytest.approx(0.55)
    warm = Schedule("constant", warmup=2)
    assert warm.factor(1.0) == pytest.approx(0.5) and warm.factor(3) == 1.0
    assert Schedule.from_dict({"name": "cosine", "epochs": 3}).epochs == 3
    with pytest.raises(ValueError, match="unknown schedule"):
        Schedule("sawtooth")
