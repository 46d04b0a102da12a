"""Reading one drawn or photographed digit with a network: the pad's and ``netcore predict``'s path."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from netcore.network import Network
from netcore.preprocess import preprocess_digit
from netcore.shapes import format_shape

DIGIT_SHAPES = ((784,), (1, 28, 28), (28, 28))
SIDE = 28


@dataclass(frozen=True)
class Reading:
    """What the network reads. ``label`` is None when there is nothing to read or it is unsure."""

    label: int | None
    probabilities: np.ndarray  # (K,); empty when nothing was read
    image: np.ndarray | None  # the 28x28 image the network received, 0..1
    reason: str | None  # why there is no label ("nothing to read: ..."), else None
    stages: dict
    answers: dict = field(default_factory=dict)  # stage -> (label, probability), see stage_predictions

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


def as_network_input(image: np.ndarray) -> np.ndarray:
    """A stage image (h, w, 0..1 ink) as a 28x28 frame, the way a naive pipeline would feed it.

    Images that fit are pasted in the middle unscaled; larger ones are padded to a square and
    shrunk to 28x28 (anti-aliased), keeping the aspect ratio.
    """
    h, w = image.shape
    if max(h, w) > SIDE:
        side = max(h, w)
        square = np.zeros((side, side), np.float32)
        top, left = (side - h) // 2, (side - w) // 2
        square[top : top + h, left : left + w] = image
        pil = Image.fromarray(square).resize((SIDE, SIDE), Image.Resampling.BOX)
        return np.clip(np.asarray(pil, dtype=np.float32), 0.0, 1.0)
    out = np.zeros((SIDE, SIDE), np.float32)
    top, left = (SIDE - h) // 2, (SIDE - w) // 2
    out[top : top + h, left : left + w] = image
    return out


def stage_predictions(network: Network, stages: dict[str, np.ndarray]) -> dict[str, tuple[int, float]]:
    """(label, probability) for every stage but "raw", each fed as ``as_network_input`` makes it."""
    names = [name for name in stages if name != "raw"]
    if not names or digit_input_problem(network) is not None:
        return {}
    x = np.stack([as_network_input(stages[name]) for name in names])
    probs = network.predict_proba(x.reshape((len(names),) + network.input_shape).astype(network.dtype))
    return {name: (int(p.argmax()), float(p.max())) for name, p in zip(names, probs, strict=True)}


class DigitReader:
    """Reads pad images with one network: what the window hands the digit pad.

    ``read`` returns a Reading; with ``stages=True`` it also answers for every preprocessing
    stage (``Reading.answers``). Use it from one thread (the network keeps its forward buffers).
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.problem = digit_input_problem(network)

    def read(
        self, image: np.ndarray, min_confidence: float = 0.0, stages: bool = False, **options
    ) -> Reading:
        reading = classify_image(self.network, image, min_confidence, **options)
        if stages and reading.image is not None:  # stages without a digit get no answers
            answers = stage_predictions(self.network, dict(reading.stages))
            reading = Reading(
                reading.label, reading.probabilities, reading.image, reading.reason, reading.stages, answers
            )
        return reading


def pick_digit(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, network: Network | None = None
) -> tuple[int, int | None]:
    """A random sample index; with ``network``, one it misreads: ``(index, what it says)``.

    Shapes: x (N, ...) matching the network's input, y (N,). ValueError when it misreads none.
    """
    if network is None:
        return int(rng.integers(len(x))), None
    guesses = network.predict(x.reshape((len(x),) + network.input_shape)).argmax(axis=1)
    wrong = np.flatnonzero(guesses != y)
    if wrong.size == 0:
        raise ValueError("the model reads every MNIST test digit correctly: none to show")
    index = int(rng.choice(wrong))
    return index, int(guesses[index])
