"""Central-difference gradient checks in float64, shared by the engine's tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place one entry at a time."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), 0 when both are zero."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_layer(
    layer, x: np.ndarray, seed: int = 0, training: bool = False, reseed: bool = False
) -> dict[str, float]:
    """Relative errors of a built float64 layer's backward against central differences.

    Uses L = sum(forward(x) * dy) for a random upstream gradient dy. ``reseed``
    resets the layer's generator before every forward (dropout's mask).
    Returns {"x": err, "<param>": err, ...}.
    """
    rng = np.random.default_rng(seed)

    def forward():
        if reseed:
            layer.rng = np.random.default_rng(123)
        return layer.forward(x, training=training)

    dy = rng.standard_normal(forward().shape)

    def loss() -> float:
        return float(np.sum(forward() * dy))

    forward()
    layer.needs_input_grad = True
    dx = layer.backward(dy.copy())
    analytic = {"x": dx.copy()}
    analytic.update({k: g.copy() for k, g in layer.grads.items()})
    errors = {"x": relative_error(analytic["x"], numerical_grad(loss, x))}
    for key, p in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_grad(loss, p))
    return errors


def check_loss(loss, out: np.ndarray, target: np.ndarray) -> float:
    """Relative error of a loss's backward against central differences."""
    loss.forward(out, target)
    analytic = loss.backward().copy()
    numeric = numerical_grad(lambda: loss.forward(out, target), out)
    return relative_error(analytic, numeric)
