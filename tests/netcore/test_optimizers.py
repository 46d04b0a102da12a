import math

import numpy as np
import pytest

from netcore.optimizers import (
    FLUSH_CAP,
    FLUSH_EVERY,
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    RMSprop,
    clip_by_global_norm,
    flush_threshold,
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


def subnormal_count(a: np.ndarray) -> int:
    return int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Momentum(0.01),
        lambda: Nesterov(0.001, momentum=0.95),
        lambda: RMSprop(0.001),
        lambda: Adam(0.002),
        lambda: Adam(0.001, beta2=0.9),  # a second moment that shrinks as fast as the first
        lambda: AdamW(0.001),
    ],
)
def test_moments_of_weights_without_gradient_never_turn_subnormal(make):
    """Weights that got gradients of every magnitude and then none for 1,200 steps: no moment, and
    no step computed from them, is ever a subnormal float (slow on Intel CPUs)."""
    opt = make()
    p = np.ones(400, dtype=np.float32)
    g = np.logspace(-12, 0, 400).astype(np.float32) * np.where(np.arange(400) % 2, 1, -1).astype(np.float32)
    zero = np.zeros_like(g)
    for step in range(1200):
        opt.step({"w": p}, {"w": g if step < 5 else zero})
        for key, state in opt.state["w"].items():
            assert subnormal_count(state) == 0, f"{key} at step {step + 1}"
    assert all(np.isfinite(p)) and not np.array_equal(p, np.ones_like(p))


def test_flush_threshold_keeps_a_flushed_state_normal_for_the_flush_period():
    for decay, scale in ((0.9, 1e-3), (0.999, 1.0), (0.95, 0.01), (0.9, 1.0)):
        for dtype in (np.float32, np.float64):
            threshold = flush_threshold(decay, scale, dtype)
            assert threshold <= FLUSH_CAP
            assert threshold * decay**FLUSH_EVERY * scale >= np.finfo(dtype).tiny
    # a decay so fast that no threshold below the cap would do: the cap, never more
    assert flush_threshold(0.5, 1e-3, np.float32) == FLUSH_CAP == flush_threshold(0.0, 1.0, np.float32)


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


def test_the_subnormal_cost_script_times_adam_with_its_subnormals_kept():
    """scripts/subnormal_cost.py (issue 15's figure of what subnormal moments cost a CPU) keeps
    every subnormal it planted through its timed steps, else it would time the flushed state twice."""
    import re

    from tests.conftest import run_script

    stdout = run_script("subnormal_cost.py", "--size", "5000", "--fraction", "0.2", "--rounds", "2")
    found = re.search(
        r"\(spread evenly; ([\d,]+) still subnormal.*: ([\d.]+) ms, with them zero ([\d.]+) ms", stdout
    )
    assert found, stdout
    assert found.group(1) == "1,000" and float(found.group(2)) > 0 and float(found.group(3)) > 0
