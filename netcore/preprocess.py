"""From a drawing or photo of one digit to the 28x28 image an MNIST network expects.

MNIST's own recipe (LeCun et al.): crop to the ink, fit into 20x20 keeping the aspect ratio with
anti-aliasing, paste into 28x28 so that the centre of mass lands on the centre. This module
follows it and adds what a drawing pad or a photo needs:

    raw -> ink -> crop -> stroke -> deskew -> fit20 -> centred

- ``ink``: 0..1 with 1 = stroke, whichever way round the picture was (the border decides);
  background haze and isolated specks are removed.
- ``stroke``: a stroke much thinner or thicker than MNIST's after the downscale is thickened
  (dilation) or thinned (Zhang-Suen, which keeps strokes connected) to MNIST's median width;
  a small digit drawn with a fat brush would otherwise become a blob, a big one drawn with a
  fine pen a hairline.
- ``deskew``: optional shear that makes the principal axis vertical (classic MNIST deskewing).
- ``centred``: the centre of mass is moved to (14, 14) with a sub-pixel (bilinear) shift.

A canvas with nothing readable on it (empty, a single dot, a tiny mark, a blob, specks, covered
in ink) gives a ``Preprocessed`` with ``image=None`` and a ``reason`` instead of a meaningless
image.

Coordinates are array indices (row y, column x). Everything is vectorised NumPy plus Pillow
resampling; a 280x280 canvas takes a few milliseconds. No Qt here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from os import PathLike

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28  # MNIST image side
FIT_BOX = 20  # MNIST fits the digit into 20x20 inside the 28x28 frame
COM_TARGET = 14.0  # where MNIST's centre of mass sits (index coords; test set mean 13.99, 14.01)
# stroke_width(to_ink(x) > 0.5) over the MNIST test digits, in 28x28 pixels: median 2.4,
# 10th percentile 1.7, 90th 3.5. Strokes outside the range are brought to the median; strokes
# inside keep their natural variation (a model trained on MNIST has seen it).
MNIST_STROKE = 2.4
MNIST_STROKE_RANGE = (1.8, 3.4)
OVERSAMPLE = 4  # stroke morphology runs at 4x the output resolution

NOISE_FLOOR = 0.1  # ink below this (after contrast stretch) is background haze
INK_THRESHOLD = 0.25  # ink above this counts as stroke for masks and bounding boxes
MIN_CONTRAST = 0.15  # weaker contrast between ink and background means a blank picture
MIN_EXTENT_PX = 4  # a mark whose bounding box is smaller than this many pixels ...
MIN_EXTENT_FRAC = 0.03  # ... or this fraction of the canvas side is too small to read
MIN_ELONGATION = 1.6  # bbox side / stroke width below this: a dot or blob (a disc gives 1.3)
DOT_FRAC = 0.2  # such a mark smaller than this fraction of the canvas side is a dot
MAX_INK_FRACTION = 0.5  # more of the canvas than this covered in ink: scribble
MAX_EULER = 12  # |pieces - holes| above this: scattered specks (MNIST digits: -4..3)
BACKGROUNDS = ("auto", "light", "dark")


@dataclass(frozen=True)
class Preprocessed:
    """The outcome of ``preprocess_digit``.

    image:  (28, 28) float32 in 0..1, ink = 1, ready for ``reshape(1, 1, 28, 28)``;
            None when there is nothing to read.
    stages: intermediate 2-D float32 images in pipeline order, for an inspector panel. Keys
            (only the stages that ran): "raw", "ink", "crop", "stroke", "deskew", "fit20" or
            "scaled", and "centred" or "placed" (the last one is ``image``).
    reason: None when ``image`` is set, else a sentence starting "nothing to read: ".
    info:   measurements for display: "ink_fraction", "stroke_width" (canvas px),
            "stroke_steps" (one-pixel dilation > 0 or thinning < 0 steps at 4x the output
            resolution), "skew", "scale" (output px per frame px).
    All arrays are read-only, so a record can be shared between threads.
    """

    image: np.ndarray | None
    stages: dict[str, np.ndarray]
    reason: str | None = None
    info: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.image is not None


# --------------------------------------------------------------------------- input


MAX_PIXELS_ENV = "NETCORE_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 2**26  # 67 megapixels: any camera photo, not a 13000x13000 bomb


def load_image(path: str | PathLike[str]) -> np.ndarray:
    """Read an image file as (H, W) float32 grayscale in 0..1 (0 = black).

    Transparent pixels are composited on white (a PNG drawn on a transparent layer reads as ink
    on paper); a phone photo is turned upright by its EXIF orientation.
    Raises ValueError when the file is missing or is not an image Pillow can decode.
    """
    limit = int(float(os.environ.get(MAX_PIXELS_ENV) or DEFAULT_MAX_PIXELS))
    try:
        with Image.open(path) as im:
            # The header's size, checked before anything is decoded: a small file can declare
            # an image that would take gigabytes (a decompression bomb).
            if im.width * im.height > limit:
                raise ValueError(
                    f"{str(path)!r} is {im.width}x{im.height} pixels, more than the limit of {limit:,} "
                    f"(set {MAX_PIXELS_ENV} to raise it)"
                )
            im.load()
            im = ImageOps.exif_transpose(im)
            return _pil_to_gray(im)
    except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read an image from {str(path)!r}: {exc}") from exc


def _pil_to_gray(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16L", "I;16B", "I"):
        a = np.asarray(im, dtype=np.float32)
        return np.clip(a / (65535.0 if a.max() > 255 else 255.0), 0.0, 1.0)
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def as_gray(image: np.ndarray) -> np.ndarray:
    """A new (H, W) float32 array in 0..1 from uint8 0..255, bool, or float 0..1 input.

    (H, W, 3) and (H, W, 4) colour arrays are accepted too (alpha composited on white).
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = _colour_to_gray(a)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {a.shape}")
    if a.dtype == np.uint8:
        out = a.astype(np.float32)
        out *= np.float32(1 / 255)
        return out
    if a.dtype == np.bool_:
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.integer):
        top = 65535.0 if a.max() > 255 else 255.0
        return np.clip(a.astype(np.float32) / np.float32(top), 0.0, 1.0)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must hold numbers, got dtype {a.dtype}")
    lo, hi = float(a.min()), float(a.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"float image values must lie in 0..1, got {lo:g}..{hi:g}")
    out = a.astype(np.float32, copy=True)
    return np.clip(out, 0.0, 1.0, out=out)


def _colour_to_gray(a: np.ndarray) -> np.ndarray:
    f = a.astype(np.float32) / (np.float32(255) if a.dtype == np.uint8 else np.float32(1))
    gray = f[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma, as Pillow
    if a.shape[2] == 4:
        gray = gray * f[..., 3] + (1.0 - f[..., 3])  # composite on white
    return gray


# --------------------------------------------------------------------------- ink


def to_ink(gray: np.ndarray, background: str = "auto") -> np.ndarray:
    """(H, W) ink image in 0..1, 1 = stroke, 0 = background.

    The background level is the median of the border pixels. With ``background="auto"`` the ink
    is whichever extreme lies farther from it (dark ink on light paper is inverted). The result
    is stretched so that the background maps to 0 and the strongest ink to 1, then values below
    NOISE_FLOOR are cut. A picture without contrast gives all zeros.
    """
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    return _ink_from_gray(as_gray(gray), background)


def _ink_from_gray(g: np.ndarray, background: str) -> np.ndarray:
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
    p = _pad(m.view(np.uint8), 1)
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
    p = _pad(mask, 1)
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
    p = _pad(mask.astype(bool, copy=False), 1).view(np.uint8)
    a, b, c, d = p[:-1, :-1], p[:-1, 1:], p[1:, :-1], p[1:, 1:]
    s = a + b + c + d
    q1 = np.count_nonzero(s == 1)
    q3 = np.count_nonzero(s == 3)
    qd = np.count_nonzero((s == 2) & (a == d))
    return (q1 - q3 - 2 * qd) // 4


def _nothing_to_read(mask: np.ndarray, width: float) -> str | None:
    n = int(np.count_nonzero(mask))
    if n == 0:
        return "nothing to read: the canvas is empty"
    if n > MAX_INK_FRACTION * mask.size:
        return "nothing to read: the canvas is covered in ink"
    if abs(euler_number(mask)) > MAX_EULER:
        return "nothing to read: scattered specks, not strokes"
    top, left, bottom, right = ink_bbox(mask)
    extent = max(bottom - top, right - left)
    if extent < max(MIN_EXTENT_PX, MIN_EXTENT_FRAC * min(mask.shape)):
        return "nothing to read: the mark is too small"
    if extent < MIN_ELONGATION * width:
        if extent < DOT_FRAC * min(mask.shape):
            return "nothing to read: only a dot, no stroke to follow"
        return "nothing to read: the strokes have merged into a blob (draw larger or thinner)"
    return None


# --------------------------------------------------------------------------- morphology


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """Zero border of n pixels (np.pad costs ~20 us of Python per call; this is one copy)."""
    out = np.zeros((a.shape[0] + 2 * n, a.shape[1] + 2 * n), a.dtype)
    out[n : n + a.shape[0], n : n + a.shape[1]] = a
    return out


def _step(a: np.ndarray, op, square: bool) -> np.ndarray:
    """One 3x3 (square) or plus-shaped (cross) max/min filter step; edges see only the inside."""
    out = a.copy()
    op(out[1:], a[:-1], out=out[1:])
    op(out[:-1], a[1:], out=out[:-1])
    src = out.copy() if square else a  # square = vertical then horizontal pass (separable)
    op(out[:, 1:], src[:, :-1], out=out[:, 1:])
    op(out[:, :-1], src[:, 1:], out=out[:, :-1])
    return out


def morph(ink: np.ndarray, radius: int) -> np.ndarray:
    """Grayscale dilation (radius > 0, max filter) or erosion (radius < 0, min filter).

    The structuring element is an octagon of the given radius, built by alternating 3x3 square
    and cross steps (close to a disc, so diagonal strokes change like straight ones). Pad the
    image by ``|radius|`` first if the ink may grow past its edges.
    """
    op = np.maximum if radius > 0 else np.minimum
    out = ink
    for k in range(abs(radius)):
        out = _step(out, op, square=k % 2 == 0)
    return out


# --------------------------------------------------------------------------- geometry


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


def _place(img: np.ndarray, centre: bool) -> np.ndarray:
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


# --------------------------------------------------------------------------- pipeline


def preprocess_digit(
    image: np.ndarray,
    *,
    normalize_stroke: bool = True,
    deskew: bool = False,
    centre: bool = True,
    fit: bool = True,
    crop: bool = True,
    background: str = "auto",
) -> Preprocessed:
    """Turn a picture of one digit (any size, uint8 0..255 or float 0..1) into MNIST's format.

    Each flag switches one stage, so a UI can show why it matters:
      crop  -- cut the picture to the ink's bounding box; off: the whole canvas is used.
      fit   -- scale the (cropped) picture so its longer side is 20 px; off: scale it as the
               whole canvas to 28 px would (a digit drawn small stays small).
      normalize_stroke -- bring a stroke outside MNIST's usual width (1.8..3.4 px of 28) to
               its median, 2.4 px.
      deskew -- shear the digit upright (off by default, as in MNIST).
      centre -- shift the centre of mass to (14, 14) with sub-pixel accuracy; off: the box is
               centred.
    With every flag off the canvas is simply resized to 28x28.
    ``background``: "auto" (from the border), "light" (dark ink) or "dark" (light ink).

    Shapes: image (H, W) or (H, W, 3|4) -> Preprocessed.image (28, 28) float32 or None.
    """
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    gray = as_gray(image)
    stages: dict[str, np.ndarray] = {"raw": gray}
    ink = _ink_from_gray(gray, background)
    mask = ink_mask(ink)
    ink *= morph(mask, 1)  # keep stroke pixels and their anti-aliased rim, drop specks and haze
    stages["ink"] = ink

    box = ink_bbox(mask)
    width = 0.0
    if box is not None:
        top, left, bottom, right = box
        core = mask[top:bottom, left:right] & (ink[top:bottom, left:right] > 0.5)
        width = stroke_width(core)  # at the half-intensity edge: the geometric width
    info = {"ink_fraction": float(np.count_nonzero(mask)) / mask.size, "stroke_width": width}
    reason = _nothing_to_read(mask, width)
    if reason is not None:
        return _record(None, stages, reason, info)

    frame = ink[top:bottom, left:right] if crop else ink
    if crop:
        stages["crop"] = frame
    # output pixels per frame pixel
    scale = FIT_BOX / max(frame.shape) if fit else SIZE / max(gray.shape)
    if normalize_stroke or deskew:
        frame, scale = _work_stages(frame, scale, normalize_stroke, deskew, fit, crop, stages, info)
    scale = min(scale, SIZE / max(frame.shape))  # a dilated full-canvas crop must still fit
    info["scale"] = float(scale)
    scaled = resize(frame, scale)
    stages["fit20" if fit else "scaled"] = scaled
    out = _place(scaled, centre)
    stages["centred" if centre else "placed"] = out
    return _record(out, stages, None, info)


def _work_stages(
    frame: np.ndarray,
    scale: float,
    normalize_stroke: bool,
    deskew: bool,
    fit: bool,
    crop: bool,
    stages: dict[str, np.ndarray],
    info: dict[str, float],
) -> tuple[np.ndarray, float]:
    """Stroke normalisation and deskewing at OVERSAMPLE x the output resolution.

    Returns the new frame and its scale to the output: 1 / OVERSAMPLE, or with crop and fit
    the scale that fits the grown or thinned digit into 20 px again.
    """
    work = resize(frame, OVERSAMPLE * scale)
    if normalize_stroke:
        before = work.shape
        work, steps = normalise_stroke(work, refit=fit and crop)
        info["stroke_steps"] = float(steps)
        if not crop and work.shape != before:  # the canvas keeps its size: cut the padding
            pad = (work.shape[0] - before[0]) // 2
            work = work[pad : pad + before[0], pad : pad + before[1]]
        stages["stroke"] = work
    if deskew:
        work, info["skew"] = deskew_image(work, widen=crop)
        stages["deskew"] = work
    if crop:
        # never None: dilation keeps the ink and thinning keeps a skeleton
        t, l_, b, r = ink_bbox(work > NOISE_FLOOR)
        work = work[t:b, l_:r]
    return work, (FIT_BOX / max(work.shape) if fit and crop else 1.0 / OVERSAMPLE)


def normalise_stroke(work: np.ndarray, refit: bool) -> tuple[np.ndarray, int]:
    """Thicken or thin a stroke outside MNIST_STROKE_RANGE until it is MNIST_STROKE wide.

    work: ink at OVERSAMPLE x the output resolution. The output width is predicted from the
    work image: width / OVERSAMPLE, or with ``refit`` (the digit is fitted into 20 px again
    after it grew or shrank) width * 20 / longer side. It is measured again after every step
    near the goal, which corrects the width estimate's bias on blobby shapes.
    Thickening is a grayscale dilation (octagon, one pixel a step; the image is padded so the
    ink never reaches its edge). Thinning peels one boundary layer a step with Zhang-Suen
    thinning, which keeps every stroke connected where a plain erosion would cut the thin parts
    of an uneven stroke; its result is binary (the downscale anti-aliases it).
    Returns (image, steps): steps > 0 dilation, < 0 thinning.
    """

    def predicted(mask: np.ndarray) -> tuple[float, float]:
        """(output width, work width) of the stroke in a bool mask."""
        box = ink_bbox(mask)
        if box is None:
            return 0.0, 0.0
        t, l_, b, r = box
        w = stroke_width(mask[t:b, l_:r])
        return (w * FIT_BOX / max(b - t, r - l_) if refit else w / OVERSAMPLE), w

    mask = work > 0.5
    width, work_width = predicted(mask)
    low, high = MNIST_STROKE_RANGE
    if width == 0.0 or low <= width <= high:
        return work, 0
    if width < MNIST_STROKE:
        return _thicken(work, width, predicted)
    # each Zhang-Suen sub-iteration takes ~1 work px off the width (and off the longer side);
    # run the first 60 % of the estimated count without measuring
    if refit:
        side = work_width * FIT_BOX / width
        estimate = (FIT_BOX * work_width - MNIST_STROKE * side) / (FIT_BOX - MNIST_STROKE)
    else:
        estimate = work_width - MNIST_STROKE * OVERSAMPLE
    blind = int(0.6 * estimate)
    state = _pad(mask, 1)
    steps = 0
    for k in range(4 * OVERSAMPLE * FIT_BOX):  # more than enough to reach a skeleton
        nxt = _thin_step(state, first=k % 2 == 0)
        if k < blind:
            state, steps = nxt, k + 1
            continue
        w_next, _ = predicted(nxt)
        if w_next <= MNIST_STROKE:
            if abs(w_next - MNIST_STROKE) < abs(width - MNIST_STROKE):
                state, steps = nxt, k + 1
            break
        if k % 2 == 1 and np.array_equal(nxt, state):
            break  # a one-pixel skeleton: nothing left to peel
        state, width, steps = nxt, w_next, k + 1
    if steps == 0:
        return work, 0
    return state[1:-1, 1:-1].astype(np.float32), -steps


def _thicken(work: np.ndarray, width: float, predicted) -> tuple[np.ndarray, int]:
    # the goal is ~10 work px wide, so OVERSAMPLE * 3 steps (6 output px) always suffice
    max_steps = 3 * OVERSAMPLE
    state = _pad(work, max_steps + 1)
    steps = 0
    for k in range(max_steps):
        nxt = _step(state, np.maximum, square=k % 2 == 0)
        w_next, _ = predicted(nxt > 0.5)
        if w_next >= MNIST_STROKE:
            if abs(w_next - MNIST_STROKE) < abs(width - MNIST_STROKE):
                state, steps = nxt, k + 1
            break
        state, width, steps = nxt, w_next, k + 1
    return state, steps


# Zhang-Suen neighbours P2..P9, clockwise from north, as (dy, dx)
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _zhang_suen_tables() -> tuple[np.ndarray, np.ndarray]:
    """For every 8-neighbourhood code (bit i = P(i+2)): may the centre go, in pass 1 / pass 2?

    Zhang & Suen (CACM 1984): a pixel goes when it has 2..6 inked neighbours, exactly one
    0 -> 1 transition around its ring (so removing it keeps the stroke connected and keeps
    stroke ends), and it lies on the south-east (pass 1) or north-west (pass 2) boundary.
    """
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1
    count = bits.sum(axis=1)
    rises = ((bits == 0) & (np.roll(bits, -1, axis=1) == 1)).sum(axis=1)
    p2, _, p4, _, p6, _, p8, _ = bits.T
    base = (count >= 2) & (count <= 6) & (rises == 1)
    first = base & ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
    second = base & ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
    return first, second


_ZS_FIRST, _ZS_SECOND = _zhang_suen_tables()


def _thin_step(padded: np.ndarray, first: bool) -> np.ndarray:
    """One Zhang-Suen sub-iteration on a bool mask with a zero border; returns a new array.

    Every pixel's neighbourhood is packed into one byte and looked up in a 256-entry table,
    so all pixels are decided at once from the same input.
    """
    h, w = padded.shape[0] - 2, padded.shape[1] - 2
    u8 = padded.view(np.uint8)
    code = np.zeros((h, w), np.uint8)
    bit = np.empty((h, w), np.uint8)
    for i, (dy, dx) in enumerate(_RING):
        np.left_shift(u8[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w], i, out=bit)
        code |= bit
    remove = np.take(_ZS_FIRST if first else _ZS_SECOND, code)
    out = padded.copy()
    out[1:-1, 1:-1] &= ~remove
    return out


def _record(image, stages, reason, info) -> Preprocessed:
    for a in stages.values():
        a.flags.writeable = False
    if image is not None:
        image.flags.writeable = False
    return Preprocessed(image=image, stages=stages, reason=reason, info=info)
