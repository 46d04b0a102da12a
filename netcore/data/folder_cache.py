"""The decoded-image cache of the folder loader: one ``.npz`` per folder and decoding recipe.

A cache file holds the fitted uint8 images, their labels and file names, the skipped files and
the recipe, under ``<data_dir>/image-folders/<key>.npz``. The key hashes the folder's file list
with every file's size and modification time, and the options that change the decoded pixels,
so editing, adding or removing a picture (or asking for another size) decodes afresh. Files are
written atomically and read with ``allow_pickle=False``; a damaged or foreign file is ignored.
Only the newest ``KEEP`` files are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netcore.files import atomic_writer

CACHE_FORMAT = 1
SUBFOLDER = "image-folders"
KEEP = 8


@dataclass
class Decoded:
    """A decoded folder, before the train/test split and scaling.

    Shapes: images (N, C, H, W) uint8; labels (N,) int64; in_test (N,) bool (from a test/
    folder); files (N,) relative paths. ``skipped`` pairs a relative path with the reason.
    ``meta`` holds the recipe ("size", "channels", "fit") and "notes".
    """

    images: np.ndarray
    labels: np.ndarray
    in_test: np.ndarray
    files: list[str]
    class_names: list[str]
    skipped: list[tuple[str, str]]
    meta: dict[str, Any]


def cache_key(fingerprint: str, options: dict[str, Any]) -> str:
    """sha256 of the folder fingerprint and the decoding options (JSON, sorted keys)."""
    text = json.dumps({"format": CACHE_FORMAT, "files": fingerprint, "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(cache_dir: str | os.PathLike, key: str) -> Path:
    return Path(cache_dir) / SUBFOLDER / f"{key[:40]}.npz"


def _text(values: list[str]) -> np.ndarray:
    # a fixed-width unicode array; np.array([]) would be float
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="<U1")


def write_cache(path: Path, key: str, decoded: Decoded) -> bool:
    """Store ``decoded`` atomically; False (nothing written) if the folder is not writable."""
    header = {"format": CACHE_FORMAT, "key": key, "meta": decoded.meta}
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8),
        "images": decoded.images,
        "labels": decoded.labels,
        "in_test": decoded.in_test,
        "files": _text(decoded.files),
        "class_names": _text(decoded.class_names),
        "skipped_files": _text([f for f, _ in decoded.skipped]),
        "skipped_reasons": _text([r for _, r in decoded.skipped]),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path) as f:
            np.savez(f, **arrays)
    except OSError:
        return False
    _prune(path.parent)
    return True


def read_cache(path: Path, key: str) -> Decoded | None:
    """The cached decoding for ``key``, or None if absent, damaged or for another key."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode("utf-8"))
            if header.get("format") != CACHE_FORMAT or header.get("key") != key:
                return None
            decoded = Decoded(
                images=npz["images"],
                labels=npz["labels"].astype(np.int64, copy=False),
                in_test=npz["in_test"].astype(bool, copy=False),
                files=npz["files"].tolist(),
                class_names=npz["class_names"].tolist(),
                skipped=list(
                    zip(npz["skipped_files"].tolist(), npz["skipped_reasons"].tolist(), strict=True)
                ),
                meta=dict(header["meta"]),
            )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
    n = len(decoded.images)
    if (
        decoded.images.dtype != np.uint8
        or decoded.images.ndim != 4
        or not (len(decoded.labels) == len(decoded.in_test) == len(decoded.files) == n)
    ):
        return None
    os.utime(path)  # most recently used: kept longest
    return decoded


def _prune(folder: Path) -> None:
    """Delete all but the ``KEEP`` most recently used cache files."""
    try:
        entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
