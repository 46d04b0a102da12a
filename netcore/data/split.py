"""Shuffled train/test and train/validation splits, and feature standardisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.data.dataset import DataError


def _check_pair(x: np.ndarray, y: np.ndarray) -> int:
    if len(x) != len(y):
        raise DataError(f"x and y disagree on the number of samples: {len(x)} vs {len(y)}")
    return len(x)


def train_test_split(
    x: np.ndarray, y: np.ndarray, test_ratio: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into ``(x_train, y_train, x_test, y_test)``.

    The test part gets ``round(N * test_ratio)`` samples, at least 1 and at most N - 1.

    Shapes: x (N, ...), y (N, ...) -> x_train (N - T, ...), ..., y_test (T, ...).
    """
    n = _check_pair(x, y)
    if not 0.0 < test_ratio < 1.0:
        raise DataError(f"test_ratio must be between 0 and 1 (exclusive), got {test_ratio!r}")
    if n < 2:
        raise DataError(f"need at least 2 samples to split into train and test, got {n}")
    n_test = min(max(round(n * test_ratio), 1), n - 1)
    return _split(x, y, n_test, rng)


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a shuffled ``fraction`` of the training data: ``(x_tr, y_tr, x_val, y_val)``.

    ``fraction == 0`` returns the data unchanged and empty validation arrays.
    """
    n = _check_pair(x, y)
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {fraction!r}")
    if fraction == 0.0:
        return x, y, x[:0], y[:0]
    if n < 2:
        raise DataError(f"need at least 2 samples to hold out a validation part, got {n}")
    n_val = min(max(round(n * fraction), 1), n - 1)
    return _split(x, y, n_val, rng)


def _split(x, y, n_held: int, rng: np.random.Generator):
    perm = rng.permutation(len(x))
    held, kept = perm[:n_held], perm[n_held:]
    x_kept, y_kept = np.take(x, kept, axis=0), np.take(y, kept, axis=0)
    x_held, y_held = np.take(x, held, axis=0), np.take(y, held, axis=0)
    return x_kept, y_kept, x_held, y_held


def standardize(x_train: np.ndarray, *x_other: np.ndarray) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """Scale each feature to zero mean and unit variance using statistics of ``x_train`` only.

    x' = (x - mean) / std, with std = 1 for constant features. Returns the scaled arrays in the
    order given and ``{"mean": [...], "std": [...]}`` (plain lists, ready for JSON).

    Shapes: x_train (N, D), each x_other (M, D); mean and std have D entries.
    """
    x_train = np.asarray(x_train, dtype=np.float32)
    if len(x_train) == 0:
        raise DataError("cannot standardize: the training part is empty")
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    std[std < 1e-12] = 1.0
    stats = {"mean": mean.tolist(), "std": std.tolist()}
    scaled = tuple(apply_standardization(x, stats) for x in (x_train, *x_other))
    return scaled, stats


def apply_standardization(x: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """(x - mean) / std with the statistics ``standardize`` returned, as float32."""
    mean = np.asarray(stats["mean"], dtype=np.float32)
    std = np.asarray(stats["std"], dtype=np.float32)
    out = np.subtract(x, mean, dtype=np.float32)
    out /= std
    return out
