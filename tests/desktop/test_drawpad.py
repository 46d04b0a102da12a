"""The draw pad: strokes from real mouse events, clear, undo, keys, throttled signal, set_image."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.widgets.drawpad import EMIT_INTERVAL_MS, SIDE, DrawPad
from tests.desktop.conftest import draw_stroke, line


@pytest.fixture
def pad(qtbot) -> DrawPad:
    widget = DrawPad()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def ink_box(image: np.ndarray, level: float = 0.05) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive, of pixels above ``level``."""
    ys, xs = np.nonzero(image > level)
    return int(ys.min()), int(xs.min()), int(ys.max()), int(xs.max())


def test_a_new_pad_is_empty(pad):
    image = pad.image()
    assert image.shape == (SIDE, SIDE) and image.dtype == np.float32
    assert image.max() == 0.0
    assert pad.is_empty()


def test_a_stroke_inks_where_drawn_and_nowhere_else(pad):
    pad.set_brush_width(18)
    draw_stroke(pad, line(140, 60, 140, 220))
    image = pad.image()
    assert pad.stroke_count() == 1
    assert image.max() <= 1.0 and image.min() >= 0.0
    assert image[60:221, 140].min() > 0.95  # solid along the path
    top, left, bottom, right = ink_box(image)
    # round caps: the ink reaches half a brush width (9 px) past the ends, plus anti-aliasing
    assert 49 <= top <= 52 and 228 <= bottom <= 231
    assert 129 <= left <= 132 and 148 <= right <= 151
    assert image[:, :125].max() == 0.0 and image[:, 156:].max() == 0.0


def test_brush_width_sets_the_stroke_width(pad):
    pad.set_brush_width(6)
    draw_stroke(pad, line(60, 40, 60, 240))
    pad.set_brush_width(30)
    draw_stroke(pad, line(200, 40, 200, 240))
    row = pad.image()[140]
    thin = np.count_nonzero(row[:130] > 0.5)
    thick = np.count_nonzero(row[130:] > 0.5)
    assert 5 <= thin <= 7 and 29 <= thick <= 31


def test_a_click_leaves_a_round_dot(pad):
    pad.set_brush_width(20)
    draw_stroke(pad, [(100, 100)])
    image = pad.image()
    top, left, bottom, right = ink_box(image, 0.5)
    assert (bottom - top, right - left) in {(19, 19), (20, 20), (21, 21)}
    assert image[100, 100] > 0.95
    assert image[91, 91] < 0.5  # a disc, not a square: the corner of its box stays dark


def test_clear_empties_the_pad(pad, qtbot):
    draw_stroke(pad, line(40, 40, 200, 200))
    with qtbot.waitSignal(pad.image_changed, timeout=1000):
        pad.clear()
    assert pad.image().max() == 0.0 and pad.is_empty()


def test_undo_removes_the_last_stroke_only(pad, qtbot):
    draw_stroke(pad, line(140, 40, 140, 240))
    after_first = pad.image()
    draw_stroke(pad, line(30, 140, 250, 140))
    assert pad.image()[140, 40] > 0.9
    with qtbot.waitSignal(pad.image_changed, timeout=1000):
        assert pad.undo()
    np.testing.assert_array_equal(pad.image(), after_first)
    assert pad.stroke_count() == 1
    assert pad.undo() and not pad.undo()  # nothing left to undo
    assert pad.image().max() == 0.0


def test_ctrl_z_undoes_and_esc_clears(pad):
    draw_stroke(pad, line(140, 40, 140, 240))
    draw_stroke(pad, line(30, 140, 250, 140))
    pad.setFocus()
    QTest.keyClick(pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert pad.stroke_count() == 1
    assert pad.image()[140, 40] == 0.0 and pad.image()[100, 140] > 0.9
    QTest.keyClick(pad, Qt.Key.Key_Escape)
    assert pad.is_empty() and pad.image().max() == 0.0


def test_right_click_clears(pad):
    draw_stroke(pad, line(40, 40, 200, 200))
    QTest.mouseClick(pad, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 100))
    assert pad.is_empty() and pad.image().max() == 0.0


def test_image_changed_is_throttled_while_drawing_and_sent_at_stroke_end(pad, qtbot):
    emitted = []
    pad.image_changed.connect(lambda: emitted.append(True))
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(50, 50))
    start = time.monotonic()
    moves = line(50, 50, 200, 200, steps=40)
    for x, y in moves:
        QTest.mouseMove(pad, QPoint(x, y))
        qtbot.wait(5)
    qtbot.waitUntil(lambda: len(emitted) >= 1, timeout=1000)  # sent while the button is still held
    elapsed = time.monotonic() - start
    during = len(emitted)
    assert during <= elapsed / (EMIT_INTERVAL_MS / 1000) + 1  # at most one per interval
    assert during < len(moves) // 2
    assert pad.image()[125, 125] > 0.9
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    assert len(emitted) == during + 1  # the stroke end is reported at once
    qtbot.wait(2 * EMIT_INTERVAL_MS)
    assert len(emitted) == during + 1  # and nothing is left pending after it


def test_moving_without_a_button_draws_nothing(pad):
    for x, y in line(20, 20, 250, 250):
        QTest.mouseMove(pad, QPoint(x, y))
    assert pad.image().max() == 0.0


def test_set_image_shows_a_picture_and_replaces_the_strokes(pad, qtbot):
    draw_stroke(pad, line(30, 140, 250, 140))
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:15] = 1.0  # a vertical bar, MNIST-sized
    with qtbot.waitSignal(pad.image_changed, timeout=1000):
        pad.set_image(digit)
    image = pad.image()
    assert image[140, 140] > 0.9  # the bar, scaled 10x
    assert image[140, 40] == 0.0  # the old stroke is gone
    assert image[:30].max() < 0.05 and image[:, :120].max() < 0.05
    assert pad.stroke_count() == 0 and not pad.is_empty()
    draw_stroke(pad, line(30, 250, 250, 250))  # strokes go on top of the picture
    assert pad.image()[250, 40] > 0.9 and pad.image()[140, 140] > 0.9
    pad.undo()
    np.testing.assert_array_equal(pad.image(), image)
    pad.clear()
    assert pad.image().max() == 0.0


def test_set_image_rejects_what_is_not_a_picture(pad):
    with pytest.raises(ValueError, match="2-D"):
        pad.set_image(np.zeros(10))
    with pytest.raises(ValueError, match="brush width"):
        pad.set_brush_width(0)


def test_the_hint_is_drawn_on_screen_but_is_not_ink(pad):
    shown = pad.grab().toImage()
    centre = [shown.pixelColor(x, SIDE // 2).lightness() for x in range(60, 220)]
    assert max(centre) > 60  # "draw a digit" is visible
    assert pad.image().max() == 0.0
    pad.set_message("no model")
    assert pad.message() == "no model"
