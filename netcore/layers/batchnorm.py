"""Batch normalisation: per channel for images, per feature for flat inputs."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from netcore.layers.base import Layer, ShapeError
from netcore.shapes import format_shape


def channel_rows(a: np.ndarray) -> np.ndarray:
    """(N, C) or (N, C, H, W) as (N, C, L) for per-channel sums."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def channel_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) per channel (axis 1): (N, C, ...) twice -> (C,).

    Both in channel-major memory (C, N, ...), as the convolutions hand their outputs over: one
    BLAS dot per channel row (a batched product), about a third of np.einsum's time (the large
    CNN's 32 x 32 x 28 x 28 activations: 58 against 167 us, one thread); else np.einsum."""
    c = a.shape[1]
    rows_a, rows_b = a.swapaxes(0, 1), b.swapaxes(0, 1)
    if rows_a.flags.c_contiguous and rows_b.flags.c_contiguous:
        rows_a, rows_b = rows_a.reshape(c, 1, -1), rows_b.reshape(c, -1, 1)
        return np.matmul(rows_a, rows_b).reshape(c)
    return np.einsum("ncl,ncl->c", channel_rows(a), channel_rows(b))


class BatchGroup:
    """Where the parts of one batch, each on its own thread through its own replica's batchnorm
    layer, add up their per-channel sums (``netcore.parallel``).

    ``total(part, local)`` waits until every part has given its array and returns their sum,
    added in part order so that every part gets the same values. Slots alternate between two
    sets, so one barrier per call suffices: no part can write a set again before every part
    has left the call that read it. ``parts`` is how many take part in the current batch (1:
    nobody waits). ``abort()`` wakes the waiting parts with ``BrokenBarrierError`` when one of
    them fails; ``start(parts)`` readies the group for the next batch.
    """

    def __init__(self) -> None:
        self.parts = 1
        self._barrier: threading.Barrier | None = None
        self._slots: list[list[np.ndarray | None]] = []
        self._calls: list[int] = [0]

    def start(self, parts: int) -> None:
        """Before a batch and after it (no part running): ``parts`` parts will call ``total``."""
        barrier = self._barrier
        if parts > 1 and (barrier is None or barrier.parties != parts or barrier.broken):
            self._barrier = threading.Barrier(parts)
            self._slots = [[None] * parts, [None] * parts]
        self.parts = parts
        self._calls = [0] * parts

    def total(self, part: int, local: np.ndarray) -> np.ndarray:
        if self.parts == 1:
            return local
        slots = self._slots[self._calls[part] % 2]
        self._calls[part] += 1
        slots[part] = local
        self._barrier.wait()
        total = slots[0].copy()
        for other in slots[1:]:
            total += other
        return total

    def abort(self) -> None:
        self._barrier.abort()


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
        # kept by a training forward: x - mean, from which xhat = (x - mean) * inv_std is never
        # materialised (its per-channel factor folds into the maps that use it: one pass less).
        # 2-core AMD EPYC (Zen 3), one thread, 32 images, in-process alternation: the large CNN's
        # batchnorms, forward + backward, 0.92-0.95 of the time (A/A control 0.99-1.005)
        self._centred: np.ndarray | None = None
        self._x: np.ndarray | None = None  # kept by an inference forward
        self._inv_std: np.ndarray | None = None
        # the parts of a batch split over threads, which add up their sums here (netcore.parallel)
        self.group: BatchGroup | None = None
        self.part = 0

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
    def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
        """(C,) -> broadcastable against (N, C) or (N, C, H, W)."""
        return v if ndim == 2 else v.reshape(-1, 1, 1)

    def forward(self, x, training=False):
        ndim = x.ndim
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            c = x.shape[1]
            # [sum x per channel, count]: over the whole batch when its parts share a group
            sums = self._total(np.append(np.einsum("ncl->c", channel_rows(x)), x.size // c))
            m = int(sums[-1])
            mean = (sums[:-1] / m).astype(x.dtype, copy=False)
            xc = x - self._per_channel(mean, ndim)
            var = (self._total(channel_dots(xc, xc)) / m).astype(x.dtype, copy=False)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            self._centred, self._inv_std, self._x = xc, inv_std, None
            self._update_running(mean, var * (m / max(m - 1, 1)))
            y = xc * self._per_channel(gamma * inv_std, ndim)  # gamma * xhat
            y += self._per_channel(beta, ndim)
            return y
        # inference: y = x * scale + shift per channel, in as few NumPy calls as the map needs (for
        # a single image the calls are most of the cost); backward computes 1 / sqrt(var + eps) itself
        scale = gamma / np.sqrt(self.state["running_var"] + self.eps)
        shift = beta - self.state["running_mean"] * scale
        self._centred, self._x, self._inv_std = None, x, None
        y = x * self._per_channel(scale, ndim)
        y += self._per_channel(shift, ndim)
        return y

    def _update_running(self, mean: np.ndarray, var: np.ndarray) -> None:
        """In place: the state arrays may be views a loaded model wrote into."""
        for key, batch in (("running_mean", mean), ("running_var", var)):
            running = self.state[key]
            running *= self.momentum
            running += (1.0 - self.momentum) * batch

    def backward(self, dy):
        ndim = dy.ndim
        gamma, dgamma, dbeta = self.params["gamma"], self.grads["gamma"], self.grads["beta"]
        training = self._centred is not None
        if training:
            inv_std, xc = self._inv_std, self._centred
        else:  # inference: the running statistics, and y is affine in x
            if self._x is None:
                raise RuntimeError("batchnorm backward needs a forward first")
            inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            xc = self._x - self._per_channel(self.state["running_mean"], ndim)
        # xhat = xc * inv_std throughout, its per-channel factor applied to the smaller operand
        scale = self._per_channel(gamma * inv_std, ndim)
        np.einsum("ncl->c", channel_rows(dy), out=dbeta)  # a third of np.sum's time here
        dgamma[...] = channel_dots(dy, xc) * inv_std
        if not self.needs_input_grad:
            return None
        if not training:
            return dy * scale
        # dL/dx = gamma / sqrt(var + eps) * (dy - (dL/dbeta + xhat dL/dgamma) / m), the sums and m
        # over the whole batch; a part's own dL/dbeta and dL/dgamma stay its gradients (the split
        # step adds the parts' gradients up)
        c = dy.shape[1]
        sums = self._total(np.concatenate([dbeta, dgamma, [dy.size // c]]))  # float64
        m = int(sums[-1])
        sum_dy, sum_dy_xhat = (sums[:c] / m).astype(dy.dtype), (sums[c : 2 * c] / m).astype(dy.dtype)
        dx = xc * self._per_channel(sum_dy_xhat * inv_std, ndim)  # xhat * sum_dy_xhat
        dx += self._per_channel(sum_dy, ndim)
        np.subtract(dy, dx, out=dx)
        dx *= scale
        return dx

    def _total(self, local: np.ndarray) -> np.ndarray:
        """``local`` summed over the parts of the batch (itself when the batch is whole)."""
        return local if self.group is None else self.group.total(self.part, local)

    def config(self) -> dict[str, Any]:
        return {"type": self.kind, "momentum": self.momentum, "eps": self.eps}

    def describe(self) -> str:
        return f"BatchNorm({format_shape(self.in_shape) if self.in_shape else '?'})"
