"""Inverted dropout: active while training, the identity at inference."""

from __future__ import annotations

import numpy as np

from netcore.layers.base import Layer


class Dropout(Layer):
    """Training: y = x * m / (1 - rate), m ~ Bernoulli(1 - rate); inference: y = x.

    Shapes: any; y has the shape of x. dL/dx = dL/dy * m / (1 - rate).
    """

    kind = "dropout"

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.mask: np.ndarray | None = None

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1.0 - self.rate
        self.mask = (self.rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype)
        self.mask /= keep
        return x * self.mask

    def backward(self, dy):
        return dy if self.mask is None else dy * self.mask

    def config(self):
        return {"type": self.kind, "rate": self.rate}

    def describe(self):
        return f"Dropout({self.rate:g})"
