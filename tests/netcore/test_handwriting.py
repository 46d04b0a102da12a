"""MNIST plus the user's own digits, for fine-tuning (some held out to measure on)."""

import numpy as np
import pytest

from netcore.data import handwriting
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


# ------------------------------------------------------------------------ my handwriting on disk


def test_samples_round_trip_through_png(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((5, 28, 28)).astype(np.float32)
    labels = [3, 0, 9, 3, 5]
    paths = [handwriting.save_sample(img, lab, tmp_path) for img, lab in zip(images, labels, strict=True)]
    assert len(set(paths)) == 5
    assert [p.parent.name for p in paths] == [str(lab) for lab in labels]
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind
    x, y = handwriting.load_samples(tmp_path)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert sorted(y.tolist()) == sorted(labels)
    for img, lab in zip(images, labels, strict=True):  # files come back grouped by label
        matches = [i for i in range(5) if y[i] == lab and np.abs(x[i, 0] - img).max() <= 0.5 / 255 + 1e-6]
        assert matches
    assert handwriting.count_samples(tmp_path) == 5


def test_the_folder_comes_from_the_environment_and_may_be_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_HANDWRITING_DIR", str(tmp_path / "mine"))
    assert handwriting.handwriting_dir() == tmp_path / "mine"
    x, y = handwriting.load_samples()
    assert x.shape == (0, 1, 28, 28) and y.shape == (0,)
    assert handwriting.count_samples() == 0
    handwriting.save_sample(np.zeros((28, 28), np.float32), 4)
    assert handwriting.count_samples() == 1 and (tmp_path / "mine" / "4").is_dir()


def test_bad_samples_are_refused_or_skipped(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        handwriting.save_sample(np.zeros((20, 20), np.float32), 1, tmp_path)
    with pytest.raises(ValueError, match="label"):
        handwriting.save_sample(np.zeros((28, 28), np.float32), 10, tmp_path)
    handwriting.save_sample(np.ones((28, 28), np.float32), 2, tmp_path)
    (tmp_path / "2" / "broken.png").write_bytes(b"not a png")
    x, y = handwriting.load_samples(tmp_path)
    assert y.tolist() == [2] and x.min() == 1.0
