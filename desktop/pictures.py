"""Which way a dropped picture goes, without Qt: through the model's picture recipe, or onto the pad.

- A picture model (``netcore.image_model.is_picture_model``: trained on an image folder, or any
  C x H x W input but MNIST's 1x28x28) reads it as its training pictures were prepared
  (``classify``): the result is ``("picture", ImageReading, how it was prepared)``.
- A digit model (784, 28x28, 1x28x28 inputs without a picture recipe) reads it as the pad
  does: the picture becomes ink on a square (dark ink on light paper is inverted), put on the
  pad, and read with the pad's MNIST preprocessing (centring, stroke width) — what ``netcore
  predict`` does for such models. The result is ``("digit", ink (S, S) float32 0..1, how)``.
- Anything else is refused with one line (ValueError) before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from netcore.digits import digit_input_problem
from netcore.experiment import DataSource
from netcore.image_model import classify, image_recipe, is_picture_model
from netcore.network import Network
from netcore.preprocess import load_image
from netcore.preprocess.ink import to_ink

TOP = 5


def describe_recipe(network: Network, preprocessing: dict) -> str:
    """ "pad, standardised" — how a picture is fitted and scaled for ``network``."""
    recipe = image_recipe(network, preprocessing)
    scaled = "standardised per channel" if "mean" in recipe else "scaled to 0..1"
    return f"{recipe.get('fit', 'pad')}, {scaled}"


def picture_work(network: Network, source: DataSource, path: str) -> Callable[[], tuple]:
    """The work to run off the UI thread for the picture file ``path`` (see the module doc).

    ``network`` must be the caller's own copy. ValueError (one line) when the network reads
    neither pictures nor digits.
    """
    if is_picture_model(network, source.preprocessing):
        image_recipe(network, source.preprocessing)  # refuses a network that takes no pictures
        if not network.is_classifier:
            raise ValueError("it does regression; reading a picture needs a classifier")
        names, how = list(source.class_names), describe_recipe(network, source.preprocessing)
        return lambda: ("picture", classify(network, path, source.preprocessing, names, top=TOP), how)
    problem = digit_input_problem(network)
    if problem:
        raise ValueError(
            f"{problem.split(';')[0]}, not pictures: train a model on an image folder "
            "(File > Import image folder…) or on digits"
        )
    return lambda: ("digit", square_ink(load_image(path)), "the pad's MNIST preprocessing")


def square_ink(gray: np.ndarray) -> np.ndarray:
    """(H, W) grey 0..1 -> (S, S) ink 0..1 (1 = stroke), centred on a background square."""
    ink = to_ink(gray, "auto")
    h, w = ink.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top : top + h, left : left + w] = ink
    return square
