"""Toy 2-D sets: their geometry, determinism and balance; the dataset registry's names."""

from __future__ import annotations

import numpy as np
import pytest

from netcore.data import synthetic
from netcore.data.dataset import DataError
from netcore.data.registry import DATASET_NAMES, FILE_PREFIXES, load_dataset
from netcore.data.synthetic import (
    load_synthetic,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
)

ALL = ["xor", "spirals", "circles", "moons", "blobs"]


@pytest.mark.parametrize("name", ALL)
def test_shapes_types_balance_and_determinism(name):
    make = synthetic.MAKERS[name]
    x, y = make(n=120, noise=0.1, seed=3)
    assert x.shape == (120, 2) and x.dtype == np.float32
    assert y.shape == (120,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.min() == counts.max(), "balanced classes"
    x2, y2 = make(n=120, noise=0.1, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = make(n=120, noise=0.1, seed=4)
    assert not np.array_equal(x, x3)
    assert np.all(np.isfinite(x))


def test_does_not_touch_global_random_state():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    for name in ALL:
        synthetic.MAKERS[name](n=40, noise=0.1, seed=1)
    assert np.random.random() == expected


def test_xor_classic_four_points():
    x, y = make_xor()
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    jittered, y_j = make_xor(n=4, noise=0.05)
    np.testing.assert_array_equal(y_j, y)
    assert 0 < np.abs(jittered - x).max() < 0.5


def test_xor_quadrants_are_labelled_by_xor_of_signs():
    x, y = make_xor(n=400, noise=0.0)
    np.testing.assert_array_equal(y, (x[:, 0] > 0) ^ (x[:, 1] > 0))
    quadrants = (x[:, 0] > 0) * 2 + (x[:, 1] > 0)
    assert np.bincount(quadrants).tolist() == [100] * 4


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_spiral_arms_follow_their_curve(classes):
    turns = 1.5
    x, y = make_spirals(n=50 * classes, noise=0.0, classes=classes, turns=turns)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1.0 + 1e-6
    # angle = 2 pi (turns r + k / classes) on arm k
    phase = np.arctan2(x[:, 1], x[:, 0]) / (2 * np.pi) - turns * r - y / classes
    np.testing.assert_allclose((phase + 0.5) % 1.0 - 0.5, 0.0, atol=1e-5)
    assert sorted(set(y.tolist())) == list(range(classes))


def test_circles_radii():
    x, y = make_circles(n=200, noise=0.0, factor=0.4)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.4, atol=1e-6)


def test_moons_lie_on_two_half_circles():
    x, y = make_moons(n=200, noise=0.0)
    upper = x[y == 0] + [0.5, 0.25]
    lower = x[y == 1] + [0.5, 0.25] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0, atol=1e-6)
    assert np.all(upper[:, 1] >= -1e-6) and np.all(lower[:, 1] <= 1e-6)


def test_blobs_cluster_around_distinct_centres():
    x, y = make_blobs(n=300, noise=0.2, classes=3)
    centres = np.stack([x[y == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(np.hypot(*centres.T), 2.0, atol=0.1)
    nearest = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert np.mean(nearest == y) > 0.99


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_spirals(n=2, classes=3), "n must be"),
        (lambda: make_moons(noise=-0.1), "noise"),
        (lambda: make_blobs(classes=1), "classes"),
        (lambda: make_circles(n=2.5), "n must be"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(DataError, match=match):
        call()


def test_load_xor_four_points_is_train_and_test():
    ds = load_synthetic("xor", n=4, noise=0.0)
    np.testing.assert_array_equal(ds.x_train, ds.x_test)
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1, 0])
    assert ds.class_names == ["0", "1"] and ds.input_shape == (2,)


def test_load_synthetic_splits():
    ds = load_synthetic("spirals", n=90, noise=0.1, classes=3, test_ratio=0.2, seed=1)
    assert (len(ds.x_train), len(ds.x_test)) == (72, 18)
    assert ds.class_names == ["0", "1", "2"] and ds.task == "classification"
    x, y = make_spirals(n=90, noise=0.1, classes=3, seed=1)
    all_x = np.concatenate([ds.x_train, ds.x_test])
    assert sorted(map(tuple, all_x.tolist())) == sorted(map(tuple, x.tolist())), "a split of the same points"


def test_load_synthetic_refuses_classes_for_two_class_sets():
    with pytest.raises(DataError, match="moons has 2 classes"):
        load_synthetic("moons", classes=3)
    with pytest.raises(DataError, match="unknown synthetic"):
        load_synthetic("swirl")


# ------------------------------------------------------------------------------------ registry


def test_names_for_the_ui():
    assert DATASET_NAMES == ("mnist", "xor", "spirals", "circles", "moons", "blobs")
    assert FILE_PREFIXES == ("idx", "csv", "folder")


@pytest.mark.parametrize("name", ALL)
def test_registry_loads_each_toy_set(name):
    ds = load_dataset(name)
    assert ds.name == name and ds.input_shape == (2,)


def test_registry_passes_options_through_and_ignores_none():
    ds = load_dataset(" Blobs ", n=60, noise=0.3, seed=2, test_ratio=0.5, classes=4, label=None)
    expected = load_synthetic("blobs", n=60, noise=0.3, seed=2, test_ratio=0.5, classes=4)
    np.testing.assert_array_equal(ds.x_train, expected.x_train)
    assert ds.num_classes == 4 and len(ds.x_test) == 30


def test_registry_errors_list_the_choices():
    with pytest.raises(DataError, match="choose one of mnist, xor, spirals, circles, moons, blobs, idx:PATH"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="choose one of"):
        load_dataset("zip:foo.zip")
    with pytest.raises(DataError, match="option label does not apply to xor"):
        load_dataset("xor", label="y")
    with pytest.raises(DataError, match="needs a path"):
        load_dataset("csv:")


def test_registry_idx_folder(tmp_path):
    from netcore.data import mnist
    from netcore.data.idx import write_idx

    write_idx(tmp_path / f"{mnist.TRAIN_IMAGES}.gz", np.zeros((4, 3, 3), dtype=np.uint8))
    write_idx(tmp_path / mnist.TRAIN_LABELS, np.array([0, 1, 0, 1], dtype=np.uint8))
    write_idx(tmp_path / mnist.TEST_IMAGES, np.full((2, 3, 3), 255, dtype=np.uint8))
    write_idx(tmp_path / mnist.TEST_LABELS, np.array([1, 0], dtype=np.uint8))
    ds = load_dataset(f"idx:{tmp_path}")
    assert ds.input_shape == (1, 3, 3) and ds.class_names == ["0", "1"]
    assert ds.x_test.max() == 1.0
    with pytest.raises(DataError, match="does not apply"):
        load_dataset(f"idx:{tmp_path}", seed=1)
