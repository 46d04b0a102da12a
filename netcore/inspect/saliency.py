"""Saliency: how much each input value moves the raw score of a class, by the engine's backward."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netcore.inspect.trace import LayerOutput, as_batch, run_layers
from netcore.inspect.twin import twin_of
from netcore.network import Network


@dataclass(frozen=True)
class Saliency:
    """d score[target] / d input for a batch, with the forward pass that produced it.

    gradient: (N, *input_shape)  d z_n[target_n] / d x_n, z the raw scores (before softmax)
    target:   (N,) int           the class each gradient is of
    scores:   (N, K)             raw scores z
    layers:   every layer's output for the batch, as ``trace`` gives them
    """

    gradient: np.ndarray
    target: np.ndarray
    scores: np.ndarray
    layers: list[LayerOutput]

    @property
    def map(self) -> np.ndarray:
        """|gradient| as pictures: (N, H, W), the largest over channels (Simonyan et al. 2014);
        (N, D) when the input is not an image (see ``image_layout``)."""
        return saliency_map(self.gradient)


def saliency(network: Network, x: np.ndarray, target: int | np.ndarray | None = None) -> Saliency:
    """Gradient of the raw score of ``target`` with respect to the input, per sample.

    Shapes: x (N, *input_shape) or one sample; target None (each sample's predicted class),
    an int (the same class for all) or (N,) ints. Returns a ``Saliency``.
    One inference forward and one backward through the network's twin (its BatchNorm uses
    the running statistics, dropout is off), so samples do not interact and the network's own
    caches and gradients are untouched. Scores must be a vector per sample (N, K).
    """
    x = as_batch(network, x)
    twin = twin_of(network)
    with twin.lock:
        net = twin.network
        layers = run_layers(net, x)
        scores = layers[-1].output
        if scores.ndim != 2:
            raise ValueError(f"saliency needs scores of shape (N, K), the network gives {scores.shape[1:]}")
        n, k = scores.shape
        chosen = scores.argmax(axis=1) if target is None else np.broadcast_to(np.asarray(target), (n,))
        chosen = chosen.astype(np.intp)
        if chosen.min() < 0 or chosen.max() >= k:
            raise ValueError(f"target class must be in 0..{k - 1}, got {np.unique(chosen).tolist()}")
        d = np.zeros_like(scores)
        d[np.arange(n), chosen] = 1  # d(sum_n z_n[t_n]) / dz: samples are independent at inference
        for layer in reversed(net.layers):
            d = layer.backward(d)
        gradient = np.array(d, copy=True)  # a layer's dx buffer is reused by its next backward
    return Saliency(gradient.reshape(x.shape), chosen, scores, layers)


def image_layout(input_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(H, W) of an input seen as a picture: (C, H, W) and (H, W) inputs, and flat inputs whose
    size is a square (784 -> 28x28); None otherwise."""
    if len(input_shape) in (2, 3):
        return tuple(input_shape[-2:])
    if len(input_shape) == 1:
        side = math.isqrt(input_shape[0])
        if side * side == input_shape[0] and side > 1:
            return (side, side)
    return None


def saliency_map(gradient: np.ndarray) -> np.ndarray:
    """(N, *input_shape) gradients -> (N, H, W) max over channels of |gradient| (or (N, D))."""
    n, shape = gradient.shape[0], gradient.shape[1:]
    layout = image_layout(shape)
    magnitude = np.abs(gradient)
    if layout is None:
        return magnitude.reshape(n, -1)
    if len(shape) == 3:
        return magnitude.max(axis=1)
    return magnitude.reshape((n,) + layout)


def peak(picture: np.ndarray) -> tuple[int, ...]:
    """Index of the largest value of one map, e.g. (row, col) of an (H, W) saliency map."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(picture)), picture.shape))
