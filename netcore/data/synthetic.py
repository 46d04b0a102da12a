"""Two-dimensional toy sets for watching a small network draw its decision boundary.

Every ``make_*`` returns ``x`` float32 (n, 2) and ``y`` int64 (n,) with balanced classes,
built from ``np.random.default_rng(seed)`` alone. ``noise`` is the standard deviation of the
Gaussian jitter added to each coordinate; the sets span roughly [-1, 1] (blobs about [-3, 3]).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from netcore.data.dataset import DataError, Dataset
from netcore.data.split import train_test_split

Arrays = tuple[np.ndarray, np.ndarray]


MAX_SAMPLES_ENV = "NETCORE_MAX_SAMPLES"
DEFAULT_MAX_SAMPLES = 10_000_000  # 2 features: 80 MB of float32 (more while generating)


def max_samples() -> int:
    """The most samples a toy set may have (``NETCORE_MAX_SAMPLES``, default 10,000,000)."""
    return int(float(os.environ.get(MAX_SAMPLES_ENV) or DEFAULT_MAX_SAMPLES))


def _check(n: int, noise: float, classes: int = 2) -> None:
    if not isinstance(classes, int | np.integer) or isinstance(classes, bool) or classes < 2:
        raise DataError(f"classes must be an integer >= 2, got {classes!r}")
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < classes:
        raise DataError(f"n must be an integer >= {classes} (one sample per class), got {n!r}")
    if n > max_samples():
        raise DataError(
            f"n (samples) is {n:,}, more than the limit of {max_samples():,} "
            f"(set {MAX_SAMPLES_ENV} to raise it)"
        )
    if not (isinstance(noise, int | float | np.floating) and math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a finite number >= 0, got {noise!r}")


def _balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n, dtype=np.int64) % classes)


def _finish(points: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator) -> Arrays:
    if noise > 0:
        points = points + rng.normal(0.0, noise, size=points.shape)
    return points.astype(np.float32), y.astype(np.int64)


def make_xor(n: int = 4, noise: float = 0.0, seed: int = 0) -> Arrays:
    """XOR. n == 4: the classic points (0,0) (0,1) (1,0) (1,1) -> 0 1 1 0 (jittered if noise > 0).

    Otherwise n points spread over the four quadrants, label = (x0 > 0) XOR (x1 > 0) of the
    point before jitter.
    """
    _check(n, noise)
    rng = np.random.default_rng(seed)
    if n == 4:
        points = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
        return _finish(points, np.array([0, 1, 1, 0]), noise, rng)
    quadrant = _balanced_labels(n, 4, rng)
    signs = np.stack([quadrant & 1, quadrant >> 1], axis=1) * 2 - 1  # (n, 2) of +-1
    points = signs * rng.uniform(0.1, 1.0, size=(n, 2))
    y = (signs[:, 0] > 0) ^ (signs[:, 1] > 0)
    return _finish(points, y, noise, rng)


def make_spirals(
    n: int = 300, noise: float = 0.05, classes: int = 2, seed: int = 0, turns: float = 1.5
) -> Arrays:
    """``classes`` interleaved spiral arms: radius t, angle 2 pi (turns t + k / classes), t in [0, 1]."""
    _check(n, noise, classes)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, classes, rng)
    t = np.sqrt(rng.uniform(0.0025, 1.0, size=n))  # sqrt: even density along the arm
    angle = 2 * np.pi * (turns * t + y / classes)
    points = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(points, y, noise, rng)


def make_circles(n: int = 300, noise: float = 0.05, seed: int = 0, factor: float = 0.5) -> Arrays:
    """Two concentric circles: label 0 on radius 1, label 1 on radius ``factor``."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, 2, rng)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    radius = np.where(y == 0, 1.0, factor)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(points, y, noise, rng)


def make_moons(n: int = 300, noise: float = 0.1, seed: int = 0) -> Arrays:
    """Two interleaving half circles (label 0 upper, label 1 lower), centred on the origin."""
    _check(n, noise)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    points = np.where((y == 0)[:, None], upper, lower) - [0.5, 0.25]
    return _finish(points, y, noise, rng)


def make_blobs(n: int = 300, noise: float = 0.5, classes: int = 3, seed: int = 0) -> Arrays:
    """``classes`` Gaussian clusters (std ``noise``) centred evenly on a circle of radius 2."""
    _check(n, noise, classes)
    rng = np.random.default_rng(seed)
    y = _balanced_labels(n, classes, rng)
    angle = rng.uniform(0.0, 2 * np.pi) + 2 * np.pi * np.arange(classes) / classes
    centers = 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(centers[y], y, noise, rng)


MAKERS: dict[str, Callable[..., Arrays]] = {
    "xor": make_xor,
    "spirals": make_spirals,
    "circles": make_circles,
    "moons": make_moons,
    "blobs": make_blobs,
}
MULTICLASS = ("spirals", "blobs")


def load_synthetic(
    name: str,
    n: int | None = None,
    noise: float | None = None,
    test_ratio: float = 0.3,
    seed: int = 0,
    classes: int = 2,
) -> Dataset:
    """A toy set as a ``Dataset``; ``n`` and ``noise`` default to the maker's defaults.

    XOR with 4 points is returned as both train and test: four points cannot be split.
    """
    maker = MAKERS.get(name)
    if maker is None:
        raise DataError(f"unknown synthetic set {name!r}; choose one of {', '.join(MAKERS)}")
    kwargs: dict = {"seed": seed}
    if n is not None:
        kwargs["n"] = n
    if noise is not None:
        kwargs["noise"] = noise
    if name in MULTICLASS:
        kwargs["classes"] = classes
    elif classes != 2:
        multi = " and ".join(MULTICLASS)
        raise DataError(f"{name} has 2 classes; the classes option only applies to {multi}")
    x, y = maker(**kwargs)
    if name == "xor" and len(x) == 4:
        parts = (x, y, x.copy(), y.copy())
    else:
        # A stream separate from the one that drew the points.
        parts = train_test_split(x, y, test_ratio, np.random.default_rng([seed, 1]))
    return Dataset(name, *parts, task="classification", class_names=[str(k) for k in range(classes)])
