"""Pictures shared by the Inside views: colour maps, class colours, feature maps as a grid."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QImage, QPixmap

# Class colours (Tableau 10): distinct, colour-blind friendly enough, the same in every view.
CLASS_RGB = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ],
    dtype=np.float32,
)  # fmt: skip

SEQUENTIAL = "inferno"  # magnitudes (activations, saliency): black = nothing, yellow = most
DIVERGING = "CET-D1"  # signed values (filters, a neuron's output): blue < 0 < red, white at 0


def class_colour(k: int) -> QColor:
    r, g, b = CLASS_RGB[k % len(CLASS_RGB)]
    return QColor(int(r), int(g), int(b))


def class_blend(probabilities: np.ndarray) -> np.ndarray:
    """(ny, nx, K) probabilities -> (ny, nx, 3) uint8: the class colours mixed by probability,
    paler where the model is unsure (white at a uniform guess), as the Playground paints."""
    p = np.asarray(probabilities, dtype=np.float32)
    k = p.shape[-1]
    colours = CLASS_RGB[np.arange(k) % len(CLASS_RGB)]
    mixed = p @ colours  # (ny, nx, 3)
    sure = (p.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)  # 0 at a uniform guess, 1 certain
    sure = 0.25 + 0.75 * np.clip(sure, 0.0, 1.0)
    return (255.0 - (255.0 - mixed) * sure).astype(np.uint8)


def tile(maps: np.ndarray, columns: int | None = None) -> np.ndarray:
    """(C, H, W) maps -> one (rows*(H+1)-1, cols*(W+1)-1) picture, NaN in the 1-px gutters."""
    c, h, w = maps.shape
    cols = columns or max(1, math.ceil(math.sqrt(c)))
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[i]
    return out


def image_item() -> pg.ImageItem:
    """An ImageItem whose arrays are (rows = y, columns = x), as NumPy prints them."""
    return pg.ImageItem(axisOrder="row-major")


def picture_box(view: pg.ViewBox) -> pg.ViewBox:
    """A ViewBox for a picture: square pixels, y down, no mouse panning."""
    view.setAspectLocked(True)
    view.invertY(True)
    view.setMouseEnabled(False, False)
    view.setMenuEnabled(False)
    return view


def gray_pixmap(image: np.ndarray, side: int) -> QPixmap:
    """A (H, W) 0..1 image (1 = ink) as a ``side``-pixel thumbnail, white ink on black as on the pad."""
    data = np.ascontiguousarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    h, w = data.shape
    qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(side, side)
