"""Atomic file writes: a temporary file beside the target, then a rename.

A reader never sees a half-written file, and a write that fails (full disk,
cancelled download, bad data) leaves the previous file as it was.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

# mkstemp creates files readable by the owner only; saved files should get the
# permissions any other file would (0666 less the umask). Read once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)
# A ".<name>.*.part" file untouched this long is left over from a killed save, not one in progress
# (a writer touches its file with every write; only the final fsync and rename follow).
STALE_PART_SECONDS = 60.0


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_writer(p) as f: f.write(...)`` replaces ``p`` only if the block succeeds."""
    path = Path(path)
    remove_stale_parts(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if hasattr(os, "fchmod"):  # absent on Windows before 3.13, where mkstemp's mode is no issue
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as f:
        f.write(data)


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files an earlier, killed save of ``path`` left behind; returns them."""
    path = Path(path)
    removed = []
    try:
        candidates = list(path.parent.glob(f".{path.name}.*.part"))
    except OSError:
        return removed
    now = time.time()
    for part in candidates:
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
                removed.append(part)
        except OSError:
            pass  # gone already, or not ours to delete
    return removed


def cannot_write(path: str | os.PathLike) -> str | None:
    """Why ``path`` could not be saved to (checked before long work), or None if it can.

    Tries what a save does: create a temporary file in the folder, then remove it.
    """
    text = os.fspath(path)
    if not text.strip():
        return "an empty file name"
    path = Path(text)
    if path.is_dir():
        return f"{path} is a folder, not a file name"
    folder = path.parent
    if not folder.is_dir():
        return f"cannot write {path}: folder {folder} does not exist"
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)
    return None


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, so it is valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value
