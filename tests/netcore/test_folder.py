"""Picture folders: layout, decoding, sizes, colour, split, statistics, cache, budget, skipped files.

Folders are built on the fly from MNIST test digits written as PNG, JPEG and GIF files at mixed
sizes; a colour set tints each class's digits with the class's colour.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netcore.data.dataset import DataError
from netcore.data.folder import LoadCancelled, load_folder, scan_folder, split_indices
from netcore.data.folder_preview import preview_dataset, preview_folder
from netcore.data.idx import read_idx
from netcore.data.images import fit_picture
from netcore.data.mnist import TEST_IMAGES, TEST_LABELS, find_file
from netcore.data.registry import load_dataset

CLASSES = ("zero", "one", "two", "three")
TINTS = ((255, 60, 60), (60, 255, 60), (60, 60, 255), (255, 220, 40))
SIZES = ((28, 28), (28, 28), (20, 20), (36, 30))  # (H, W); the median stays 28x28


def mnist_digits(mnist_dir: Path, per_class: int) -> dict[int, np.ndarray]:
    """The first ``per_class`` MNIST test digits of 0..3: {digit: (per_class, 28, 28) uint8}."""
    images = read_idx(find_file(mnist_dir / "mnist", TEST_IMAGES))
    labels = read_idx(find_file(mnist_dir / "mnist", TEST_LABELS))
    return {d: images[labels == d][:per_class] for d in range(len(CLASSES))}


def write_digit_folder(root: Path, digits: dict[int, np.ndarray], tint: bool = False) -> Path:
    """One subfolder per class; file i is PNG, JPEG or GIF and 20x20, 28x28 or 36x30 by turn."""
    for d, images in digits.items():
        folder = root / CLASSES[d]
        folder.mkdir(parents=True)
        for i, a in enumerate(images):
            h, w = SIZES[i % len(SIZES)]
            im = Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR)
            if tint:
                colour = np.array(TINTS[d], np.float32) / 255
                rgb = (np.asarray(im, np.float32)[..., None] * colour).astype(np.uint8)
                im = Image.fromarray(rgb, "RGB")
            ext = ("png", "jpg", "png", "gif")[i % 4] if not tint else ("png", "jpg")[i % 2]
            im.save(folder / f"{i:03d}.{ext}", quality=95) if ext == "jpg" else im.save(
                folder / f"{i:03d}.{ext}"
            )
    return root


@pytest.fixture(scope="module")
def digit_folder(mnist_dir, tmp_path_factory) -> Path:
    """4 classes x 50 grey digits at mixed sizes and formats, one corrupt file, one text file."""
    root = write_digit_folder(tmp_path_factory.mktemp("digits"), mnist_digits(mnist_dir, 50))
    (root / "two" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 20)
    (root / "one" / "notes.txt").write_text("not a picture")
    return root


@pytest.fixture(scope="module")
def tinted_folder(mnist_dir, tmp_path_factory) -> Path:
    """4 classes x 60 digits, each class tinted with its own colour (PNG and JPEG)."""
    return write_digit_folder(tmp_path_factory.mktemp("tinted"), mnist_digits(mnist_dir, 60), tint=True)


def test_digit_folder_shapes_classes_split_and_skipped_file(digit_folder, tmp_path):
    data = load_folder(digit_folder, cache_dir=tmp_path)
    assert data.class_names == sorted(CLASSES)
    assert data.input_shape == (1, 28, 28)  # median size, grey: no picture holds colour
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert len(data.x_train) + len(data.x_test) == 200  # the corrupt file is not among them
    # stratified: round(50 * 0.2) = 10 test pictures per class
    assert np.bincount(data.y_test).tolist() == [10, 10, 10, 10]
    assert set(data.train_files).isdisjoint(data.test_files)
    assert any(f.endswith(".gif") for f in data.train_files + data.test_files)
    assert [f for f, _ in data.skipped] == ["two/broken.png"]
    assert "1 file skipped: two/broken.png (" in data.describe()
    # labels follow the folders
    for files, y in ((data.train_files, data.y_train), (data.test_files, data.y_test)):
        assert [data.class_names[k] for k in y] == [f.split("/")[0] for f in files]


def test_statistics_are_the_training_parts_and_undo_to_0_1(digit_folder, tmp_path):
    data = load_folder(digit_folder, cache_dir=tmp_path)
    image = data.preprocessing["image"]
    assert image["size"] == [28, 28] and image["channels"] == 1 and image["fit"] == "pad"
    mean, std = np.array(image["mean"]), np.array(image["std"])
    raw = data.x_train * std[:, None, None] + mean[:, None, None]
    assert raw.min() > -1e-5 and raw.max() < 1 + 1e-5 and raw.max() > 0.99
    np.testing.assert_allclose(raw.mean(), mean[0], rtol=1e-4)
    np.testing.assert_allclose(raw.std(), std[0], rtol=1e-4)
    assert abs(data.x_train.mean()) < 1e-4 and abs(data.x_train.std() - 1) < 1e-3
    plain = load_folder(digit_folder, standardize=False, cache_dir=tmp_path)
    assert plain.x_train.min() == 0.0 and plain.x_train.max() == 1.0
    np.testing.assert_allclose(plain.x_train, raw, atol=1e-5)


def test_colour_is_detected_and_kept(tinted_folder, tmp_path):
    data = load_folder(tinted_folder, cache_dir=tmp_path)
    assert data.input_shape == (3, 28, 28)
    plain = load_folder(tinted_folder, standardize=False, cache_dir=tmp_path)
    # class "one" is tinted green: its ink is mostly in channel 1
    green = plain.x_train[plain.y_train == data.class_names.index("one")].mean(axis=(0, 2, 3))
    assert green[1] > 2 * green[0] and green[1] > 2 * green[2]
    grey = load_folder(tinted_folder, mode="grey", size=16, cache_dir=tmp_path)
    assert grey.input_shape == (1, 16, 16)
    rgb = load_folder(tinted_folder, mode="rgb", size="24x20", fit="crop", cache_dir=tmp_path)
    assert rgb.input_shape == (3, 24, 20)


def test_given_train_and_test_folders_are_the_split(tmp_path, mnist_dir):
    digits = mnist_digits(mnist_dir, 12)
    write_digit_folder(tmp_path / "set" / "train", {d: a[:8] for d, a in digits.items()})
    write_digit_folder(tmp_path / "set" / "test", {d: a[8:] for d, a in digits.items()})
    data = load_folder(tmp_path / "set", cache=False)
    assert len(data.x_train) == 32 and len(data.x_test) == 16
    assert all(f.startswith("train/") for f in data.train_files)
    assert all(f.startswith("test/") for f in data.test_files)


def test_seeded_split_is_stratified_and_reproducible():
    labels = np.repeat([0, 1, 2], [10, 5, 1])
    a, b = split_indices(labels, 0.2, seed=3), split_indices(labels, 0.2, seed=3)
    assert np.array_equal(a, b)
    assert [int(a[labels == k].sum()) for k in range(3)] == [2, 1, 0]
    assert not np.array_equal(a, split_indices(labels, 0.2, seed=4))


def test_pad_keeps_the_aspect_ratio_with_border_colour_and_crop_takes_the_centre():
    a = np.full((20, 40, 3), 255, np.uint8)  # white, a red square in the middle
    a[5:15, 15:25] = (255, 0, 0)
    im = Image.fromarray(a)
    padded = fit_picture(im, (16, 16), "pad")
    assert padded.shape == (16, 16, 3)
    assert (padded[0] == 255).all() and (padded[-1] == 255).all()  # white bars, not black
    assert tuple(padded[8, 8]) == (255, 0, 0)
    cropped = fit_picture(im, (16, 16), "crop")  # the 20x20 centre scaled to 16x16
    red = (cropped[..., 1] < 80).mean()
    assert 0.2 < red < 0.35  # the 10x10 square fills a quarter of the 20x20 centre


def test_cache_makes_the_second_load_at_least_10x_faster(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(3):
        (tmp_path / "pics" / f"c{k}").mkdir(parents=True)
        for i in range(100):  # noisy 160x160 JPEGs: real decoding work, fitted to 32x32
            noise = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
            Image.fromarray(noise).save(tmp_path / "pics" / f"c{k}" / f"{i}.jpg", quality=90)

    def seconds(**options):
        start = time.perf_counter()
        data = load_folder(tmp_path / "pics", size=32, workers=1, cache_dir=tmp_path / "cache", **options)
        return time.perf_counter() - start, data

    uncached = min(seconds(cache=False)[0] for _ in range(2))
    _, first = seconds()
    timings = [seconds() for _ in range(2)]
    assert not first.from_cache and all(data.from_cache for _, data in timings)
    np.testing.assert_array_equal(timings[0][1].x_train, first.x_train)
    cached = min(t for t, _ in timings)
    assert uncached / cached >= 10, f"uncached {uncached:.3f} s, cached {cached:.3f} s"


def test_cache_notices_a_changed_file(tmp_path, mnist_dir):
    write_digit_folder(tmp_path / "set", mnist_digits(mnist_dir, 6))
    first = load_folder(tmp_path / "set", cache_dir=tmp_path / "cache")
    again = load_folder(tmp_path / "set", cache_dir=tmp_path / "cache")
    assert again.from_cache
    Image.new("L", (28, 28), 255).save(tmp_path / "set" / "zero" / "000.png")  # a white picture
    changed = load_folder(tmp_path / "set", cache_dir=tmp_path / "cache", standardize=False)
    assert not changed.from_cache
    assert changed.x_train.max() == 1.0 and len(changed.x_train) == len(first.x_train)
    for cached in (tmp_path / "cache" / "image-folders").glob("*.npz"):
        cached.write_bytes(cached.read_bytes()[:1000])  # damaged: ignored and rewritten
    again = load_folder(tmp_path / "set", cache_dir=tmp_path / "cache", standardize=False)
    assert not again.from_cache
    np.testing.assert_array_equal(again.x_train, changed.x_train)
    assert load_folder(tmp_path / "set", cache_dir=tmp_path / "cache").from_cache


def test_parallel_decoding_gives_the_same_arrays(tinted_folder, monkeypatch):
    serial = load_folder(tinted_folder, workers=1, cache=False)

    def not_here(*args):
        raise AssertionError("decoded in this process instead of the workers")

    monkeypatch.setattr("netcore.data.folder_decode.decode_files", not_here)
    parallel = load_folder(tinted_folder, workers=2, cache=False)
    np.testing.assert_array_equal(serial.x_train, parallel.x_train)
    np.testing.assert_array_equal(serial.y_test, parallel.y_test)


def test_progress_counts_and_cancel(digit_folder):
    calls = []
    load_folder(digit_folder, cache=False, progress=lambda done, total, label: calls.append((done, total)))
    assert calls[0] == (0, 201) and calls[-1] == (201, 201)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    with pytest.raises(LoadCancelled):
        load_folder(digit_folder, cache=False, should_stop=lambda: True)


def test_memory_budget_downscales_an_automatic_size_and_refuses_an_explicit_one(digit_folder):
    # 201 x 28 x 28 x 5 bytes = 0.75 MB; a 0.3 MB budget forces about 17x17
    data = load_folder(digit_folder, max_memory_mb=0.3, cache=False)
    side = data.input_shape[1]
    assert data.input_shape[2] == side and 12 <= side <= 18
    assert any("downscaled from 28x28" in note for note in data.notes)
    with pytest.raises(DataError, match="over the budget of 0.3 MB"):
        load_folder(digit_folder, size=28, max_memory_mb=0.3, cache=False)


def test_bad_folders_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        scan_folder(tmp_path / "missing")
    Image.new("L", (8, 8)).save(tmp_path / "loose.png")
    with pytest.raises(DataError, match="no class subfolders"):
        scan_folder(tmp_path)
    (tmp_path / "only").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "only" / "a.png")
    with pytest.raises(DataError, match="needs two"):
        scan_folder(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.png").write_bytes(b"garbage")
    (tmp_path / "only" / "b.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="part has no readable pictures"):
        load_folder(tmp_path, cache=False)
    with pytest.raises(DataError, match="image size"):
        load_folder(tmp_path, size="big", cache=False)


def test_registry_name_and_options(digit_folder, tmp_path):
    data = load_dataset(f"folder:{digit_folder}", data_dir=tmp_path, size=20, mode="rgb")
    assert data.input_shape == (3, 20, 20)
    with pytest.raises(DataError, match="does not apply"):
        load_dataset(f"folder:{digit_folder}", data_dir=tmp_path, noise=0.1)


def test_preview_before_and_after_loading(digit_folder, tmp_path):
    early = preview_folder(digit_folder, per_class=5)
    assert early.class_names == sorted(CLASSES)
    assert early.images.shape == (4, 5, 1, 28, 28) and early.filled.all()
    assert early.counts.tolist() == [50, 50, 51, 50]  # "two"'s corrupt file counts before decoding
    data = load_folder(digit_folder, cache_dir=tmp_path)
    late = preview_dataset(data, per_class=5)
    assert late.images.shape == (4, 5, 1, 28, 28)
    assert late.images.min() >= 0 and late.images.max() <= 1
    assert late.counts.tolist() == [50, 50, 50, 50]


def test_worker_processes_decode_as_this_process_does(tinted_folder):
    from netcore.data.folder_decode import DecodeWorkers
    from netcore.data.images import decode_files

    paths = [str(p) for p in sorted((tinted_folder / "one").iterdir())[:9]] + [
        str(tinted_folder / "gone.png")
    ]
    workers = DecodeWorkers(2, (16, 16), "auto", "pad")
    try:
        workers.send(0, paths[:5])
        workers.send(1, paths[5:])
        answers = [workers.receive(0), workers.receive(1)]
    finally:
        workers.close()
    assert all(proc.returncode == 0 for proc in workers.procs)
    for answer, part in zip(answers, (paths[:5], paths[5:]), strict=True):
        here = decode_files(part, (16, 16), "auto", "pad")
        np.testing.assert_array_equal(answer.images, here.images)
        assert answer.ok.tolist() == here.ok.tolist() and answer.colour == here.colour
        assert answer.errors == here.errors
    assert answers[1].errors[0][0] == 4  # the missing file, reported, not raised


def test_exif_orientation_transparency_and_16_bit_files(tmp_path):
    from netcore.data.images import open_picture, read_header

    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: the camera was turned 90 degrees clockwise
    Image.fromarray(wide).save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    assert read_header(tmp_path / "turned.jpg")[:2] == (40, 20)  # (height, width) upright
    upright = np.asarray(open_picture(tmp_path / "turned.jpg", None, "grey"))
    assert upright.shape == (40, 20) and upright[:15].mean() > 200 and upright[25:].mean() < 50

    clear = np.zeros((8, 8, 4), np.uint8)  # fully transparent black: reads as white paper
    Image.fromarray(clear, "RGBA").save(tmp_path / "clear.png")
    assert np.asarray(open_picture(tmp_path / "clear.png", None, "rgb")).min() == 255

    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")  # a 16-bit grey PNG
    grey = np.asarray(open_picture(tmp_path / "deep.png", None, "auto"))
    assert grey.dtype == np.uint8 and grey.min() == 0 and grey.max() == 245  # round(63000 / 65535 * 255)


def test_a_failing_worker_leaves_the_rest_to_this_process(tinted_folder, monkeypatch):
    from netcore.data import folder_decode

    receive, calls = folder_decode.DecodeWorkers.receive, []

    def flaky(self, i):
        calls.append(i)
        if len(calls) == 2:  # a worker dies mid-run and its answer is lost
            self.procs[i % len(self.procs)].kill()
            raise folder_decode.WorkerFailed("killed")
        return receive(self, i)

    monkeypatch.setattr(folder_decode.DecodeWorkers, "receive", flaky)
    serial = load_folder(tinted_folder, workers=1, cache=False)
    rescued = load_folder(tinted_folder, workers=2, cache=False)
    assert len(calls) == 2  # after the lost answer, the rest was decoded in this process
    np.testing.assert_array_equal(serial.x_train, rescued.x_train)
