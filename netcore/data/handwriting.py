"""The "my handwriting" set: the user's own labelled digits, kept on disk as 28x28 PNGs.

Layout: ``<handwriting_dir>/<label>/<timestamp>.png``, one grayscale image per sample, ink = white
(255), exactly the preprocessed image the network saw when the sample was saved. Files are written
under a temporary name and renamed into place, so a crash never leaves half a PNG behind.

No Qt here: the window, the CLI or a notebook read the same set.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image, UnidentifiedImageError

from netcore.data.dataset import DataError, Dataset
from netcore.files import atomic_writer

SIDE = 28
LABELS = range(10)


def handwriting_dir() -> Path:
    """``$NETCORE_HANDWRITING_DIR`` if set, else ``<user data dir of netcore>/handwriting``."""
    env = os.environ.get("NETCORE_HANDWRITING_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("netcore")) / "handwriting"


def _root(directory: str | os.PathLike | None) -> Path:
    return Path(directory) if directory is not None else handwriting_dir()


def save_sample(image28: np.ndarray, label: int, directory: str | os.PathLike | None = None) -> Path:
    """Write one sample as ``<directory>/<label>/<timestamp>.png`` and return its path.

    image28: (28, 28) floats in 0..1, 1 = ink (``Reading.image``); label: a digit 0..9.
    """
    a = np.asarray(image28)
    if a.shape != (SIDE, SIDE):
        raise ValueError(f"image28 must have shape (28, 28), got {a.shape}")
    if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
        raise ValueError(f"image28 must hold finite floats in 0..1, got dtype {a.dtype}")
    if isinstance(label, bool) or int(label) != label or int(label) not in LABELS:
        raise ValueError(f"label must be a digit 0..9, got {label!r}")
    folder = _root(directory) / str(int(label))
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.rint(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{stamp}.png"
    n = 1
    while target.exists():  # two saves within the same microsecond
        target = folder / f"{stamp}-{n}.png"
        n += 1
    with atomic_writer(target) as f:
        Image.fromarray(pixels).save(f, format="PNG")
    return target


def _sample_files(root: Path) -> list[tuple[Path, int]]:
    files = []
    for label in LABELS:
        folder = root / str(label)
        if folder.is_dir():
            files.extend((p, label) for p in sorted(folder.glob("*.png")) if p.is_file())
    return files


def load_samples(directory: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every saved sample: x (N, 1, 28, 28) float32 in 0..1 and y (N,) int64.

    A missing folder gives N = 0. Files that are not 28x28 images (a half-copied file, a
    picture dropped in by hand at another size) are skipped rather than failing the whole set.
    """
    images, labels = [], []
    for path, label in _sample_files(_root(directory)):
        try:
            with Image.open(path) as im:
                pixels = np.asarray(im.convert("L"), dtype=np.float32)
        except (OSError, UnidentifiedImageError, SyntaxError):
            continue
        if pixels.shape != (SIDE, SIDE):
            continue
        images.append(pixels * np.float32(1 / 255))
        labels.append(label)
    x = np.stack(images)[:, None] if images else np.zeros((0, 1, SIDE, SIDE), np.float32)
    return x.astype(np.float32, copy=False), np.asarray(labels, dtype=np.int64)


def count_samples(directory: str | os.PathLike | None = None) -> int:
    """How many sample files the set holds (without decoding them)."""
    return len(_sample_files(_root(directory)))


MNIST_WITH_HANDWRITING = "mnist+handwriting"
HANDWRITING_REPEAT = 50  # a few dozen own samples must weigh something against 60,000
HELD_OUT = 0.25  # of the user's samples, kept out of training to measure on


def held_out_count(n: int, fraction: float = HELD_OUT) -> int:
    """How many of ``n`` own samples to hold out: at least one when there are two or more."""
    return 0 if n < 2 else min(max(round(n * fraction), 1), n - 1)


def with_handwriting(
    mnist: Dataset,
    directory: str | os.PathLike | None = None,
    repeat: int = HANDWRITING_REPEAT,
    held_out: float = HELD_OUT,
    seed: int = 0,
) -> Dataset:
    """MNIST's training set plus most of the user's samples (each repeated ``repeat`` times).

    The test split is the user's samples held out of training (a shuffled ``held_out``
    fraction, at least one of two or more), so the figures after fine-tuning say how well the
    network reads this person's *new* digits. Raises DataError when there are none.
    """
    x, y = load_samples(directory)
    if len(x) == 0:
        raise DataError(
            "there are no saved handwriting samples yet: draw digits and use 'Save to my handwriting'"
        )
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = held_out_count(len(x), held_out)
    test, train = order[:n_test], order[n_test:]
    x_train = np.concatenate([mnist.x_train, np.repeat(x[train], repeat, axis=0)])
    y_train = np.concatenate([mnist.y_train, np.repeat(y[train], repeat)])
    return Dataset(
        MNIST_WITH_HANDWRITING,
        x_train,
        y_train,
        x[test],
        y[test],
        "classification",
        list(mnist.class_names),
        dict(mnist.preprocessing),
    )
