"""Fully connected layer with an optional fused activation."""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.layers.activations import make_activation
from netcore.layers.base import Layer, ShapeError
from netcore.layers.init import INITS, init_weights
from netcore.shapes import format_shape


class Dense(Layer):
    """y = act(x W + b).

    Shapes:
        x: (N, D_in)   W: (D_in, units)   b: (units,)   y: (N, units)
    Gradients: dL/dW = x^T dz,  dL/db = sum_n dz,  dL/dx = dz W^T, where dz = dL/dy * act'.
    """

    kind = "dense"

    def __init__(self, units: int, activation: str | None = None, init: str = "auto") -> None:
        super().__init__()
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"dense units must be a positive integer, got {units!r}")
        if init not in INITS:
            raise ValueError(f"dense init must be one of {INITS}, got {init!r}")
        self.units = units
        self.act = make_activation(activation)
        self.init = init
        self.x: np.ndarray | None = None

    def output_shape(self, in_shape):
        if len(in_shape) != 1:
            raise ShapeError(
                f"needs a flat input but gets {format_shape(in_shape)}: insert a flatten before it"
            )
        return (self.units,)

    def count_params(self, in_shape):
        return in_shape[0] * self.units + self.units

    def build(self, in_shape, rng, dtype=np.float32):
        super().build(in_shape, rng, dtype)
        d_in = in_shape[0]
        self.params = {
            "W": init_weights(d_in, self.units, (d_in, self.units), self.act.kind, self.init, rng, dtype),
            "b": np.zeros(self.units, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, training=False):
        self.x = x
        z = x @ self.params["W"]
        z += self.params["b"]
        return self.act.forward(z, training, inplace=True)

    def backward(self, dy):
        dz = self.act.backward(dy)
        np.matmul(self.x.T, dz, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        w = self.params["W"]
        if 16 * dz.shape[0] <= w.shape[0]:
            # few rows, many inputs (a CNN's flatten into its dense layer): OpenBLAS packs a
            # few-row product slowly, its transpose W dz^T fast. 2-core AMD EPYC, SkylakeX
            # kernel, one thread: 32 x 128 by 128 x 1568 221 -> 143 us, 64 rows 339 -> 268 us;
            # 512 x 128 by 128 x 256 1.05-1.2x slower, hence the rule. Returned as a (N, D) view.
            return np.matmul(w, dz.T).T
        return dz @ w.T

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"type": self.kind, "units": self.units, "activation": self.act.kind}
        if self.init != "auto":
            cfg["init"] = self.init
        return cfg

    def describe(self) -> str:
        d_in = self.in_shape[0] if self.in_shape else "?"
        return f"Dense({d_in} -> {self.units}, {self.act.kind})"
