"""Shuffled splits and standardisation."""

from __future__ import annotations

import numpy as np
import pytest

from netcore.data.dataset import DataError
from netcore.data.split import apply_standardization, split_validation, standardize, train_test_split


def indexed(n: int):
    """x row i is [i, -i] and y[i] = 10 i, so rows can be traced through a shuffle."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    return x, np.arange(n, dtype=np.int64) * 10


def test_train_test_split_partitions_and_keeps_pairs():
    x, y = indexed(100)
    x_tr, y_tr, x_te, y_te = train_test_split(x, y, 0.3, np.random.default_rng(0))
    assert (len(x_tr), len(y_tr), len(x_te), len(y_te)) == (70, 70, 30, 30)
    assert sorted(np.concatenate([x_tr[:, 0], x_te[:, 0]]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y_tr, x_tr[:, 0] * 10)
    np.testing.assert_array_equal(y_te, x_te[:, 0] * 10)
    np.testing.assert_array_equal(x_tr[:, 1], -x_tr[:, 0])
    assert x_tr[:, 0].tolist() != sorted(x_tr[:, 0].tolist()), "shuffled"


def test_split_is_reproducible_from_the_generator():
    x, y = indexed(50)
    a = train_test_split(x, y, 0.2, np.random.default_rng(7))
    b = train_test_split(x, y, 0.2, np.random.default_rng(7))
    c = train_test_split(x, y, 0.2, np.random.default_rng(8))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])


@pytest.mark.parametrize("n, ratio, n_test", [(2, 0.3, 1), (3, 0.01, 1), (3, 0.99, 2), (10, 0.25, 2)])
def test_both_parts_are_never_empty(n, ratio, n_test):
    x, y = indexed(n)
    *_, x_te, _ = train_test_split(x, y, ratio, np.random.default_rng(0))
    assert len(x_te) == n_test


def test_split_works_on_images_and_2d_targets():
    x = np.zeros((10, 1, 4, 4), dtype=np.float32)
    y = np.zeros((10, 3), dtype=np.float32)
    x_tr, y_tr, x_te, y_te = train_test_split(x, y, 0.5, np.random.default_rng(0))
    assert x_tr.shape == (5, 1, 4, 4) and y_te.shape == (5, 3)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1, 1.5])
def test_bad_ratio(ratio):
    with pytest.raises(DataError, match="test_ratio"):
        train_test_split(*indexed(10), ratio, np.random.default_rng(0))


def test_too_few_or_mismatched_samples():
    with pytest.raises(DataError, match="at least 2"):
        train_test_split(*indexed(1), 0.5, np.random.default_rng(0))
    x, _ = indexed(5)
    with pytest.raises(DataError, match="5 vs 4"):
        train_test_split(x, np.zeros(4), 0.5, np.random.default_rng(0))


def test_split_validation():
    x, y = indexed(40)
    x_tr, y_tr, x_val, y_val = split_validation(x, y, 0.25, np.random.default_rng(0))
    assert len(x_tr) == 30 and len(x_val) == 10
    np.testing.assert_array_equal(y_val, x_val[:, 0] * 10)
    assert set(x_tr[:, 0]).isdisjoint(x_val[:, 0])


def test_split_validation_zero_fraction_holds_nothing_out():
    x, y = indexed(5)
    x_tr, y_tr, x_val, y_val = split_validation(x, y, 0.0, np.random.default_rng(0))
    assert x_tr is x and y_tr is y
    assert x_val.shape == (0, 2) and y_val.shape == (0,)
    with pytest.raises(DataError, match="fraction"):
        split_validation(x, y, 1.0, np.random.default_rng(0))


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal([5.0, -3.0, 0.0], [2.0, 0.1, 1.0], size=(500, 3)).astype(np.float32)
    x_train[:, 2] = 7.0  # constant feature
    x_test = x_train[:10] + 1.0
    (tr, te), stats = standardize(x_train, x_test)
    assert tr.dtype == np.float32 and te.dtype == np.float32
    np.testing.assert_allclose(tr[:, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(tr[:, :2].std(axis=0), 1.0, atol=1e-5)
    assert stats["std"][2] == 1.0 and np.all(tr[:, 2] == 0.0), "constant feature: centred, not divided by 0"
    assert isinstance(stats["mean"], list) and len(stats["mean"]) == 3
    # The test part is shifted by exactly 1/std of the training part, not re-centred.
    shift = np.broadcast_to(1.0 / np.array(stats["std"], dtype=np.float32), (10, 3))
    np.testing.assert_allclose(te - tr[:10], shift, rtol=1e-4)
    np.testing.assert_allclose(apply_standardization(x_test, stats), te)


def test_standardize_single_array_and_empty():
    (only,), stats = standardize(np.array([[1.0], [3.0]]))
    assert stats == {"mean": [2.0], "std": [1.0]}
    np.testing.assert_array_equal(only, [[-1.0], [1.0]])
    with pytest.raises(DataError, match="empty"):
        standardize(np.zeros((0, 2)))
