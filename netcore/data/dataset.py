"""The in-memory dataset every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netcore.shapes import format_shape


class DataError(ValueError):
    """Data that cannot be read or used; the message says what to do."""


@dataclass
class Dataset:
    """Train and test arrays plus what a model needs to know about them.

    Shapes: x_* (N, *input_shape) float32; y_* (N,) int64 class labels for
    classification, (N,) or (N, T) float32 targets for regression.
    ``preprocessing`` records how raw values were scaled (saved with the model),
    e.g. {"scale": 1/255} or {"mean": [...], "std": [...]}.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"  # or "regression"
    class_names: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        kind = f"{self.num_classes} classes" if self.task == "classification" else "regression"
        return (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_test)} test, "
            f"input {format_shape(self.input_shape)}, {kind}"
        )
