"""MNIST plus the user's own digits, for fine-tuning (some held out to measure on)."""

import numpy as np
import pytest

from netcore.data.dataset import DataError, Dataset
from netcore.data.handwriting import (
    MNIST_WITH_HANDWRITING,
    held_out_count,
    load_samples,
    save_sample,
    with_handwriting,
)


def fake_mnist(n=20):
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return Dataset(
        "mnist", x, y, x[:5], y[:5], class_names=[str(i) for i in range(10)], preprocessing={"scale": 1 / 255}
    )


def test_own_digits_are_added_repeated_and_some_are_held_out_for_the_test_split(tmp_path):
    for k in range(8):
        image = np.zeros((28, 28), np.float32)
        image[4:24, k + 5 : k + 8] = 1.0
        save_sample(image, k, tmp_path)
    data = with_handwriting(fake_mnist(), tmp_path, repeat=3)
    assert data.name == MNIST_WITH_HANDWRITING
    assert len(data.y_test) == 2  # a quarter of 8
    assert len(data.x_train) == 20 + 6 * 3 and data.x_train.shape[1:] == (1, 28, 28)
    trained = set(data.y_train[20:].tolist())
    held = set(data.y_test.tolist())
    assert len(trained) == 6 and not trained & held and trained | held == set(range(8))
    x, _ = load_samples(tmp_path)  # every held-out image is one of mine, and none was trained on
    for image in data.x_test:
        assert any(np.array_equal(image, mine) for mine in x)
        assert not any(np.array_equal(image, seen) for seen in data.x_train[20:])
    assert data.class_names == [str(i) for i in range(10)]


def test_how_many_are_held_out():
    assert [held_out_count(n) for n in (0, 1, 2, 3, 4, 20)] == [0, 0, 1, 1, 1, 5]


def test_no_saved_digits_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no saved handwriting"):
        with_handwriting(fake_mnist(), tmp_path)
