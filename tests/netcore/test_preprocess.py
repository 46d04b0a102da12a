"""Digit preprocessing: MNIST geometry, polarity, stroke normalisation, nothing-to-read cases."""

import itertools
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from netcore.preprocess import (
    COM_TARGET,
    MNIST_STROKE,
    Preprocessed,
    as_gray,
    centre_of_mass,
    euler_number,
    ink_bbox,
    ink_mask,
    load_image,
    preprocess_digit,
    shift_bilinear,
    stroke_width,
    to_ink,
)


def draw_digit(kind="7", *, size=280, brush=10, box=(60, 40, 220, 240), light=True):
    """A digit drawn like on the pad: Pillow lines of width ``brush`` inside ``box``.

    Returns (size, size) uint8, dark ink on white when ``light`` else white on black.
    """
    im = Image.new("L", (size, size), 255 if light else 0)
    d = ImageDraw.Draw(im)
    ink = 0 if light else 255
    x0, y0, x1, y1 = box
    xm = (x0 + x1) / 2
    if kind == "7":
        d.line([(x0, y0), (x1, y0), (x0 + 0.35 * (x1 - x0), y1)], fill=ink, width=brush, joint="curve")
    elif kind == "1":
        d.line([(xm - 0.15 * (x1 - x0), y0 + 0.15 * (y1 - y0)), (xm, y0), (xm, y1)], fill=ink, width=brush)
    elif kind == "0":
        d.ellipse(box, outline=ink, width=brush)
    elif kind == "slanted 1":
        d.line([(x1, y0), (x0, y1)], fill=ink, width=brush)
    else:
        raise ValueError(kind)
    return np.asarray(im)


def ink_sum(result: Preprocessed) -> float:
    return float(result.image.sum())


@pytest.mark.parametrize("kind", ["1", "7", "0"])
def test_drawn_digit_becomes_an_mnist_like_image(kind):
    result = preprocess_digit(draw_digit(kind))
    assert result.ok and result.reason is None
    img = result.image
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > 0.9
    # the digit was fitted into 20x20 (a sub-pixel shift may spill a faint column or row)
    assert max(result.stages["fit20"].shape) == 20
    top, left, bottom, right = ink_bbox(img > 0.25)
    assert bottom - top <= 21 and right - left <= 21
    assert bottom - top >= 19  # these digits are taller than wide: 20 px tall
    cy, cx = centre_of_mass(img)
    assert abs(cy - COM_TARGET) < 0.5 and abs(cx - COM_TARGET) < 0.5
    assert list(result.stages) == ["raw", "ink", "crop", "stroke", "fit20", "centred"]
    assert result.stages["centred"] is img


def test_position_and_size_on_the_canvas_do_not_matter():
    big = preprocess_digit(draw_digit("7", brush=10, box=(40, 30, 240, 250))).image
    small = preprocess_digit(draw_digit("7", brush=4, box=(180, 170, 250, 250))).image
    assert np.abs(big - small).mean() < 0.06


def test_dark_on_light_and_light_on_dark_give_the_same_image():
    for kind in ("7", "0"):
        dark_ink = preprocess_digit(draw_digit(kind, light=True))
        light_ink = preprocess_digit(draw_digit(kind, light=False))
        np.testing.assert_allclose(dark_ink.image, light_ink.image, atol=1e-5)


def test_to_ink_detects_polarity_from_the_border():
    ink = to_ink(draw_digit("1", light=True))
    assert ink[0, 0] == 0.0 and ink.max() == 1.0
    assert ink[150, 140] == 1.0  # on the stroke
    np.testing.assert_allclose(to_ink(draw_digit("1", light=False)), ink, atol=1e-6)
    # forced polarity: on white paper nothing is lighter than the background, so no ink
    assert to_ink(draw_digit("1"), background="dark").max() == 0.0
    assert "empty" in preprocess_digit(draw_digit("1"), background="dark").reason
    np.testing.assert_array_equal(to_ink(draw_digit("1"), background="light"), ink)
    with pytest.raises(ValueError, match="background"):
        to_ink(draw_digit("1"), background="grey")


def test_photo_like_input_with_grey_paper_noise_and_specks():
    clean = draw_digit("7", brush=12).astype(np.float32) / 255
    rng = np.random.default_rng(0)
    photo = 0.72 - 0.5 * (1 - clean) + rng.normal(0, 0.02, clean.shape)  # grey paper, grey ink
    specks = rng.integers(0, 280, (2, 30))
    photo[specks[0], specks[1]] = 0.0  # isolated dust
    photo = np.clip(photo, 0, 1).astype(np.float32)
    assert preprocess_digit(photo).ok
    got = preprocess_digit(photo, normalize_stroke=False)
    want = preprocess_digit(clean, normalize_stroke=False)
    assert np.abs(got.image - want.image).mean() < 0.02
    assert got.stages["crop"].shape == want.stages["crop"].shape  # the specks did not widen the box


@pytest.mark.parametrize(
    "canvas, words",
    [
        (np.full((280, 280), 255, np.uint8), "empty"),
        (np.zeros((280, 280), np.float32), "empty"),
    ],
)
def test_blank_canvas_has_nothing_to_read(canvas, words):
    result = preprocess_digit(canvas)
    assert result.image is None and not result.ok
    assert result.reason.startswith("nothing to read") and words in result.reason
    assert "raw" in result.stages and "ink" in result.stages


def test_a_single_dot_or_a_tiny_mark_has_nothing_to_read():
    im = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(im).ellipse((130, 130, 150, 150), fill=0)  # one click with a 20 px brush
    dot = preprocess_digit(np.asarray(im))
    assert dot.image is None and "dot" in dot.reason

    im = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(im).line([(100, 100), (105, 103)], fill=0, width=2)
    tiny = preprocess_digit(np.asarray(im))
    assert tiny.image is None and tiny.reason.startswith("nothing to read")

    blob = preprocess_digit(draw_digit("0", brush=30, box=(100, 100, 160, 170)))  # hole closed
    assert blob.image is None and "blob" in blob.reason

    specks = np.full((280, 280), 255, np.uint8)
    specks[[10, 50, 200], [30, 90, 250]] = 0  # single-pixel noise only
    assert "empty" in preprocess_digit(specks).reason


def test_a_canvas_covered_in_scribble_is_flagged():
    rng = np.random.default_rng(1)
    im = Image.new("L", (280, 280), 255)
    d = ImageDraw.Draw(im)
    for _ in range(60):
        d.line([tuple(rng.integers(10, 270, 2)) for _ in range(3)], fill=0, width=30)
    result = preprocess_digit(np.asarray(im))
    assert result.image is None and "covered" in result.reason
    assert result.info["ink_fraction"] > 0.5


@pytest.mark.parametrize("density", [0.02, 0.3, 0.7])
def test_random_specks_are_not_read_as_a_digit(density):
    noise = (np.random.default_rng(0).random((280, 280)) < density).astype(np.uint8) * 255
    result = preprocess_digit(noise)
    assert result.image is None and "specks" in result.reason


def test_euler_number_counts_pieces_minus_holes():
    for kind, euler in (("1", 1), ("7", 1), ("0", 0)):
        assert euler_number(ink_mask(to_ink(draw_digit(kind)))) == euler
    two = np.zeros((20, 20), bool)
    two[2:5, 2:5] = two[10:15, 10:15] = True
    two[12, 12] = False  # a hole in the second piece
    assert euler_number(two) == 1


def test_stroke_normalisation_makes_a_fat_brush_digit_look_like_a_thin_one():
    for kind in ("7", "1", "0"):
        thin = draw_digit(kind, brush=8)  # a large digit, a thin brush
        fat = draw_digit(kind, brush=18, box=(100, 100, 150, 160))  # small digit, fat brush
        ref = ink_sum(preprocess_digit(thin))
        normalised = ink_sum(preprocess_digit(fat))
        raw = ink_sum(preprocess_digit(fat, normalize_stroke=False))
        assert 0.75 < normalised / ref < 1.33, kind
        assert raw / ref > 1.8, kind  # without it the fat digit is a blob


def test_stroke_width_after_normalisation_is_mnist_like():
    for brush, box in ((4, (60, 40, 220, 240)), (10, (60, 40, 220, 240)), (30, (60, 40, 220, 240))):
        img = preprocess_digit(draw_digit("0", brush=brush, box=box)).image
        assert 0.7 * MNIST_STROKE < stroke_width(img > 0.5) < 1.4 * MNIST_STROKE, brush


def test_thinning_keeps_thin_parts_of_a_thick_small_digit():
    # the 7's stem is as wide as its bar, but its corner is a blob: thinning must not cut the stem
    fit = preprocess_digit(draw_digit("7", brush=30, box=(100, 100, 160, 170))).stages["fit20"]
    assert fit.shape[0] == 20  # still as tall as wide or taller: the stem is there
    assert fit[-3:].max() > 0.5


def test_deskew_straightens_a_slanted_stroke():
    img = draw_digit("slanted 1", brush=10, box=(90, 40, 190, 240))

    def slant(a):
        ys, xs = np.mgrid[0:28, 0:28]
        cy, cx = centre_of_mass(a)
        return float(((ys - cy) * (xs - cx) * a).sum() / ((ys - cy) ** 2 * a).sum())

    plain = preprocess_digit(img)
    upright = preprocess_digit(img, deskew=True)
    assert abs(slant(plain.image)) > 0.3
    assert abs(slant(upright.image)) < 0.05
    assert "deskew" in upright.stages and upright.info["skew"] == pytest.approx(-0.5, abs=0.1)


def test_every_flag_combination_returns_a_28x28_image():
    canvas = draw_digit("7", brush=12, box=(30, 120, 120, 250))  # small, off-centre
    names = ("normalize_stroke", "deskew", "centre", "fit", "crop")
    for values in itertools.product((False, True), repeat=len(names)):
        flags = dict(zip(names, values, strict=True))
        result = preprocess_digit(canvas, **flags)
        assert result.ok, flags
        img = result.image
        assert img.shape == (28, 28) and img.dtype == np.float32, flags
        assert 0.0 <= img.min() and img.max() <= 1.0 and img.sum() > 5, flags
        assert list(result.stages)[-1] == ("centred" if flags["centre"] else "placed")
        assert ("crop" in result.stages) == flags["crop"]
        assert ("fit20" in result.stages) == flags["fit"]
        assert ("stroke" in result.stages) == flags["normalize_stroke"]
        assert not img.flags.writeable


def test_with_every_stage_off_the_canvas_is_simply_resized():
    canvas = draw_digit("7", brush=12, box=(30, 120, 120, 250))
    off = dict(normalize_stroke=False, centre=False, fit=False, crop=False)
    img = preprocess_digit(canvas, **off).image
    naive = Image.fromarray(to_ink(canvas)).resize((28, 28), Image.Resampling.LANCZOS)
    np.testing.assert_allclose(img, np.clip(np.asarray(naive), 0, 1), atol=1e-5)
    # the digit stays where it was drawn (lower left) and as small as it was drawn
    cy, cx = centre_of_mass(img)
    assert cy > 14.5 and cx < 10
    # crop + fit + centre repair that
    full = preprocess_digit(canvas).image
    assert ink_sum(preprocess_digit(canvas)) > 2 * img.sum()
    assert abs(centre_of_mass(full)[0] - COM_TARGET) < 0.5


def test_non_square_canvas_and_small_input():
    wide = np.full((200, 500), 255, np.uint8)
    wide[:, 200:300] = draw_digit("1", size=200, box=(30, 20, 170, 180))[:, 50:150]
    assert preprocess_digit(wide).image.shape == (28, 28)
    for flags in ({}, {"crop": False, "fit": False}, {"crop": False}):
        assert preprocess_digit(wide, **flags).image.shape == (28, 28)
    # an MNIST-sized input is accepted as well (upscaled internally for the stroke work)
    small = np.asarray(Image.fromarray(draw_digit("7")).resize((28, 28), Image.Resampling.BOX))
    assert preprocess_digit(small).ok


def test_input_types_and_errors():
    u8 = draw_digit("7")
    f32 = u8.astype(np.float32) / 255
    np.testing.assert_allclose(preprocess_digit(u8).image, preprocess_digit(f32).image, atol=1e-5)
    rgba = np.dstack([u8, u8, u8, np.full_like(u8, 255)])
    np.testing.assert_allclose(preprocess_digit(rgba).image, preprocess_digit(u8).image, atol=1e-4)
    assert as_gray(u8).dtype == np.float32
    with pytest.raises(ValueError, match="2-D"):
        preprocess_digit(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="0..1"):
        preprocess_digit(f32 * 255)
    with pytest.raises(ValueError, match="0..1"):
        preprocess_digit(np.full((10, 10), np.nan))


def test_load_image_composites_transparency_on_white(tmp_path):
    rgba = Image.new("RGBA", (280, 280), (0, 0, 0, 0))  # transparent black background
    ImageDraw.Draw(rgba).line([(140, 40), (140, 240)], fill=(0, 0, 0, 255), width=12)
    path = tmp_path / "digit.png"
    rgba.save(path)
    gray = load_image(path)
    assert gray.shape == (280, 280) and gray.dtype == np.float32
    assert gray[0, 0] == 1.0 and gray[140, 140] == 0.0
    assert preprocess_digit(gray).ok


def test_load_image_rejects_unreadable_files(tmp_path):
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="cannot read"):
        load_image(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_image(tmp_path / "missing.png")


def test_shift_bilinear_moves_the_centre_of_mass_exactly():
    img = preprocess_digit(draw_digit("0")).image
    cy, cx = centre_of_mass(img)
    moved = shift_bilinear(img, 1.3, -0.6)
    my, mx = centre_of_mass(moved)
    assert my == pytest.approx(cy + 1.3, abs=1e-4) and mx == pytest.approx(cx - 0.6, abs=1e-4)
    assert moved.sum() == pytest.approx(img.sum(), rel=1e-5)


@pytest.mark.parametrize("width", [3, 9, 20])
def test_stroke_width_estimate_does_not_depend_on_direction(width):
    ys, xs = np.mgrid[0:200, 0:200] - 100.0
    for angle in range(0, 180, 15):
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        band = (np.abs(c * ys - s * xs) <= width / 2) & (np.abs(c * xs + s * ys) <= 70)
        true_width = band.sum() / 140  # area / length of the rasterised band
        assert stroke_width(band) == pytest.approx(true_width, rel=0.1), angle
    disc = (ys**2 + xs**2) <= 20**2
    assert stroke_width(disc) == pytest.approx(0.8 * 40, rel=0.1)
