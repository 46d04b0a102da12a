"""The shipped digit model on real MNIST and on digits redrawn the way people draw them.

The redrawn set is made here from MNIST test digits: each is scaled to a random height on a
280x280 canvas, moved anywhere on it, its strokes thickened, and drawn dark-on-light or
light-on-dark. It goes through ``classify_image``, the code path of ``netcore predict`` and the pad.
"""

import numpy as np
import pytest
from PIL import Image, ImageFilter

from netcore.data.mnist import load_mnist
from netcore.digits import classify_image
from netcore.resources import resource_path
from netcore.serialization import load_model

SHIPPED = resource_path("models", "digits.npz")
CANVAS = 280


def redraw_like_people(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (28, 28) 0..1 MNIST digit as a (280, 280) uint8 drawing: new size, place, stroke, polarity."""
    ys, xs = np.nonzero(digit > 0.1)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    height = int(rng.integers(70, 240))
    scale = height / crop.shape[0]
    width = max(2, min(CANVAS - 4, int(round(crop.shape[1] * scale))))
    big = Image.fromarray((crop * 255).astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)
    thicken = int(rng.choice([1, 3, 5, 7, 9]))
    if thicken > 1:
        big = big.filter(ImageFilter.MaxFilter(thicken))
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    x0 = int(rng.integers(0, CANVAS - width + 1))
    y0 = int(rng.integers(0, CANVAS - height + 1))
    canvas.paste(big, (x0, y0))
    pixels = np.asarray(canvas)
    return 255 - pixels if rng.random() < 0.5 else pixels


@pytest.fixture(scope="module")
def shipped():
    assert SHIPPED.exists(), "netcore/resources/models/digits.npz is missing"
    assert SHIPPED.stat().st_size < 2 * 1024 * 1024
    return load_model(SHIPPED).network


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir, download=False)


@pytest.mark.mnist
@pytest.mark.slow
def test_shipped_model_test_accuracy_is_re_evaluated(shipped, mnist):
    figures = shipped.evaluate(mnist.x_test, mnist.y_test)
    assert figures["accuracy"] >= 0.993, figures


@pytest.mark.mnist
@pytest.mark.slow
def test_shipped_model_reads_digits_redrawn_as_people_draw(shipped, mnist):
    rng = np.random.default_rng(2026)
    picks = rng.choice(len(mnist.x_test), 1000, replace=False)
    right = naive_right = unread = 0
    for i in picks:
        drawing = redraw_like_people(mnist.x_test[i, 0], rng)
        reading = classify_image(shipped, drawing)
        if reading.image is None:
            unread += 1
            continue
        right += int(reading.probabilities.argmax() == mnist.y_test[i])
        naive = classify_image(shipped, drawing, crop=False, fit=False, centre=False, normalize_stroke=False)
        if naive.image is not None:
            naive_right += int(naive.probabilities.argmax() == mnist.y_test[i])
    assert unread <= 5
    assert right / len(picks) >= 0.985, (right, unread)
    assert naive_right / len(picks) < 0.7  # the set is hard: without preprocessing the model fails


def test_nothing_to_read_is_said_not_guessed(shipped):
    empty = np.zeros((CANVAS, CANVAS), np.uint8)
    assert classify_image(shipped, empty).reason.startswith("nothing to read")
    dot = empty.copy()
    dot[140:146, 140:146] = 255
    assert classify_image(shipped, dot).label is None
    rng = np.random.default_rng(0)
    scribble = (rng.random((CANVAS, CANVAS)) < 0.7).astype(np.uint8) * 255
    reading = classify_image(shipped, scribble, min_confidence=0.6)
    assert reading.label is None and reading.reason
