"""Batch normalisation: per channel for images, per feature for flat inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.layers.base import Layer, ShapeError
from netcore.shapes import format_shape


class BatchNorm(Layer):
    """y = gamma * xhat + beta,  xhat = (x - mean) / sqrt(var + eps).

    Training: mean and (biased) var over the batch -- axis 0 of (N, D), axes
    (0, 2, 3) of (N, C, H, W), i.e. over m = N or N*H*W values per channel -- and
    the running statistics move towards them:
        running = momentum * running + (1 - momentum) * batch
    (running_var takes the unbiased batch variance, var * m / (m - 1), as PyTorch does).
    Inference: the running statistics instead, so y is an affine map of x.

    Shapes: x and y (N, D) or (N, C, H, W);  gamma, beta, running_mean, running_var (D,) or (C,).
    Gradients (training):  dL/dbeta = sum dy,  dL/dgamma = sum dy * xhat,
        dL/dx = gamma / sqrt(var + eps) * (dy - (dL/dbeta + xhat * dL/dgamma) / m).
    """

    kind = "batchnorm"

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5) -> None:
        super().__init__()
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0 <= momentum < 1:
            raise ValueError(f"batchnorm momentum must be in [0, 1), got {momentum!r}")
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
            raise ValueError(f"batchnorm eps must be a positive number, got {eps!r}")
        self.momentum = float(momentum)
        self.eps = float(eps)
        self._xhat: np.ndarray | None = None  # kept by a training forward
        self._x: np.ndarray | None = None  # kept by an inference forward
        self._inv_std: np.ndarray | None = None

    def output_shape(self, in_shape):
        if len(in_shape) not in (1, 3):
            raise ShapeError(
                f"needs a flat (D) or image (CxHxW) input but gets {format_shape(in_shape)}: "
                "put it after a dense or conv2d layer"
            )
        return tuple(in_shape)

    def count_params(self, in_shape):
        return 2 * in_shape[0]

    def build(self, in_shape, rng, dtype=np.float32):
        super().build(in_shape, rng, dtype)
        c = in_shape[0]
        self.params = {"gamma": np.ones(c, dtype=dtype), "beta": np.zeros(c, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state = {"running_mean": np.zeros(c, dtype=dtype), "running_var": np.ones(c, dtype=dtype)}

    @staticmethod
    def _axes(x: np.ndarray) -> tuple[int, ...]:
        return (0,) if x.ndim == 2 else (0, 2, 3)

    @staticmethod
    def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
        """(C,) -> broadcastable against (N, C) or (N, C, H, W)."""
        return v if ndim == 2 else v.reshape(-1, 1, 1)

    def forward(self, x, training=False):
        axes, ndim = self._axes(x), x.ndim
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            m = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            xc = x - self._per_channel(mean, ndim)
            rows = self._rows(xc)
            var = np.einsum("ncl,ncl->c", rows, rows) / m
            inv_std = 1.0 / np.sqrt(var + self.eps)
            # keep xhat for backward, computed in the buffer of x - mean
            self._xhat = np.multiply(xc, self._per_channel(inv_std, ndim), out=xc)
            self._x = None
            self._update_running(mean, var * (m / max(m - 1, 1)))
            y = self._xhat * self._per_channel(gamma, ndim)
            y += self._per_channel(beta, ndim)
        else:
            inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            scale = gamma * inv_std
            self._xhat, self._x = None, x
            y = x * self._per_channel(scale, ndim)
            y += self._per_channel(beta - self.state["running_mean"] * scale, ndim)
        self._inv_std = inv_std
        return y

    def _update_running(self, mean: np.ndarray, var: np.ndarray) -> None:
        """In place: the state arrays may be views a loaded model wrote into."""
        for key, batch in (("running_mean", mean), ("running_var", var)):
            running = self.state[key]
            running *= self.momentum
            running += (1.0 - self.momentum) * batch

    def backward(self, dy):
        axes, ndim = self._axes(dy), dy.ndim
        gamma, dgamma, dbeta = self.params["gamma"], self.grads["gamma"], self.grads["beta"]
        scale = self._per_channel(gamma * self._inv_std, ndim)
        training = self._xhat is not None
        if training:
            xhat = self._xhat
        else:  # inference: xhat from the running statistics, and y is affine in x
            xhat = (self._x - self._per_channel(self.state["running_mean"], ndim)) * self._per_channel(
                self._inv_std, ndim
            )
        np.sum(dy, axis=axes, out=dbeta)
        np.einsum("ncl,ncl->c", self._rows(dy), self._rows(xhat), out=dgamma)
        if not self.needs_input_grad:
            return None
        if not training:
            return dy * scale
        # dL/dx = gamma / sqrt(var + eps) * (dy - (dL/dbeta + xhat dL/dgamma) / m)
        m = dy.size // dy.shape[1]
        dx = xhat * self._per_channel(dgamma * (1.0 / m), ndim)
        dx += self._per_channel(dbeta * (1.0 / m), ndim)
        np.subtract(dy, dx, out=dx)
        dx *= scale
        return dx

    @staticmethod
    def _rows(a: np.ndarray) -> np.ndarray:
        """(N, C) or (N, C, H, W) as (N, C, L) for per-channel sums."""
        return a.reshape(a.shape[0], a.shape[1], -1)

    def config(self) -> dict[str, Any]:
        return {"type": self.kind, "momentum": self.momentum, "eps": self.eps}

    def describe(self) -> str:
        return f"BatchNorm({format_shape(self.in_shape) if self.in_shape else '?'})"
