"""A few pictures per class with the class names and counts: what a preview grid draws.

``preview_folder`` decodes only the pictures it shows (fast, before the whole folder is
loaded); ``preview_dataset`` takes them from a loaded set, undoing its standardisation.
No Qt here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from netcore.data.dataset import Dataset
from netcore.data.folder import auto_size, check_choice, parse_size, sample_headers, scan_folder
from netcore.data.images import FITS, MODES, decode_files


@dataclass(frozen=True)
class Preview:
    """images (K, P, C, H, W) float32 in 0..1; filled (K, P) bool (a class with fewer than P
    pictures leaves the rest empty); counts (K,) int64 pictures per class (train + test)."""

    class_names: list[str]
    counts: np.ndarray
    images: np.ndarray
    filled: np.ndarray


def preview_folder(
    path: str | os.PathLike,
    per_class: int = 8,
    size: int | str | tuple[int, int] | None = None,
    mode: str = "auto",
    fit: str = "pad",
) -> Preview:
    """The first decodable ``per_class`` pictures of each class, fitted as ``load_folder`` would
    (same size rule and fit; "auto" mode shows colour as found). DataError if not a class folder."""
    mode, fit = check_choice("mode", mode, MODES), check_choice("fit", fit, FITS)
    listing = scan_folder(path)
    wanted = parse_size(size)
    if wanted is None:
        wanted = auto_size(sample_headers(listing)[0])
    k = len(listing.class_names)
    images = np.zeros((k, per_class, 3 if mode != "grey" else 1, *wanted), np.float32)
    filled = np.zeros((k, per_class), bool)
    for c in range(k):
        members = np.flatnonzero(listing.labels == c)
        start = 0
        while filled[c].sum() < per_class and start < len(members):
            take = members[start : start + 2 * per_class]
            start += len(take)
            chunk = decode_files([str(listing.root / listing.files[i]) for i in take], wanted, mode, fit)
            for picture in chunk.images:
                slot = int(filled[c].sum())
                if slot == per_class:
                    break
                images[c, slot] = picture / 255.0  # grey broadcasts over RGB
                filled[c, slot] = True
    if mode == "auto" and images.shape[2] == 3 and _all_grey(images):
        images = images[:, :, :1]
    return Preview(list(listing.class_names), listing.counts(), images, filled)


def _all_grey(images: np.ndarray) -> bool:
    return bool(np.all(images[:, :, 0] == images[:, :, 1]) and np.all(images[:, :, 0] == images[:, :, 2]))


def preview_dataset(data: Dataset, per_class: int = 8) -> Preview:
    """The first ``per_class`` training images of each class of a loaded image set, in 0..1."""
    from netcore.image_model import to_display

    x, y = data.x_train, data.y_train
    k = data.num_classes
    images = np.zeros((k, per_class, *x.shape[1:]), np.float32)
    filled = np.zeros((k, per_class), bool)
    for c in range(k):
        members = np.flatnonzero(y == c)[:per_class]
        images[c, : len(members)] = to_display(x[members], data.preprocessing)
        filled[c, : len(members)] = True
    counts = np.bincount(y, minlength=k) + np.bincount(data.y_test, minlength=k)
    return Preview(list(data.class_names), counts.astype(np.int64), images, filled)
