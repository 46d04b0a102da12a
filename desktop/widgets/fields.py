"""The training panel's number fields: what each does, its usual range, what it accepts.

A field takes any number the user types (its box's range is wide on purpose, so nothing is
clamped or rounded behind the user's back); ``check`` says why a value is refused, and
``mark`` paints the box's frame red with that reason as its tooltip.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from PySide6.QtWidgets import QAbstractSpinBox

from netcore.data.synthetic import MAKERS


@dataclass(frozen=True)
class Field:
    label: str
    low: float
    high: float
    tip: str  # what it does and its usual range
    low_open: bool = False  # the low bound itself is refused (a learning rate of 0)

    def check(self, value: float) -> str | None:
        """None when ``value`` is accepted, else one line naming the field and its limits."""
        too_low = value <= self.low if self.low_open else value < self.low
        if too_low or value > self.high:
            low = f"above {self.low:g}" if self.low_open else f"at least {self.low:g}"
            return f"{self.label} must be {low} and at most {self.high:g}, got {value:g}"
        return None


FIELDS: dict[str, Field] = {
    "noise": Field(
        "Noise", 0.0, 2.0,
        "Random jitter added to a synthetic dataset's points (0: exact points). Usual: 0-0.3.",
    ),
    "samples": Field(
        "Samples", 4, 100_000,
        "How many points a synthetic dataset has. Usual: 200-2,000; XOR with 4 is the "
        "classic four corners (its test set is then the same four points).",
    ),
    "test_ratio": Field(
        "Test ratio", 0.05, 0.9,
        "Share of the points kept apart to measure the trained model on (never trained on). "
        "Usual: 0.2-0.3.",
    ),
    "val_split": Field(
        "Validation split", 0.0, 0.5,
        "Share of the training samples held out and scored after every epoch (the orange "
        "curves), to see overfitting as it happens. Usual: 0 or 0.1.",
    ),
    "lr": Field(
        "Learning rate", 0.0, 10.0,
        "How big a step each batch takes against the gradient. Too high: the loss jumps or "
        "grows; too low: it barely moves. Usual: 0.0001-0.01 for Adam, 0.01-1 for SGD. "
        "Can be changed while training.",
        low_open=True,
    ),
    "batch_size": Field(
        "Batch size", 1, 60_000,
        "Samples per gradient step: 1 is stochastic, the whole set is full batch. Larger "
        "batches run faster per sample but take fewer steps. Usual: 32-128. Can be changed "
        "while training.",
    ),
    "epochs": Field(
        "Epochs", 1, 100_000,
        "How many passes over the training set one Train makes (Step makes one). Usual: "
        "3-20 for MNIST, a few thousand for XOR.",
    ),
    "l2": Field(
        "L2", 0.0, 1.0,
        "Weight decay: adds 0.5·L2·Σw² to the loss, pulling weights towards 0 against "
        "overfitting. Usual: 0 or 0.0001-0.001.",
    ),
    "seed": Field(
        "Seed", 0, 2**31 - 1,
        "Starts the random numbers (initial weights, shuffling, synthetic points): the same "
        "seed and settings give the same run.",
    ),
}  # fmt: skip

COMBO_TIPS = {
    "dataset": "What the network learns from. XOR, spirals, circles, moons and blobs are 2-D "
    "point sets drawn on the fly; MNIST is 70,000 handwritten digits (28x28); File ▸ Import adds "
    "an IDX folder or a CSV table.",
    "augment": "Random shifts, rotations and scaling of the training images each epoch (images "
    "only): light for a few more tenths of a percent, strong for hand-drawn digits; off is fastest.",
    "optimizer": "How gradients become steps: sgd (plain), momentum / nesterov (a running "
    "direction), rmsprop, adam (per-weight step sizes; the usual first choice), adamw (adam with "
    "decoupled weight decay).",
    "schedule": "How the learning rate changes over the planned epochs: constant, or decayed "
    "(cosine, step, ...) towards the end for a finer final result.",
}

INVALID_STYLE = "QAbstractSpinBox { border: 2px solid #dc2626; border-radius: 3px; background: #fef2f2; }"


def mark(box: QAbstractSpinBox, problem: str | None, tip: str) -> None:
    """A red frame with ``problem`` as the tooltip, or the normal look with ``tip``."""
    box.setStyleSheet(INVALID_STYLE if problem else "")
    box.setToolTip(f"<b>{problem}</b><br>{tip}" if problem else tip)


def synthetic_defaults(name: str) -> dict[str, float]:
    """The loader's own ``n`` and ``noise`` for a synthetic dataset (XOR: the four corners)."""
    params = inspect.signature(MAKERS[name]).parameters
    return {key: params[key].default for key in ("n", "noise") if key in params}
