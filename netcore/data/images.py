"""One picture file to the fixed-size array a network reads: decode, orient, fit, channels.

Shared by the image-folder loader (which runs ``decode_files`` in worker processes) and by
prediction on a single file, so a photo is prepared exactly as the training images were.

Fits (``FITS``):
- ``"pad"``: resize keeping the aspect ratio so the whole picture fits, then fill the rest with
  the picture's own border colour (the median of its edge pixels: a white-background photo
  gets white bars, a digit on black gets black ones);
- ``"crop"``: resize keeping the aspect ratio so the picture covers the frame, then cut the
  centre.

Arrays are uint8 (C, H, W) with C = 1 (grey) or 3 (RGB). No Qt here.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
FITS = ("pad", "crop")
MODES = ("auto", "grey", "rgb")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "F")
# A pixel whose channels differ by more than this (of 255) is coloured; an image is in colour
# when more than COLOUR_FRACTION of its pixels are (JPEG noise on a grey photo stays below).
COLOUR_SPREAD = 24
COLOUR_FRACTION = 0.002
RESAMPLE = Image.Resampling.BILINEAR  # Pillow's bilinear resize is antialiased when shrinking


class ImageReadError(ValueError):
    """A file that is not a picture Pillow can decode; the message says why."""


def is_image_name(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS) and not name.startswith(".")


def read_header(path: str | os.PathLike) -> tuple[int, int, bool]:
    """(height, width, may_be_colour) from the file header, without decoding the pixels.

    EXIF orientation is taken into account (a portrait phone photo is taller than wide).
    """
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.format == "JPEG" and im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
            return height, width, _may_be_colour(im)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageReadError(_reason(e)) from None


def _may_be_colour(im: Image.Image) -> bool:
    if im.mode == "P":  # a palette of greys (a grey GIF) is grey
        palette = np.asarray(im.getpalette() or [], np.uint8).reshape(-1, 3)
        return bool((palette.max(axis=1) - palette.min(axis=1) > COLOUR_SPREAD).any())
    return im.mode not in GREY_MODES


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def open_picture(path: str | os.PathLike, size: tuple[int, int] | None, mode: str = "auto") -> Image.Image:
    """The first frame of ``path``, upright, as an "L" or "RGB" Pillow image.

    ``mode`` "grey" gives "L", "rgb" gives "RGB", "auto" gives "L" for a file stored in grey and
    "RGB" otherwise. Transparent pixels are composited on white. ``size`` (H, W) lets JPEG
    decode at a reduced scale (Pillow's draft mode) when the picture is much larger than needed.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd but readable files
            with Image.open(path) as im:
                if mode == "auto":
                    mode = "grey" if im.mode in GREY_MODES else "rgb"
                pil_mode = "L" if mode == "grey" else "RGB"
                if size is not None and im.format == "JPEG":
                    im.draft(pil_mode, (size[1], size[0]))
                im.load()
                if im.format in ("JPEG", "MPO") or "exif" in im.info:  # only these carry EXIF here
                    im = ImageOps.exif_transpose(im)
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
                if im.mode in ("I", "I;16", "I;16L", "I;16B", "F"):
                    im = _wide_to_l(im)
                return im if im.mode == pil_mode else im.convert(pil_mode)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageReadError(_reason(e)) from None


def _wide_to_l(im: Image.Image) -> Image.Image:
    """16-bit or float grey to 8 bits (Pillow's own conversion clips instead of scaling)."""
    a = np.asarray(im, dtype=np.float32)
    top = 1.0 if im.mode == "F" else (65535.0 if a.max() > 255 else 255.0)
    return Image.fromarray(np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")


def fit_picture(im: Image.Image, size: tuple[int, int], fit: str = "pad") -> np.ndarray:
    """Resize ``im`` to ``size`` (H, W) by ``fit`` ("pad" or "crop").

    Shapes: -> (H, W) uint8 for an "L" image, (H, W, 3) for "RGB".
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    height, width = size
    w0, h0 = im.size
    if (h0, w0) == (height, width):
        return np.asarray(im)
    if fit == "crop":
        scale = max(height / h0, width / w0)
        w1, h1 = max(width, round(w0 * scale)), max(height, round(h0 * scale))
        left, top = (w1 - width) // 2, (h1 - height) // 2
        resized = im.resize((w1, h1), RESAMPLE, reducing_gap=3.0)
        return np.asarray(resized.crop((left, top, left + width, top + height)))
    scale = min(height / h0, width / w0)
    w1, h1 = min(width, max(1, round(w0 * scale))), min(height, max(1, round(h0 * scale)))
    small = np.asarray(im.resize((w1, h1), RESAMPLE, reducing_gap=3.0))
    out = np.empty((height, width) + small.shape[2:], np.uint8)
    out[...] = border_colour(small)
    top, left = (height - h1) // 2, (width - w1) // 2
    out[top : top + h1, left : left + w1] = small
    return out


def border_colour(a: np.ndarray) -> np.ndarray:
    """Median colour of the outermost pixels of (H, W) or (H, W, C) ``a``: () or (C,) uint8."""
    edge = np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])
    return np.median(edge, axis=0).astype(np.uint8)


def has_colour(rgb: np.ndarray) -> bool:
    """Whether (..., 3) uint8 ``rgb`` holds more than a trace of colour."""
    spread = rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1)
    return bool(np.count_nonzero(spread > COLOUR_SPREAD) > COLOUR_FRACTION * spread.size)


def to_chw(a: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, H, W); (H, W, C) -> (C, H, W)."""
    return a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)


def grey_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of (..., 3, H, W) uint8, as Pillow's "L" conversion: (..., 1, H, W) uint8."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)[:, None, None]
    luma = (rgb * weights).sum(axis=-3, keepdims=True)
    return np.clip(luma + 0.5, 0, 255).astype(np.uint8)


@dataclass
class DecodedChunk:
    """What a worker hands back for a list of files, in order.

    images: (M, C, H, W) uint8 for the M files that decoded (C = 3 if ``colour`` else 1);
    ok:     (len(files),) bool, which files those are;
    colour: any of them holds colour (only looked at in "auto" mode);
    errors: (file index, reason) for the files that did not decode.
    """

    images: np.ndarray
    ok: np.ndarray
    colour: bool
    errors: list[tuple[int, str]]


def decode_files(paths: list[str], size: tuple[int, int], mode: str, fit: str) -> DecodedChunk:
    """Decode and fit each file; failures are recorded, never raised. Runs in worker processes."""
    arrays, ok, errors, colour = [], np.zeros(len(paths), bool), [], False
    for i, path in enumerate(paths):
        try:
            a = fit_picture(open_picture(path, size, mode), size, fit)
        except (ImageReadError, OSError, ValueError, Image.DecompressionBombError) as e:
            errors.append((i, _reason(e)))
            continue
        if a.ndim == 3 and mode == "auto" and not colour:
            colour = has_colour(a)  # a grey picture stored as RGB does not count
        arrays.append(to_chw(a))
        ok[i] = True
    channels = 3 if (mode == "rgb" or colour) else 1
    images = np.empty((len(arrays), channels, *size), np.uint8)
    for j, a in enumerate(arrays):
        if channels == 3 and a.shape[0] == 1:
            images[j] = a  # broadcasts grey to all three channels
        elif channels == 1 and a.shape[0] == 3:
            images[j] = grey_from_rgb(a)
        else:
            images[j] = a
    return DecodedChunk(images, ok, colour, errors)
