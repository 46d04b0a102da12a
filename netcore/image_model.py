"""Classifying any picture with an image model, prepared exactly as its training pictures were.

A model trained on a picture folder carries its recipe in ``preprocessing["image"]``: size,
channels, fit, and the per-channel mean and std. A model without one (an MNIST CNN, say) gets
its input shape's size and channels, the "pad" fit and a plain 0..1 scale.

    reading = classify(model.network, "photo.jpg", model.preprocessing, model.class_names)
    reading.top      # [("cat", 0.91), ("dog", 0.07), ...]
    reading.image    # (C, H, W) float32 0..1: the picture as the network receives it

No Qt here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from netcore.data.images import ImageReadError, fit_picture, open_picture, to_chw
from netcore.network import Network


@dataclass(frozen=True)
class ImageReading:
    """A network's reading of one picture.

    top:           the best ``k`` (class name, probability) pairs, most probable first;
    probabilities: (K,) float, all classes;
    image:         (C, H, W) float32 in 0..1, the fitted picture before standardisation (to show);
    x:             (1, *input_shape) the array the network was given.
    """

    top: list[tuple[str, float]]
    probabilities: np.ndarray
    image: np.ndarray
    x: np.ndarray

    @property
    def label(self) -> int:
        return int(self.probabilities.argmax())


def is_picture_model(network: Network, preprocessing: dict[str, Any] | None = None) -> bool:
    """Whether pictures go to ``network`` through ``classify`` rather than the digit pad's MNIST
    preprocessing: a model trained on a picture folder, or any C x H x W input but 1x28x28."""
    shape = network.input_shape
    return "image" in (preprocessing or {}) or (len(shape) == 3 and shape != (1, 28, 28))


def image_recipe(network: Network, preprocessing: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"size": [H, W], "channels": C, "fit": ..., "mean": [...], "std": [...]} for ``network``.

    ValueError (one line) when the network does not take pictures.
    """
    recipe = dict((preprocessing or {}).get("image") or {})
    shape = network.input_shape
    if not recipe:
        if len(shape) == 3 and shape[0] in (1, 3):
            recipe = {"size": [shape[1], shape[2]], "channels": shape[0], "fit": "pad"}
        elif len(shape) == 2:
            recipe = {"size": list(shape), "channels": 1, "fit": "pad"}
        elif shape == (784,):
            recipe = {"size": [28, 28], "channels": 1, "fit": "pad"}
        else:
            dims = "x".join(map(str, shape))
            raise ValueError(
                f"this network takes {dims} inputs, not pictures (C x H x W with 1 or 3 channels)"
            )
    h, w = recipe["size"]
    if recipe["channels"] * h * w != math.prod(shape):
        raise ValueError(
            f"the model's picture recipe ({recipe['channels']}x{h}x{w}) does not match its input "
            f"{'x'.join(map(str, shape))}"
        )
    return recipe


def prepare(
    picture: str | os.PathLike | np.ndarray | Image.Image, recipe: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """(image (C, H, W) float32 0..1, standardised (C, H, W) float32) for ``recipe``.

    ``picture`` is a file, a Pillow image, or an (H, W) / (H, W, 3) uint8 array.
    """
    size = tuple(recipe["size"])
    mode = "grey" if recipe["channels"] == 1 else "rgb"
    if isinstance(picture, np.ndarray):
        picture = Image.fromarray(np.ascontiguousarray(picture).astype(np.uint8, copy=False))
    if isinstance(picture, Image.Image):
        im = picture.convert("L" if mode == "grey" else "RGB")
    else:
        try:
            im = open_picture(picture, size, mode)
        except ImageReadError as e:
            raise ValueError(f"cannot read a picture from {str(picture)!r}: {e}") from None
    image = to_chw(fit_picture(im, size, recipe.get("fit", "pad"))).astype(np.float32) / 255.0
    mean = np.asarray(recipe.get("mean", [0.0] * recipe["channels"]), np.float32)[:, None, None]
    std = np.asarray(recipe.get("std", [1.0] * recipe["channels"]), np.float32)[:, None, None]
    return image, (image - mean) / std


def to_display(x: np.ndarray, preprocessing: dict[str, Any] | None) -> np.ndarray:
    """Undo a picture model's standardisation for showing: (N, C, H, W) -> float32 in 0..1.

    For a gallery of test pictures (e.g. a confusion matrix's) taken from ``Dataset.x_test``.
    """
    image = (preprocessing or {}).get("image") or {}
    x = np.asarray(x, np.float32)
    if "mean" in image and "std" in image:
        mean = np.asarray(image["mean"], np.float32)[:, None, None]
        std = np.asarray(image["std"], np.float32)[:, None, None]
        x = x * std + mean
    return np.clip(x, 0.0, 1.0)


def classify(
    network: Network,
    picture: str | os.PathLike | np.ndarray | Image.Image,
    preprocessing: dict[str, Any] | None = None,
    class_names: list[str] | None = None,
    top: int = 5,
) -> ImageReading:
    """Prepare ``picture`` by the model's recipe and return its top classes.

    Raises ValueError (one line) for an unreadable file or a network that is not an image
    classifier.
    """
    if not network.is_classifier:
        raise ValueError("this network does regression; reading a picture needs a classifier")
    recipe = image_recipe(network, preprocessing)
    image, standardised = prepare(picture, recipe)
    x = standardised.reshape((1, *network.input_shape)).astype(network.dtype)
    probabilities = network.predict_proba(x)[0]
    if probabilities.ndim == 0 or probabilities.shape == (1,):  # one sigmoid output, two classes
        p = float(np.ravel(probabilities)[0])
        probabilities = np.array([1.0 - p, p])
    names = list(class_names or [])
    names += [str(k) for k in range(len(names), len(probabilities))]
    order = np.argsort(-probabilities, kind="stable")[:top]
    return ImageReading([(names[k], float(probabilities[k])) for k in order], probabilities, image, x)
