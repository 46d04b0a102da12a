"""Weight initialisers shared by the layers that hold weights (dense, conv2d)."""

from __future__ import annotations

import numpy as np

INITS = ("auto", "he", "xavier")


def init_weights(fan_in: int, fan_out: int, shape, activation: str, init: str, rng, dtype) -> np.ndarray:
    """He-normal for ReLU-like activations, Xavier-uniform otherwise ("auto")."""
    if init == "auto":
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    if init == "he":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    else:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=shape)
    return w.astype(dtype)
