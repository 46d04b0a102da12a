"""MNIST plus the user's own digits, for fine-tuning."""

import numpy as np
import pytest

from desktop.handwriting import MNIST_WITH_HANDWRITING, save_sample, with_handwriting
from netcore.data.dataset import DataError, Dataset


def fake_mnist(n=20):
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return Dataset(
        "mnist", x, y, x[:5], y[:5], class_names=[str(i) for i in range(10)], preprocessing={"scale": 1 / 255}
    )


def test_own_digits_are_added_repeated_and_become_the_test_split(tmp_path):
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:15] = 1.0
    save_sample(image, 1, tmp_path)
    save_sample(image.T, 7, tmp_path)
    data = with_handwriting(fake_mnist(), tmp_path, repeat=3)
    assert data.name == MNIST_WITH_HANDWRITING
    assert len(data.x_train) == 20 + 2 * 3 and data.x_train.shape[1:] == (1, 28, 28)
    assert sorted(data.y_train[20:].tolist()) == [1, 1, 1, 7, 7, 7]
    assert sorted(data.y_test.tolist()) == [1, 7]
    assert data.class_names == [str(i) for i in range(10)]


def test_no_saved_digits_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no saved handwriting"):
        with_handwriting(fake_mnist(), tmp_path)
