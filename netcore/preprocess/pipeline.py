"""The pipeline: raw -> ink -> crop -> stroke -> deskew -> fit20 -> centred, each stage recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netcore.preprocess.geometry import deskew_image, place, resize
from netcore.preprocess.ink import (
    BACKGROUNDS,
    NOISE_FLOOR,
    euler_number,
    ink_bbox,
    ink_from_gray,
    ink_mask,
    stroke_width,
)
from netcore.preprocess.morphology import morph
from netcore.preprocess.reading import as_gray
from netcore.preprocess.stroke import OVERSAMPLE, normalise_stroke
from netcore.preprocess.target import FIT_BOX, SIZE

MIN_EXTENT_PX = 4  # a mark whose bounding box is smaller than this many pixels ...
MIN_EXTENT_FRAC = 0.03  # ... or this fraction of the canvas side is too small to read
MIN_ELONGATION = 1.6  # bbox side / stroke width below this: a dot or blob (a disc gives 1.3)
DOT_FRAC = 0.2  # such a mark smaller than this fraction of the canvas side is a dot
MAX_INK_FRACTION = 0.5  # more of the canvas than this covered in ink: scribble
MAX_EULER = 12  # |pieces - holes| above this: scattered specks (MNIST digits: -4..3)


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
    ink = ink_from_gray(gray, background)
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
    out = place(scaled, centre)
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


def _record(image, stages, reason, info) -> Preprocessed:
    for a in stages.values():
        a.flags.writeable = False
    if image is not None:
        image.flags.writeable = False
    return Preprocessed(image=image, stages=stages, reason=reason, info=info)
