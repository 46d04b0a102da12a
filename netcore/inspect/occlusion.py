"""Occlusion sensitivity: how much a class's probability drops when a patch of the image is blanked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.inspect.saliency import image_layout
from netcore.inspect.trace import as_batch
from netcore.inspect.twin import twin_of
from netcore.network import Network


@dataclass(frozen=True)
class Occlusion:
    """The drop in p(target) with a patch x patch square blanked, slid by ``stride``.

    grid:   (R, C)  p(target | intact) - p(target | patch at (rows[r], cols[c]) blanked); the
            patch covers rows rows[r] .. rows[r]+patch-1 (likewise columns); > 0: the patch mattered
    pixels: (H, W)  the mean of ``grid`` over the patches covering each pixel (for an overlay)
    rows, cols: (R,), (C,) top-left corners of the patch positions (the last ones touch the edge)
    base:   p(target) of the intact image;  target: the class (the predicted one by default)
    """

    grid: np.ndarray
    pixels: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    base: float
    target: int
    patch: int
    stride: int


def positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Start indices of a patch slid over ``size`` pixels, the last one flush with the edge."""
    starts = np.arange(0, size - patch + 1, stride)
    if starts[-1] != size - patch:
        starts = np.append(starts, size - patch)
    return starts


def occlusion(
    network: Network,
    x: np.ndarray,
    target: int | None = None,
    patch: int = 4,
    stride: int = 2,
    fill: float = 0.0,
    batch_size: int = 256,
) -> Occlusion:
    """Occlusion sensitivity of one image (Zeiler & Fergus 2014).

    Shapes: x one sample, (*input_shape) or (1, *input_shape), whose input is a picture (see
    ``image_layout``: CxHxW, HxW or a square flat input); all channels of a patch are set to
    ``fill`` (0 is the background of MNIST-style digits). Every occluded copy is classified in
    batches of ``batch_size`` on the network's twin; a 28x28 image with the defaults takes 169.
    """
    x = as_batch(network, x)
    if x.shape[0] != 1:
        raise ValueError(f"occlusion takes one image, got a batch of {x.shape[0]}")
    layout = image_layout(network.input_shape)
    if layout is None:
        raise ValueError(f"occlusion needs a picture input, the network takes {network.input_shape}")
    h, w = layout
    if not (isinstance(patch, int) and 1 <= patch <= min(h, w)):
        raise ValueError(f"patch must be an integer in 1..{min(h, w)}, got {patch!r}")
    if not (isinstance(stride, int) and stride >= 1):
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    image = x.reshape(-1, h, w)  # (C, H, W)
    rows, cols = positions(h, patch, stride), positions(w, patch, stride)
    in_rows = (np.arange(h) >= rows[:, None]) & (np.arange(h) < rows[:, None] + patch)  # (R, H)
    in_cols = (np.arange(w) >= cols[:, None]) & (np.arange(w) < cols[:, None] + patch)  # (C, W)
    masks = (in_rows[:, None, :, None] & in_cols[None, :, None, :]).reshape(-1, h, w)  # (P, H, W)
    twin = twin_of(network)
    with twin.lock:
        net = twin.network
        probs = net.loss.probabilities(net.forward(x))[0]
        label = int(probs.argmax()) if target is None else int(target)
        if not 0 <= label < probs.size:
            raise ValueError(f"target class must be in 0..{probs.size - 1}, got {target!r}")
        occluded = np.empty(len(masks), dtype=np.float64)
        for start in range(0, len(masks), batch_size):
            m = masks[start : start + batch_size, None]  # (B, 1, H, W)
            batch = np.where(m, np.asarray(fill, x.dtype), image[None]).reshape((-1,) + network.input_shape)
            occluded[start : start + len(m)] = net.loss.probabilities(net.forward(batch))[:, label]
    drop = float(probs[label]) - occluded
    cover = masks.sum(axis=0)
    pixels = np.tensordot(drop, masks, axes=1) / np.maximum(cover, 1)
    return Occlusion(
        drop.reshape(len(rows), len(cols)), pixels, rows, cols, float(probs[label]), label, patch, stride
    )
