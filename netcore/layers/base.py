"""The layer interface every netcore layer follows.

A layer maps a batch ``x`` to ``y``. Shapes exclude the batch dimension: a layer
that takes images has ``in_shape = (C, H, W)``, a dense layer ``(D,)``.

Life cycle:
    output_shape(in_shape) -> out_shape   pure; raises ShapeError if it cannot fit
    build(in_shape, rng, dtype)           allocates ``params`` and ``grads``
    forward(x, training)  -> y            keeps only what backward needs
    backward(dy)          -> dx           overwrites ``grads`` in place, never ``params``

``params`` and ``grads`` are dicts with the same keys. Once a network is built
they are views into one flat buffer, so a layer must write gradients in place
(``np.matmul(..., out=self.grads["W"])`` or ``self.grads["b"][...] = ...``),
never rebind them. ``state`` holds non-trained arrays that are saved with the
model (BatchNorm's running statistics).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ShapeError(ValueError):
    """A layer cannot accept the shape it is given."""


class Layer:
    """Base class; parameter-free layers only override forward/backward."""

    kind: str = "layer"  # the spec's "type"

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.in_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None
        # Set by the network for its first layer: nobody needs dL/dx of the data.
        self.needs_input_grad = True

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(in_shape)

    def build(self, in_shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> None:
        self.in_shape = tuple(in_shape)
        self.out_shape = self.output_shape(self.in_shape)
        self.rng = rng
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The spec entry that rebuilds this layer."""
        return {"type": self.kind}

    def count_params(self, in_shape: tuple[int, ...]) -> int:
        """Number of trained values for this input shape, without allocating them."""
        return 0

    def num_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def describe(self) -> str:
        return self.kind

    def __repr__(self) -> str:
        return self.describe()
