"""Layers that only change the shape of the batch."""

from __future__ import annotations

import math

from netcore.layers.base import Layer, ShapeError
from netcore.shapes import format_shape


class Flatten(Layer):
    """y = x.reshape(N, -1).  Shapes: x (N, *S) -> y (N, prod(S))."""

    kind = "flatten"

    def output_shape(self, in_shape):
        return (math.prod(in_shape),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.in_shape)

    def describe(self):
        shape = format_shape(self.in_shape or ())
        return f"Flatten({shape} -> {self.out_shape[0] if self.out_shape else '?'})"


class Reshape(Layer):
    """y = x.reshape(N, *shape).  Shapes: x (N, *S) -> y (N, *shape), prod(S) == prod(shape)."""

    kind = "reshape"

    def __init__(self, shape) -> None:
        super().__init__()
        if (
            not isinstance(shape, (list, tuple))
            or not shape
            or not all(isinstance(d, int) and d > 0 for d in shape)
        ):
            raise ValueError(f"reshape shape must be a list of positive integers, got {shape!r}")
        self.shape = tuple(shape)

    def output_shape(self, in_shape):
        if math.prod(in_shape) != math.prod(self.shape):
            raise ShapeError(
                f"cannot reshape {'x'.join(map(str, in_shape))} ({math.prod(in_shape)} values) "
                f"to {'x'.join(map(str, self.shape))} ({math.prod(self.shape)} values)"
            )
        return self.shape

    def forward(self, x, training=False):
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        return dy.reshape((dy.shape[0],) + self.in_shape)

    def config(self):
        return {"type": self.kind, "shape": list(self.shape)}

    def describe(self):
        return f"Reshape({'x'.join(map(str, self.shape))})"
