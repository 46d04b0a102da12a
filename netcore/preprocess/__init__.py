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

from netcore.preprocess.geometry import centre_of_mass, deskew_image, place, resize, shift_bilinear
from netcore.preprocess.ink import (
    BACKGROUNDS,
    INK_THRESHOLD,
    MIN_CONTRAST,
    NOISE_FLOOR,
    euler_number,
    ink_bbox,
    ink_mask,
    stroke_width,
    to_ink,
)
from netcore.preprocess.morphology import morph
from netcore.preprocess.pipeline import (
    DOT_FRAC,
    MAX_EULER,
    MAX_INK_FRACTION,
    MIN_ELONGATION,
    MIN_EXTENT_FRAC,
    MIN_EXTENT_PX,
    Preprocessed,
    preprocess_digit,
)
from netcore.preprocess.reading import as_gray, load_image
from netcore.preprocess.stroke import OVERSAMPLE, normalise_stroke
from netcore.preprocess.target import COM_TARGET, FIT_BOX, MNIST_STROKE, MNIST_STROKE_RANGE, SIZE

__all__ = [
    "BACKGROUNDS", "COM_TARGET", "DOT_FRAC", "FIT_BOX", "INK_THRESHOLD", "MAX_EULER", "MAX_INK_FRACTION",
    "MIN_CONTRAST", "MIN_ELONGATION", "MIN_EXTENT_FRAC", "MIN_EXTENT_PX", "MNIST_STROKE",
    "MNIST_STROKE_RANGE", "NOISE_FLOOR", "OVERSAMPLE", "SIZE", "Preprocessed", "as_gray",
    "centre_of_mass", "deskew_image", "euler_number", "ink_bbox", "ink_mask", "load_image", "morph",
    "normalise_stroke", "place", "preprocess_digit", "resize", "shift_bilinear", "stroke_width", "to_ink",
]  # fmt: skip
