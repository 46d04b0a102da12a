"""Reading pictures: an image file or an array in any common format -> (H, W) float32 gray 0..1."""

from __future__ import annotations

import math
import os
from os import PathLike

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

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
