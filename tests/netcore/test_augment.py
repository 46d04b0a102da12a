"""Batch augmentation: identity at zero strength, exact shifts, ink kept, reproducible."""

import math
import threading

import numpy as np
import pytest

from netcore.augment import (
    STRENGTHS,
    Augmentation,
    WarpParams,
    augmentation_for,
    bilinear,
    smooth,
    warp,
)


def digit_batch(n=8, c=1, size=28, seed=0):
    """Blobs of ink well inside the frame, like centred MNIST digits."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    x = np.zeros((n, c, size, size), np.float32)
    for _ in range(3):
        cy, cx = rng.uniform(10, 18, (2, n, c, 1, 1))
        r = rng.uniform(2, 4, (n, c, 1, 1))
        x += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2)).astype(np.float32)
    return np.clip(x, 0, 1)


def naive_bilinear(img, y, x):
    """One pixel, zeros outside: the reference for the vectorised gather."""
    h, w = img.shape
    y0, x0 = math.floor(y), math.floor(x)
    total = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * img[yy, xx]
    return total


def test_zero_strength_is_identity():
    x = digit_batch(n=5, c=2)
    none = Augmentation(shift=0, rotate_deg=0, scale=0, elastic_alpha=0)
    y = none.apply(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_one_pixel_shift_moves_the_image_by_one_pixel():
    x = digit_batch(n=4)
    p = WarpParams.identity(4)
    right = WarpParams(p.angle, p.scale, np.tile(np.float32([0, 1]), (4, 1)))
    down = WarpParams(p.angle, p.scale, np.tile(np.float32([1, 0]), (4, 1)))
    y = warp(x, right)
    np.testing.assert_allclose(y[..., 1:], x[..., :-1], atol=1e-6)
    assert np.all(y[..., 0] == 0)
    y = warp(x, down)
    np.testing.assert_allclose(y[..., 1:, :], x[..., :-1, :], atol=1e-6)


def test_shape_and_dtype_are_preserved_for_every_preset():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = digit_batch(n=6, c=3, size=20).astype(dtype)
        for name, aug in STRENGTHS.items():
            if aug is None:
                continue
            y = aug.apply(x, rng)
            assert y.shape == x.shape, name
            assert y.dtype == dtype, name
            assert np.all(np.isfinite(y)) and y.min() >= 0 and y.max() <= 1 + 1e-6


def test_rotation_preserves_total_ink():
    x = digit_batch(n=16)
    p = WarpParams.identity(16)
    for deg in (5, 15, 30, -20):
        angle = np.full(16, math.radians(deg), np.float32)
        y = warp(x, WarpParams(angle, p.scale, p.shift))
        ratio = y.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
        np.testing.assert_allclose(ratio, 1.0, atol=0.03)
        assert not np.allclose(y, x, atol=1e-2)  # it did rotate


def test_rotation_turns_a_vertical_bar_clockwise():
    x = np.zeros((1, 1, 29, 29), np.float32)
    x[0, 0, 4:25, 14] = 1.0  # vertical bar through the centre
    y = warp(x, WarpParams(np.float32([math.radians(90)]), np.float32([1]), np.zeros((1, 2), np.float32)))
    np.testing.assert_allclose(y[0, 0, 14, 4:25], 1.0, atol=1e-5)  # now horizontal
    assert y.sum() == pytest.approx(x.sum(), rel=1e-5)
    dot = np.zeros((1, 1, 9, 9), np.float32)
    dot[0, 0, 1, 4] = 1.0  # above the centre
    y = warp(dot, WarpParams(np.float32([math.radians(90)]), np.float32([1]), np.zeros((1, 2), np.float32)))
    assert y[0, 0, 4, 7] == pytest.approx(1.0)  # a quarter turn clockwise: now right of it


def test_scaling_changes_the_extent():
    x = digit_batch(n=4)
    p = WarpParams.identity(4)
    y = warp(x, WarpParams(p.angle, np.full(4, 1.2, np.float32), p.shift))
    # area grows by the square of the zoom factor (the blobs stay inside the frame)
    np.testing.assert_allclose(y.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3)), 1.44, rtol=0.03)


def test_same_seed_same_batch_and_different_seed_different_batch():
    x = digit_batch(n=8)
    aug = STRENGTHS["strong"]
    a = aug.apply(x, np.random.default_rng(7))
    b = aug.apply(x, np.random.default_rng(7))
    c = aug.apply(x, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_each_sample_gets_its_own_transformation():
    x = np.repeat(digit_batch(n=1), 6, axis=0)
    y = Augmentation().apply(x, np.random.default_rng(3))
    assert not np.allclose(y[0], y[1])


def test_results_survive_later_calls_with_other_shapes_and_threads():
    # scratch buffers are reused between calls: outputs must never alias them
    aug = Augmentation(elastic_alpha=20)
    x8, x5 = digit_batch(n=8), digit_batch(n=5, c=2, size=20, seed=1)
    first = aug.apply(x8, np.random.default_rng(0))
    kept = first.copy()
    aug.apply(x5, np.random.default_rng(1))
    aug.apply(x8, np.random.default_rng(2))
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(aug.apply(x8, np.random.default_rng(0)), kept)

    results = {}

    def run(seed):
        results[seed] = [aug.apply(x8, np.random.default_rng(seed)) for _ in range(20)]

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (0, 1):
        want = aug.apply(x8, np.random.default_rng(seed))
        for got in results[seed]:
            np.testing.assert_array_equal(got, want)


def test_bilinear_matches_a_naive_loop_including_outside_positions():
    rng = np.random.default_rng(2)
    x = rng.random((2, 2, 7, 9)).astype(np.float32)
    ys = rng.uniform(-3, 10, (2, 5, 6)).astype(np.float32)
    xs = rng.uniform(-3, 12, (2, 5, 6)).astype(np.float32)
    got = bilinear(x, ys, xs)
    for n in range(2):
        for c in range(2):
            for i in range(5):
                for j in range(6):
                    want = naive_bilinear(x[n, c], float(ys[n, i, j]), float(xs[n, i, j]))
                    assert got[n, c, i, j] == pytest.approx(want, abs=1e-5)


def test_smooth_matches_a_direct_gaussian_convolution():
    rng = np.random.default_rng(0)
    field = rng.random((2, 12, 10)).astype(np.float32)
    sigma = 1.5
    r = math.ceil(4 * sigma)
    taps = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    taps /= taps.sum()
    ref = np.zeros(field.shape)
    for i in range(12):
        for j in range(10):
            for di in range(-r, r + 1):
                for dj in range(-r, r + 1):
                    if 0 <= i + di < 12 and 0 <= j + dj < 10:
                        ref[:, i, j] += taps[di + r] * taps[dj + r] * field[:, i + di, j + dj]
    np.testing.assert_allclose(smooth(field, sigma), ref, atol=1e-5)


def test_elastic_distortion_moves_pixels_a_little():
    x = digit_batch(n=8)
    aug = Augmentation(shift=0, rotate_deg=0, scale=0, elastic_alpha=34, elastic_sigma=4)
    params = aug.sample(8, (28, 28), np.random.default_rng(0))
    d = params.displacement
    assert d.shape == (8, 2, 28, 28)
    assert 0.3 < float(d.std()) < 3.0  # smooth, a pixel or so: Simard's setting
    y = aug.apply(x, np.random.default_rng(0))
    assert not np.allclose(y, x, atol=1e-2)
    np.testing.assert_allclose(y.sum() / x.sum(), 1.0, atol=0.1)


def test_dict_round_trip_and_validation():
    aug = Augmentation(shift=1.0, rotate_deg=5, scale=0.05, elastic_alpha=10, elastic_sigma=3)
    assert Augmentation.from_dict(aug.to_dict()) == aug
    assert Augmentation.from_dict({"shift": 3}) == Augmentation(shift=3.0)
    with pytest.raises(ValueError, match="rotation"):
        Augmentation.from_dict({"rotation": 3})
    with pytest.raises(ValueError, match="scale"):
        Augmentation(scale=1.5)
    with pytest.raises(ValueError, match="shift"):
        Augmentation(shift=-1)
    with pytest.raises(ValueError, match="elastic_sigma"):
        Augmentation(elastic_sigma=0)


def test_presets_and_bad_input():
    assert augmentation_for("off") is None
    assert augmentation_for("light") == STRENGTHS["light"]
    with pytest.raises(ValueError, match="strength"):
        augmentation_for("extreme")
    with pytest.raises(ValueError, match="N, C, H, W"):
        Augmentation().apply(np.zeros((4, 784), np.float32), np.random.default_rng(0))
