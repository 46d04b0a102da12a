"""Element-wise activations, usable as layers or fused into Dense/Conv2D.

Each keeps its output ``y`` (not its input): every derivative here is cheap
to express through ``y``. Shapes: any; ``y`` has the shape of ``x``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.layers.base import Layer


class Activation(Layer):
    """Base for activations. ``inplace=True`` lets a fused owner reuse its buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False, inplace: bool = False) -> np.ndarray:
        self.y = self._apply(x, x if inplace else None)
        return self.y

    def _apply(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError


class Identity(Activation):
    """y = x (a layer with no activation)."""

    kind = "linear"

    def _apply(self, x, out):
        return x

    def backward(self, dy):
        return dy


class ReLU(Activation):
    """y = max(x, 0);  dL/dx = dL/dy * [y > 0]."""

    kind = "relu"

    def _apply(self, x, out):
        return np.maximum(x, 0, out=out)

    def backward(self, dy):
        return dy * (self.y > 0)


class LeakyReLU(Activation):
    """y = x if x > 0 else alpha*x;  dL/dx = dL/dy * (1 if y > 0 else alpha)."""

    kind = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0 <= alpha < 1:
            raise ValueError(f"leaky_relu alpha must be in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)

    def _apply(self, x, out):
        return np.multiply(x, np.where(x > 0, 1.0, self.alpha).astype(x.dtype, copy=False), out=out)

    def backward(self, dy):
        return dy * np.where(self.y > 0, 1.0, self.alpha).astype(dy.dtype, copy=False)

    def config(self) -> dict[str, Any]:
        return {"type": self.kind, "alpha": self.alpha}


class Sigmoid(Activation):
    """y = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2 (no overflow);  dL/dx = dL/dy * y(1-y)."""

    kind = "sigmoid"

    def _apply(self, x, out):
        y = np.multiply(x, 0.5, out=out)
        np.tanh(y, out=y)
        y += 1
        y *= 0.5
        return y

    def backward(self, dy):
        y = self.y
        return dy * y * (1 - y)


class Tanh(Activation):
    """y = tanh(x);  dL/dx = dL/dy * (1 - y^2)."""

    kind = "tanh"

    def _apply(self, x, out):
        return np.tanh(x, out=out)

    def backward(self, dy):
        y = self.y
        return dy * (1 - y * y)


class Softmax(Activation):
    """y_i = e^(x_i - max x) / sum_j e^(x_j - max x) over the last axis.

    dL/dx = y * (dL/dy - sum(dL/dy * y)). Prefer the fused softmax cross-entropy
    loss for training classifiers; this layer is for other losses and for outputs.
    """

    kind = "softmax"

    def _apply(self, x, out):
        y = np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
        np.exp(y, out=y)
        y /= y.sum(axis=-1, keepdims=True)
        return y

    def backward(self, dy):
        y = self.y
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.kind: cls for cls in (Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)
}
ACTIVATIONS["none"] = Identity


def make_activation(name: str | None) -> Activation:
    """The activation called ``name`` (None, "none" or "linear" for identity)."""
    key = "linear" if name is None else str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[key]()
