"""Ink: which pixels are stroke, where it is, how wide it is, how many pieces and holes it has."""

from __future__ import annotations

import math

import numpy as np

from netcore.preprocess.morphology import zero_pad
from netcore.preprocess.reading import as_gray

NOISE_FLOOR = 0.1  # ink below this (after contrast stretch) is background haze
INK_THRESHOLD = 0.25  # ink above this counts as stroke for masks and bounding boxes
MIN_CONTRAST = 0.15  # weaker contrast between ink and background means a blank picture
BACKGROUNDS = ("auto", "light", "dark")


def to_ink(gray: np.ndarray, background: str = "auto") -> np.ndarray:
    """(H, W) ink image in 0..1, 1 = stroke, 0 = background.

    The background level is the median of the border pixels. With ``background="auto"`` the ink
    is whichever extreme lies farther from it (dark ink on light paper is inverted). The result
    is stretched so that the background maps to 0 and the strongest ink to 1, then values below
    NOISE_FLOOR are cut. A picture without contrast gives all zeros.
    """
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    return ink_from_gray(as_gray(gray), background)


def ink_from_gray(g: np.ndarray, background: str) -> np.ndarray:
    """to_ink for a valid float32 gray image; works in place on one new array."""
    border = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]])
    bg = float(np.median(border))
    if background == "auto":
        light = bg - float(g.min()) > float(g.max()) - bg
    else:
        light = background == "light"
    if light:
        v, bg = np.subtract(1.0, g, dtype=np.float32), 1.0 - bg
    else:
        v = g.copy()
    peak = float(v.max())
    if peak - bg < MIN_CONTRAST:
        v[...] = 0.0
        return v
    # stretch background..peak to 0..1, then cut the haze below the noise floor
    lo = bg + NOISE_FLOOR * (peak - bg)
    v -= np.float32(lo)
    v *= np.float32(1.0 / (peak - lo))
    return np.clip(v, 0.0, 1.0, out=v)


def ink_mask(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """Bool (H, W): ink above ``threshold`` that has at least one 8-neighbour (no specks)."""
    m = ink > threshold
    p = zero_pad(m.view(np.uint8), 1)
    # number of inked pixels in each 3x3 neighbourhood, by two separable 3-sums
    rows = p[:-2] + p[1:-1] + p[2:]
    box = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]
    return m & (box > 1)


def ink_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the True pixels, ends exclusive; None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def stroke_width(mask: np.ndarray) -> float:
    """Stroke width of a bool mask in pixels, from its area A and perimeter P.

    Model the ink as one band of length L and width w: A = L w and P = 2 (L + w), so w is the
    smaller root of w^2 - (P/2) w + A = 0 (about A / (P/2) for long strokes; short thick dashes
    are not underestimated). A disc of diameter d gives ~0.8 d, a square of side d gives d.
    P is measured Crofton-style from the in/out transitions along rows, columns and both
    diagonals, so the estimate does not depend on the stroke's direction.
    """
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    p = zero_pad(mask, 1)
    n_h = np.count_nonzero(p[:, 1:] != p[:, :-1])
    n_v = np.count_nonzero(p[1:] != p[:-1])
    n_d = np.count_nonzero(p[1:, 1:] != p[:-1, :-1]) + np.count_nonzero(p[1:, :-1] != p[:-1, 1:])
    # Crofton: length = (pi / 2) * mean over directions of (crossings x line spacing)
    half_perimeter = math.pi / 16 * (n_h + n_v + n_d / math.sqrt(2))
    disc = max(half_perimeter**2 - 4.0 * area, 0.0)
    return float((half_perimeter - math.sqrt(disc)) / 2)


def euler_number(mask: np.ndarray) -> int:
    """Number of 8-connected pieces minus number of holes of a bool mask.

    Gray's bit quads: with Q1, Q3 the 2x2 windows holding one or three set pixels and QD the
    diagonal pairs, E = (Q1 - Q3 - 2 QD) / 4. A digit has 1 (a "1"), 0 (a "6") or -1 (an "8");
    random specks have hundreds.
    """
    p = zero_pad(mask.astype(bool, copy=False), 1).view(np.uint8)
    a, b, c, d = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]
    s = a + b + c + d
    q1 = np.count_nonzero(s == 1)
    q3 = np.count_nonzero(s == 3)
    qd = np.count_nonzero((s == 2) & (a == d))
    return (q1 - q3 - 2 * qd) // 4
