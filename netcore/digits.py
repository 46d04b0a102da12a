"""Reading one drawn or photographed digit with a network: the pad's and ``netcore predict``'s path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.network import Network
from netcore.preprocess import preprocess_digit
from netcore.shapes import format_shape

DIGIT_SHAPES = ((784,), (1, 28, 28), (28, 28))


@dataclass(frozen=True)
class Reading:
    """What the network reads. ``label`` is None when there is nothing to read or it is unsure."""

    label: int | None
    probabilities: np.ndarray  # (K,); empty when nothing was read
    image: np.ndarray | None  # the 28x28 image the network received, 0..1
    reason: str | None  # why there is no label ("nothing to read: ..."), else None
    stages: dict

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max()) if self.probabilities.size else 0.0


def digit_input_problem(network: Network) -> str | None:
    """Why ``network`` cannot read a 28x28 digit, or None if it can."""
    if network.input_shape not in DIGIT_SHAPES:
        return f"this network takes {format_shape(network.input_shape)} inputs; the pad needs one that takes 784 or 1x28x28"
    if not network.is_classifier:
        return "this network does regression; the pad needs a classifier"
    return None


def classify_image(network: Network, image: np.ndarray, min_confidence: float = 0.0, **options) -> Reading:
    """Preprocess ``image`` (2-D, any size, either polarity) MNIST-style and classify it.

    ``options`` go to ``preprocess_digit`` (stage toggles). Below ``min_confidence``
    the reading keeps its probabilities but has no label and says it is unsure.
    """
    problem = digit_input_problem(network)
    if problem:
        return Reading(None, np.zeros(0), None, problem, {})
    prepared = preprocess_digit(image, **options)
    if prepared.image is None:
        return Reading(None, np.zeros(0), None, prepared.reason, prepared.stages)
    x = prepared.image.reshape((1,) + network.input_shape).astype(network.dtype)
    probabilities = network.predict_proba(x)[0]
    label = int(probabilities.argmax())
    if probabilities[label] < min_confidence:
        return Reading(
            None,
            probabilities,
            prepared.image,
            f"unsure: best guess {label} at {probabilities[label]:.0%}",
            prepared.stages,
        )
    return Reading(label, probabilities, prepared.image, None, prepared.stages)
