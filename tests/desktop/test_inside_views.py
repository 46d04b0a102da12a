"""The Inside views on plain arrays: colours mean what their legends say, cells map to samples."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from desktop.widgets.inside.confusion import MISTAKE, ConfusionView, cell_colours
from desktop.widgets.inside.gradcheck import GradCheckView
from desktop.widgets.inside.pictures import CLASS_RGB, class_blend, tile
from netcore.inspect import gradient_check


def test_class_blend_is_the_class_colour_when_sure_and_white_at_a_uniform_guess():
    p = np.array([[[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]], np.float32)
    rgb = class_blend(p)
    np.testing.assert_array_equal(rgb[0, 0], CLASS_RGB[0].astype(np.uint8))
    assert rgb[0, 1].min() > 180  # pale: the model cannot tell


def test_tile_lays_maps_out_in_a_grid_with_gutters():
    maps = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    out = tile(maps, columns=3)
    assert out.shape == (2 * 4 - 1, 3 * 5 - 1)
    np.testing.assert_array_equal(out[4:7, 5:9], maps[4])
    assert np.isnan(out[3]).all()  # the gutter between the rows


def test_a_single_mistake_shows_and_an_empty_cell_stays_white():
    matrix = np.array([[50, 1, 0], [0, 40, 0], [0, 0, 30]])
    share = matrix / matrix.sum(axis=1, keepdims=True)
    rgb = cell_colours(matrix, share).astype(int)
    assert (rgb[0, 2] == 255).all()  # no sample there
    assert np.abs(rgb[0, 1] - MISTAKE).max() < 60  # the one mistake is clearly orange
    assert rgb[1, 1, 2] > rgb[1, 1, 0]  # the diagonal is blue


def test_the_gallery_keeps_the_sample_indices_and_says_how_many_there_are(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.show_confusion(np.array([[3, 2], [1, 4]]), ["a", "b"])
    items = [{"index": i, "image": np.zeros((28, 28)), "text": f"#{i}"} for i in (7, 9)]
    clicked = []
    view.image_clicked.connect(clicked.append)
    view.show_gallery(0, 1, items, 2)
    assert "2 test samples" in view.gallery_title.text()
    view.gallery.itemClicked.emit(view.gallery.item(1))
    assert clicked == [9]


def test_the_counts_are_written_in_their_cells_and_a_click_on_one_picks_that_cell(qtbot):
    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(500, 600)
    view.show()
    qtbot.waitExposed(view)
    view.show_confusion(np.array([[30, 2], [1, 4]]), ["a", "b"])
    cells = {(t, p): (text, dark) for t, p, text, dark in view.numbers.cells}
    assert cells == {(0, 0): ("30", True), (0, 1): ("2", True), (1, 0): ("1", False), (1, 1): ("4", True)}
    clicked = []
    view.cell_clicked.connect(lambda t, p: clicked.append((t, p)))
    # the centre of cell (true 1, predicted 0), through the counts drawn over it
    scene_point = view.plot.getViewBox().mapViewToScene(QPointF(0.5, 1.5))
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.plot.mapFromScene(scene_point))
    assert clicked == [(1, 0)]
    view.show_confusion(np.eye(13, dtype=int), [str(i) for i in range(13)])
    assert view.numbers.cells == []  # 13 classes: too many numbers to read, the colours say it


def test_the_gradient_check_table_marks_a_broken_tensor(qtbot):
    spec = {"input_shape": [3], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}
    result = gradient_check(spec, batch=3)
    broken = result.tensors[0].__class__(
        **{**result.tensors[0].__dict__, "relative_error": 0.3, "passed": False}
    )
    result = result.__class__([broken, *result.tensors[1:]], result.tolerance, result.loss)
    view = GradCheckView()
    qtbot.addWidget(view)
    view.show_check(result)
    assert [view.table.item(r, 5).text() for r in range(2)] == ["FAIL", "pass"]
    assert "disagree" in view.caption.text() and "0.W" in view.caption.text()
