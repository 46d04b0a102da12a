"""Geometry of a digit image: centre of mass, sub-pixel shifts, anti-aliased resizing, deskewing,
and placing the result in the 28x28 frame.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from netcore.preprocess.target import COM_TARGET, SIZE


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(y, x) intensity-weighted centroid in index coordinates; the array centre if empty."""
    total = float(img.sum())
    if total <= 0:
        return (img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2
    cy = float(img.sum(axis=1) @ np.arange(img.shape[0])) / total
    cx = float(img.sum(axis=0) @ np.arange(img.shape[1])) / total
    return cy, cx


def shift_bilinear(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Move the content by (dy, dx) pixels with bilinear interpolation, zeros coming in.

    out[y, x] = img(y - dy, x - dx). Linear interpolation moves the centre of mass by exactly
    (dy, dx) as long as no ink leaves the frame.
    """
    out = img.astype(np.float32, copy=True)
    for axis, d in ((0, dy), (1, dx)):
        whole = math.floor(d)
        frac = d - whole
        out = _shift_int(out, whole, axis)
        if frac > 0:
            moved = _shift_int(out, 1, axis)
            out *= np.float32(1 - frac)
            out += np.float32(frac) * moved
    return out


def _shift_int(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    if k == 0:
        return a
    out = np.zeros_like(a)
    n = a.shape[axis]
    if abs(k) >= n:
        return out
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    src[axis], dst[axis] = (slice(0, n - k), slice(k, n)) if k > 0 else (slice(-k, n), slice(0, n + k))
    out[tuple(dst)] = a[tuple(src)]
    return out


def resize(img: np.ndarray, scale: float) -> np.ndarray:
    """Scale a 2-D image by ``scale`` with anti-aliasing (Pillow Lanczos), keeping the aspect.

    Output sides are the scaled sides rounded up. The input is padded first so that a stroke
    0.4 px wide after scaling stays 0.4 px of ink inside one pixel, not a full pixel.
    """
    h, w = img.shape
    oh, ow = (max(1, math.ceil(n * scale - 1e-6)) for n in (h, w))
    ph, pw = (max(0, round(o / scale) - n) for o, n in ((oh, h), (ow, w)))
    if ph or pw:
        img = np.pad(img, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    if img.shape == (oh, ow):
        return img.astype(np.float32, copy=True)
    pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32))
    out = np.asarray(pil.resize((ow, oh), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)  # Lanczos rings slightly below 0 and above 1


def deskew_image(img: np.ndarray, widen: bool = True) -> tuple[np.ndarray, float]:
    """Shear horizontally so that the ink's principal axis becomes vertical.

    skew = mu11 / mu02 (covariance of x and y over variance of y); the shear
    x_out = x_in - skew (y - cy) straightens a digit that leans. Returns (image, skew); with
    ``widen`` the image grows sideways so the sheared ink stays inside.
    """
    h, w = img.shape
    total = float(img.sum())
    if total <= 0:
        return img, 0.0
    ys = np.arange(h, dtype=np.float64) + 0.5  # Pillow's pixel centres
    xs = np.arange(w, dtype=np.float64) + 0.5
    py, px = img.sum(axis=1) / total, img.sum(axis=0) / total
    cy, cx = py @ ys, px @ xs
    mu02 = py @ (ys - cy) ** 2
    mu11 = float((ys - cy) @ img @ (xs - cx)) / total
    if mu02 < 1e-6:
        return img, 0.0
    skew = float(np.clip(mu11 / mu02, -1.0, 1.0))
    grow = math.ceil(abs(skew) * h) + 2 if widen else 0
    off = grow / 2
    # Pillow maps output (x, y) to input (a x + b y + c, d x + e y + f)
    coeffs = (1.0, skew, -off - skew * cy, 0.0, 1.0, 0.0)
    pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32))
    out = pil.transform((w + grow, h), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32), skew


def place(img: np.ndarray, centre: bool) -> np.ndarray:
    """Paste a (h, w) image (h, w <= 28) into 28x28: centre of mass on COM_TARGET, or bbox centred."""
    h, w = img.shape
    canvas = np.zeros((SIZE, SIZE), np.float32)
    if not centre:
        top, left = (SIZE - h) // 2, (SIZE - w) // 2
        canvas[top : top + h, left : left + w] = img
        return canvas
    cy, cx = centre_of_mass(img)
    # keep the whole box inside the frame, even for a lopsided digit
    oy, ox = min(max(COM_TARGET - cy, 0.0), SIZE - h), min(max(COM_TARGET - cx, 0.0), SIZE - w)
    top, left = math.floor(oy), math.floor(ox)
    canvas[top : top + h, left : left + w] = img
    return shift_bilinear(canvas, oy - top, ox - left)
