"""A saved model's own preprocessing, applied to new data as it was to the training data.

Like a fitted scikit-learn transformer, what was learnt from the training table travels in the
model file (``SavedModel.preprocessing`` and ``class_names``): the feature columns by name, their
mean and std, the image scale, and the class names. ``evaluate``, ``predict``, the window and the
exports all go through these functions, so a model never sees unscaled numbers or labels numbered
differently from the ones it learnt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netcore.data.csv import Progress, read_table
from netcore.data.dataset import DataError


@dataclass
class Rows:
    """Rows of a table ready for a model. Shapes: x (N, D) float32; y (N,) int64, (N,) float32
    for regression, or None when the file has no label column."""

    x: np.ndarray
    y: np.ndarray | None
    features: list[str]


def apply_preprocessing(model: Any, x: np.ndarray) -> np.ndarray:
    """Scale raw inputs the way the model's training data was: ``(x - mean) / std`` for a
    standardised table, ``x * scale`` for images; float32 either way.

    ``model`` is a ``SavedModel`` (or anything with a ``preprocessing`` dict).
    Shapes: x (N, D) for a table, (N, *input_shape) for images -> same shape.
    """
    prep = getattr(model, "preprocessing", None) or {}
    if "mean" in prep or "std" in prep:
        mean = np.asarray(prep.get("mean"), dtype=np.float32)
        std = np.asarray(prep.get("std"), dtype=np.float32)
        x = np.asarray(x)
        d = x.shape[-1] if x.ndim else 0
        if mean.shape != (d,) or std.shape != (d,):
            raise DataError(
                f"the model's preprocessing has {mean.size} means and {std.size} stds for {d} input columns"
            )
        out = np.subtract(x, mean, dtype=np.float32)
        out /= std
        return out
    scale = prep.get("scale")
    if scale is not None and scale != 1:
        return np.multiply(x, np.float32(scale), dtype=np.float32)
    return np.asarray(x, dtype=np.float32)


def map_labels(model: Any, labels: Sequence[str] | np.ndarray, column: str = "label") -> np.ndarray:
    """Class indices (N,) int64 of ``labels`` by the model's saved class names.

    "2" and "2.0" are the same class when the names are numbers; a class the data lacks is
    fine; a label the model never learnt is a DataError naming it.
    """
    names = list(getattr(model, "class_names", None) or [])
    if not names:
        raise DataError("the model has no class names to map labels through")
    index = {name: k for k, name in enumerate(names)}
    values, inverse = np.unique(np.asarray(labels), return_inverse=True)
    classes = np.empty(len(values), dtype=np.int64)
    for j, label in enumerate(values.tolist()):
        k = _class_of(label, index)
        if k is None:
            row = int(np.flatnonzero(inverse == j)[0]) + 1
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise DataError(f"{column} {_text(label)!r} (row {row}) is not a class the model knows ({shown})")
        classes[j] = k
    return classes[inverse.reshape(-1)]


def _text(label: Any) -> str:
    if isinstance(label, float | np.floating) and float(label).is_integer():
        return str(int(label))
    return str(label)


def _class_of(label: Any, index: dict[str, int]) -> int | None:
    text = str(label).strip()
    if text in index:
        return index[text]
    try:
        value = float(text)
    except ValueError:
        return None
    if value.is_integer():
        return index.get(str(int(value)))
    return index.get(str(value))


def read_rows(
    model: Any,
    path: str | os.PathLike,
    labels: bool = True,
    progress: Progress | None = None,
) -> Rows:
    """The rows of a CSV file as the model takes them: its feature columns (by name, in its
    order; other columns ignored) scaled by its statistics, and with ``labels`` its label
    column mapped through its class names (regression: the numbers)."""
    prep = model.preprocessing
    features = prep.get("features")
    if not features:
        raise DataError("the model was not trained on a table (no feature columns saved)")
    table = read_table(
        path, label=prep.get("label"), features=list(features), label_required=labels, progress=progress
    )
    x = apply_preprocessing(model, table.x)
    y = None
    if labels:
        if model.network.is_classifier:
            raw = table.label_texts if table.label_texts is not None else table.label_numbers
            y = map_labels(model, raw, f"{path}: column {table.label!r}: label")
        else:
            if table.label_numbers is None:
                raise DataError(f"{path}: column {table.label!r} must hold numbers for a regression model")
            y = table.label_numbers.astype(np.float32)
    return Rows(x, y, table.features)
