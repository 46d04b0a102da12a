"""2-D max and average pooling over NCHW images.

A window of ph x pw pixels moves by the stride (default: the pool size, so windows
do not overlap); rows and columns that no whole window covers are dropped.
Both layers loop over the ph*pw offsets inside a window, never over samples or
pixels: offset (i, j) of every window at once is the strided view
``x[:, :, i::s, j::s]`` cut to (OH, OW). In the common case (stride == pool, H
and W divisible) that is exactly ``x.reshape(N, C, OH, p, OW, p)[:, :, :, i, :, j]``,
the windows tile the input, and backward writes each input once instead of
accumulating into zeros.

dL/dx from backward lives in a buffer the layer reuses at its next backward: the
layer before consumes it at once, and no new large array is allocated per step.

Memory order. A convolution hands over its output as an (N, C, H, W) view of
channel-major memory (C, N, H, W). Max pooling then works in that order (on the
view transposed back to it) and returns its y, and later its dL/dx, in the same
layout, so no pass reads or writes across the grain and the convolutions on
either side copy in long runs. ``MaxPool2D.forward`` copies each offset's strided
view into one contiguous buffer first (one strided pass instead of two), then
compares and updates in contiguous loops (SIMD). A convolution computed on its input's
2x2 phases (``netcore.functional.phases``) hands over its output as windows, (N, C, OH, 2,
OW, 2) with each window offset's pixels one contiguous block in memory: MaxPool2D then
compares whole blocks, and its dL/dx goes back in that same form.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.functional.scratch import Scratch
from netcore.layers.base import Layer, ShapeError
from netcore.layers.settings import pair
from netcore.shapes import format_shape


def channel_major(x: np.ndarray) -> bool:
    """Whether a (N, C, H, W) batch is laid out channel-major, as (C, N, H, W), in memory."""
    return x.ndim == 4 and x.shape[0] > 1 and x.shape[1] > 1 and x.strides[1] > x.strides[0]


def swap(x: np.ndarray, swapped: bool) -> np.ndarray:
    """x with its first two axes exchanged when ``swapped`` (a view), else x."""
    return x.transpose(1, 0, 2, 3) if swapped else x


def swap_shape(shape: tuple[int, ...], swapped: bool) -> tuple[int, ...]:
    return (shape[1], shape[0]) + tuple(shape[2:]) if swapped else tuple(shape)


class _Pool2D(Layer):
    """Shared shape logic. Shapes: x (N, C, H, W) -> y (N, C, OH, OW), OH = (H - ph) // sh + 1."""

    label = "Pool2D"

    def __init__(self, pool_size: int | list[int] = 2, stride: int | list[int] | None = None) -> None:
        super().__init__()
        self.pool = pair(pool_size, f"{self.kind} pool_size")
        self.strides = self.pool if stride is None else pair(stride, f"{self.kind} stride")
        self.pool_size = pool_size
        self.stride = stride
        self._x_shape: tuple[int, ...] | None = None
        self._scratch = Scratch()

    def output_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ShapeError(
                f"needs a CxHxW image input but gets {format_shape(in_shape)}: pool before the flatten, not after it"
            )
        (ph, pw), (sh, sw) = self.pool, self.strides
        if in_shape[1] < ph or in_shape[2] < pw:
            raise ShapeError(
                f"pool {ph}x{pw} does not fit a {in_shape[1]}x{in_shape[2]} input: "
                "use a smaller pool_size or remove a pooling layer before it"
            )
        return (in_shape[0], (in_shape[1] - ph) // sh + 1, (in_shape[2] - pw) // sw + 1)

    def _windows(self, x: np.ndarray, out_hw: tuple[int, int]):
        """(k, view) for each offset k = i*pw + j: view[n, c, oh, ow] = x[n, c, oh*sh + i, ow*sw + j]."""
        (ph, pw), (sh, sw) = self.pool, self.strides
        oh, ow = out_hw
        for i in range(ph):
            for j in range(pw):
                yield i * pw + j, x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]

    @property
    def overlapping(self) -> bool:
        return self.strides[0] < self.pool[0] or self.strides[1] < self.pool[1]

    def _grad_buffer(self, dy: np.ndarray, swapped: bool = False) -> np.ndarray:
        """dL/dx to fill, reused by the next backward: zeroed unless the windows tile the input.

        Shaped like the input, or (C, N, H, W) when ``swapped``."""
        shape = self._x_shape
        (ph, pw), (sh, sw) = self.pool, self.strides
        dx = self._scratch.get("dx", swap_shape(shape, swapped), dy.dtype)
        if not ((sh, sw) == (ph, pw) and shape[2] == ph * dy.shape[2] and shape[3] == pw * dy.shape[3]):
            dx.fill(0)
        return dx

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"type": self.kind, "pool_size": self.pool_size}
        if self.stride is not None:
            cfg["stride"] = self.stride
        return cfg

    def describe(self) -> str:
        (ph, pw), (sh, sw) = self.pool, self.strides
        stride = "" if (sh, sw) == (ph, pw) else f", stride {sh}" if sh == sw else f", stride {sh}x{sw}"
        shapes = (
            f"{format_shape(self.in_shape)} -> {format_shape(self.out_shape)}, "
            if self.in_shape and self.out_shape
            else ""
        )
        return f"{self.label}({shapes}{ph}x{pw}{stride})"


class MaxPool2D(_Pool2D):
    """y = max over each window.

    dL/dx: each window's dL/dy goes to ONE input, the first maximum in row-major
    window order (as in PyTorch); tied inputs get nothing. A training forward keeps the
    winning offset per output as uint8 (not the input); an inference forward computes the
    maximum alone and keeps a reference to its input instead, so that a backward after it
    (a saliency map) can still find the winners.
    """

    kind = "maxpool2d"
    label = "MaxPool2D"

    def __init__(self, pool_size: int | list[int] = 2, stride: int | list[int] | None = None) -> None:
        super().__init__(pool_size, stride)
        if self.pool[0] * self.pool[1] > 255:
            raise ValueError(f"maxpool2d pool_size must cover at most 255 pixels, got {pool_size!r}")
        self._argmax: np.ndarray | None = None  # in the memory order of the forward's input
        self._input: np.ndarray | None = None  # an inference forward's input, for a backward after it
        self._channel_major = False
        # set by the network when this layer pools a Conv2D's fused ReLU: backward then applies
        # the ReLU's derivative too, as [pooled y > 0] (each window's gradient goes to its
        # maximum, where relu(z) = y), and the convolution skips its own [relu(z) > 0]
        self.applies_relu = False
        self._fired: np.ndarray | None = None  # [y > 0], kept by forward when applies_relu
        # after a forward of windows in phases: per output, whether the winner is on the right
        # in the top row, on the right in the bottom row, and in the bottom row
        self._phase_winners: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def forward(self, x, training=False):
        if x.ndim == 6:
            return self._phases_forward(x)
        self._phase_winners = None
        self._channel_major = channel_major(x)
        xs = swap(x, self._channel_major)  # in memory order
        out_hw = self.output_shape(x.shape[1:])[1:]
        self._x_shape = x.shape
        if training:
            y = self._max_and_winners(xs, out_hw)
            self._input = None
        else:
            # inference: the maximum alone, straight from the strided views (about half the
            # time); a backward after it (a saliency map) finds the winners from the input
            y = np.empty(xs.shape[:2] + tuple(out_hw), dtype=x.dtype)
            for k, view in self._windows(xs, out_hw):
                if k == 0:
                    np.copyto(y, view)
                else:
                    np.maximum(y, view, out=y)
            self._input, self._argmax, self._fired = xs, None, None
        return swap(y, self._channel_major)

    def _max_and_winners(self, xs: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
        """y (fresh) from a batch in memory order; sets ``_argmax`` (and ``_fired``)."""
        shape = xs.shape[:2] + tuple(out_hw)
        y = np.empty(shape, dtype=xs.dtype)  # fresh: outputs of successive calls never alias
        argmax = self._scratch.get("argmax", shape, np.uint8)
        window = self._scratch.get("window", shape, xs.dtype)
        greater = self._scratch.get("greater", shape, np.bool_)
        scratch = self._scratch.get("offset", shape, np.uint8)
        for k, view in self._windows(xs, out_hw):
            if k == 0:
                np.copyto(y, view)
                argmax.fill(0)
                continue
            np.copyto(window, view)  # the one strided pass over this offset
            # offsets come in increasing order, so the latest strict improvement is the
            # largest k: argmax = max(argmax, k * [window > y]) keeps the first maximum
            np.greater(window, y, out=greater)
            np.multiply(greater, np.uint8(k), out=scratch)
            np.maximum(argmax, scratch, out=argmax)
            np.maximum(y, window, out=y)
        self._argmax = argmax
        if self.applies_relu:
            self._fired = np.greater(y, 0, out=self._scratch.get("fired", shape, np.bool_))
        return y

    def _phases_forward(self, x: np.ndarray) -> np.ndarray:
        """y from 2x2 windows in phases: x (N, C, OH, 2, OW, 2), laid out (2, 2, C, N, OH, OW) ->
        y (N, C, OH, OW), channel-major. The first maximum in window order (0,0), (0,1), (1,0),
        (1,1) wins, as in the other layout: the top and bottom pairs first, then the two."""
        if self.pool != (2, 2) or self.strides != (2, 2):
            raise ValueError(f"windows in phases are 2x2 at stride 2, not a {self.describe()}")
        n, c, oh, _, ow, _ = x.shape
        shape = (c, n * oh * ow)
        planes = np.ascontiguousarray(x.transpose(3, 5, 1, 0, 2, 4)).reshape(4, c, shape[1])
        y = np.empty(shape, dtype=x.dtype)  # fresh: outputs of successive calls never alias
        top, bottom = (self._scratch.get(name, shape, x.dtype) for name in ("top", "bottom"))
        right_top, right_bottom, lower = (
            self._scratch.get(name, shape, np.bool_) for name in ("right_top", "right_bottom", "lower")
        )
        np.maximum(planes[0], planes[1], out=top)
        np.greater(planes[1], planes[0], out=right_top)
        np.maximum(planes[2], planes[3], out=bottom)
        np.greater(planes[3], planes[2], out=right_bottom)
        np.maximum(top, bottom, out=y)
        np.greater(bottom, top, out=lower)
        self._phase_winners = (right_top, right_bottom, lower)
        self._fired = None
        if self.applies_relu:
            self._fired = np.greater(y, 0, out=self._scratch.get("fired", shape, np.bool_))
        self._x_shape, self._argmax, self._input = (n, c, 2 * oh, 2 * ow), None, None
        return y.reshape(c, n, oh, ow).transpose(1, 0, 2, 3)

    def _phases_backward(self, dy: np.ndarray) -> np.ndarray:
        """dL/dx after a forward in phases, in its input's form: dy (N, C, OH, OW) ->
        (N, C, OH, 2, OW, 2), laid out (2, 2, C, N, OH, OW); valid until the next backward."""
        right_top, right_bottom, lower = self._phase_winners
        n, c, oh, ow = dy.shape
        shape = right_top.shape
        grad = dy.transpose(1, 0, 2, 3)
        if self.applies_relu:  # dL/dy * [y > 0] (the ReLU before)
            fired = self._fired.reshape(grad.shape)
            grad = np.multiply(grad, fired, out=self._scratch.get("dy", grad.shape, dy.dtype))
        elif not grad.flags.c_contiguous:  # one copy into the winners' order
            ordered = self._scratch.get("dy", grad.shape, dy.dtype)
            np.copyto(ordered, grad)
            grad = ordered
        grad = grad.reshape(shape)
        dx = self._scratch.get("dx_phases", (4, c, shape[1]), dy.dtype)
        top, bottom = (self._scratch.get(name, shape, dy.dtype) for name in ("d_top", "d_bottom"))
        # each window's gradient to its winner: a row's share, then a column's in that row
        np.multiply(grad, lower, out=bottom)
        np.subtract(grad, bottom, out=top)
        np.multiply(top, right_top, out=dx[1])
        np.subtract(top, dx[1], out=dx[0])
        np.multiply(bottom, right_bottom, out=dx[3])
        np.subtract(bottom, dx[3], out=dx[2])
        return dx.reshape(2, 2, c, n, oh, ow).transpose(3, 2, 4, 0, 5, 1)

    def backward(self, dy):
        if self._phase_winners is not None:
            return self._phases_backward(dy)
        if self._argmax is None:
            if self._input is None:
                raise RuntimeError("maxpool2d backward needs a forward first")
            self._max_and_winners(self._input, dy.shape[2:])
        major = self._channel_major
        dys = swap(dy, major)
        if self.applies_relu:  # dL/dy * [y > 0] (the ReLU before), written in argmax's order
            dys = np.multiply(dys, self._fired, out=self._scratch.get("dy", dys.shape, dy.dtype))
        elif major and not channel_major(dy):  # one copy into the order argmax and dx have
            ordered = self._scratch.get("dy", dys.shape, dy.dtype)
            np.copyto(ordered, dys)
            dys = ordered
        dx = self._grad_buffer(dy, swapped=major)  # in the forward input's memory order
        mask = self._scratch.get("mask", dys.shape, np.bool_)
        overlapping = self.overlapping
        for k, view in self._windows(dx, dys.shape[2:]):
            np.equal(self._argmax, k, out=mask)
            if overlapping:
                view += dys * mask
            else:
                np.multiply(dys, mask, out=view)
        return swap(dx, major)


class AvgPool2D(_Pool2D):
    """y = mean over each window;  dL/dx = dL/dy / (ph*pw) spread over the window."""

    kind = "avgpool2d"
    label = "AvgPool2D"

    def forward(self, x, training=False):
        out_hw = self.output_shape(x.shape[1:])[1:]
        y = None
        for _, view in self._windows(x, out_hw):
            if y is None:
                y = view.copy()
            else:
                y += view
        y *= 1.0 / (self.pool[0] * self.pool[1])
        self._x_shape = x.shape
        return y

    def backward(self, dy):
        dx = self._grad_buffer(dy)
        share = dy * (1.0 / (self.pool[0] * self.pool[1]))
        overlapping = self.overlapping
        for _, view in self._windows(dx, dy.shape[2:]):
            if overlapping:
                view += share
            else:
                view[...] = share
        return dx
