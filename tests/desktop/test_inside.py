"""The Inside area through the window: every view fills after a real (small) training run."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from netcore.data.idx import write_idx
from netcore.data.mnist import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from netcore.train import TrainSettings
from tests.conftest import small_cnn
from tests.desktop.conftest import bar_images, draw_stroke, line

BAR_CNN = small_cnn((1, 28, 28), 2)


@pytest.fixture
def window(window):
    window.resize(1366, 768)
    window.show()
    return window


@pytest.fixture
def bars_folder(tmp_path):
    """Vertical (1) and horizontal (0) bars as an IDX dataset folder."""
    rng = np.random.default_rng(1)
    folder = tmp_path / "bars"
    folder.mkdir()
    for images, labels, n in ((TRAIN_IMAGES, TRAIN_LABELS, 240), (TEST_IMAGES, TEST_LABELS, 60)):
        x, y = bar_images(n, rng)
        write_idx(folder / images, (x.reshape(n, 28, 28) * 255).astype(np.uint8))
        write_idx(folder / labels, y.astype(np.uint8))
    return folder


def open_view(window, kind: str):
    dock = window.inside.docks[kind]
    dock.show()
    return getattr(window.inside, kind)


def train(qtbot, window, epochs: int, timeout: int = 60000):
    window.training.epochs.setValue(epochs)
    with qtbot.waitSignal(window.controller.training_finished, timeout=timeout) as finished:
        window.train()
    return finished.args[0]


def train_bars(qtbot, window, folder) -> None:
    window.designer.set_spec(BAR_CNN)
    window.training.add_custom_dataset("IDX: bars", f"idx:{folder}")
    window.training.set_settings(TrainSettings(epochs=3, batch_size=16, optimizer="adam", lr=0.01))
    assert train(qtbot, window, 3).status == "finished"


def test_decision_boundary_fills_live_and_matches_the_network(qtbot, window):
    window._load_template("xor")
    view = open_view(window, "decision")
    published = []
    window.controller.weights_published.connect(published.append)
    train(qtbot, window, 1500)
    qtbot.waitUntil(
        lambda: view.grid is not None and len(window.inspection.timings["decision"]) > 1, timeout=10000
    )
    net = window.controller.network
    qtbot.waitUntil(lambda: window.inspection._running is None, timeout=5000)
    window.inspection.refresh("decision")
    qtbot.waitUntil(
        lambda: window.inspection._running is None and not window.inspection._waiting, timeout=5000
    )
    grid = view.grid
    assert grid.probabilities.shape == (200, 200, 2)
    ix, iy = [0, 199, 100], [0, 199, 50]
    points = np.array([[grid.xs[i], grid.ys[j]] for i, j in zip(ix, iy, strict=True)], np.float32)
    expected = net.loss.probabilities(net.forward(points))
    np.testing.assert_allclose(grid.probabilities[iy, ix], expected, atol=1e-5)
    data = window.controller.dataset(window.controller.data_choice)
    assert len(view.train_points.data) == len(data.x_train) and len(view.test_points.data) == len(data.x_test)
    assert published, "the worker publishes weights mid-run while the map is visible"


def test_hovering_a_neuron_in_the_drawing_shows_its_own_map(qtbot, window):
    window._load_template("xor")
    view = open_view(window, "decision")
    train(qtbot, window, 200)
    qtbot.waitUntil(lambda: view.grid is not None, timeout=10000)
    drawing = window.designer.view
    hidden = next(g for g in drawing._geometry if g.column.index == 0 and g.centres)
    centre = hidden.centres[1]
    pos = QPoint(round(centre.x() * drawing.zoom()), round(centre.y() * drawing.zoom()))
    assert drawing.neuron_at(QPointF(pos)) == (0, 1)
    hover = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), drawing.mapToGlobal(QPointF(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(drawing, hover)  # QTest.mouseMove sends no event without a button offscreen
    assert view.neuron == (0, 1)
    np.testing.assert_array_equal(view.image.image, view.grid.layers[0].values[..., 1])
    drawing.track_neuron(None)  # the pointer left the drawing
    assert view.neuron is None and view.image.image.ndim == 3  # the class colours again
    drawing.neuron_clicked.emit(0, 1)
    drawing.track_neuron(None)
    assert view.neuron == (0, 1)  # a clicked neuron stays


@pytest.mark.qt_log_ignore("does not support raise")
def test_activations_follow_the_drawing_and_confusion_opens_the_right_images(qtbot, window, bars_folder):
    acts, conf = open_view(window, "activations"), open_view(window, "confusion")
    conf.window().inside.docks["confusion"].setFloating(True)  # both visible at once
    train_bars(qtbot, window, bars_folder)
    inspection = window.inspection
    # confusion after training: counts sum to the test size, the diagonal gives the accuracy
    qtbot.waitUntil(lambda: conf.matrix is not None and inspection._confusion is not None, timeout=10000)
    result, data = inspection._confusion
    assert conf.matrix.sum() == len(data.y_test) == 60
    net = window.controller.network
    predicted = net.predict(data.x_test).argmax(axis=1)
    assert np.trace(conf.matrix) == np.count_nonzero(predicted == data.y_test)
    # click the (1, 1) cell of the matrix on screen
    plot = conf.plot
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(1.5, 1.5))
    QTest.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene))
    qtbot.waitUntil(lambda: conf.cell == (1, 1), timeout=2000)
    wanted = np.flatnonzero((data.y_test == 1) & (predicted == 1))
    shown = [conf.gallery.item(i).data(Qt.ItemDataRole.UserRole) for i in range(conf.gallery.count())]
    assert shown == wanted.tolist()
    # a gallery image goes to the pad, and the activations follow it
    item = conf.gallery.item(2)
    QTest.mouseClick(
        conf.gallery.viewport(), Qt.MouseButton.LeftButton, pos=conf.gallery.visualItemRect(item).center()
    )
    index = shown[2]
    qtbot.waitUntil(lambda: acts.result is not None and acts.result["image"].sum() > 0, timeout=5000)
    np.testing.assert_allclose(window.digits.pad.image()[::10, ::10].sum() > 0, True)
    assert str(index) in window.digits.status_label.text()
    # the layers' outputs are the network's, for the image the pad reads
    qtbot.waitUntil(lambda: not inspection._waiting and inspection._running is None, timeout=5000)
    reading = window.digits.reading()
    np.testing.assert_allclose(acts.result["image"], reading.image)
    scores = window.controller.display_network.forward(reading.image.reshape(1, 1, 28, 28))[0]
    np.testing.assert_allclose(acts.result["layers"][-1][2], scores, rtol=1e-4, atol=1e-5)
    assert acts.result["filters"].shape == (4, 1, 3, 3)
    assert acts.result["saliency"].shape == (28, 28)
    assert acts.result["layers"][0][2].shape == (4, 28, 28)
    # drawing a new stroke: the view follows
    before = acts.result["image"].copy()
    window.digits.pad.clear()
    draw_stroke(window.digits.pad, line(60, 140, 220, 140))
    qtbot.waitUntil(lambda: not np.array_equal(acts.result["image"], before), timeout=5000)
    qtbot.waitUntil(lambda: not inspection._waiting and inspection._running is None, timeout=5000)
    np.testing.assert_allclose(acts.result["image"], window.digits.reading().image)


def test_health_fills_with_hints_and_the_gradient_check_table(qtbot, window):
    window._load_template("xor")
    health = open_view(window, "health")
    train(qtbot, window, 50)
    series = health.series
    assert series is not None and len(series.epochs) == 50
    assert health.slider.maximum() == 49 and health.slider.value() == 49
    assert health.grad.getPlotItem().listDataItems()  # one curve per layer
    assert health.hints.text()
    health.slider.setValue(0)
    assert health.slider_label.text() == "epoch 1"
    # Train > Check gradients
    table = window.inside.gradcheck
    window.act_gradcheck.trigger()
    qtbot.waitUntil(lambda: table.result is not None, timeout=30000)
    names = [table.table.item(r, 0).text() for r in range(table.table.rowCount())]
    assert names == list(window.controller.network.named_params())
    assert all(table.table.item(r, 5).text() == "pass" for r in range(len(names)))
    assert table.result.passed and not table.progress.isVisible()


def test_closed_views_cost_nothing(qtbot, window):
    window._load_template("xor")
    published = []
    window.controller.weights_published.connect(published.append)
    train(qtbot, window, 300)
    assert not any(window.inspection.timings.values()) and not published
    assert window.controller._live_rate == 0.0
    view = open_view(window, "decision")  # opening it computes for the trained network at once
    qtbot.waitUntil(lambda: view.grid is not None, timeout=5000)
    assert window.controller._live_rate > 0


def test_the_live_map_comes_with_its_picture_and_slows_down_when_its_repaints_are_costly(qtbot, window):
    from desktop.inspection import INTERVAL, UI_SHARE
    from desktop.widgets.inside.pictures import class_blend

    window._load_template("xor")
    view = open_view(window, "decision")
    train(qtbot, window, 200)
    qtbot.waitUntil(lambda: view.grid is not None and window.inspection._running is None, timeout=5000)
    np.testing.assert_array_equal(
        view.image.image, class_blend(view.grid.probabilities)
    )  # made off the UI thread
    assert view.ui_seconds() > 0  # show_grid and its repaint were timed

    inspection = window.inspection
    view.ui_seconds = lambda: 0.1  # as if each refresh cost the UI thread 100 ms
    window.controller.state = "training"
    inspection._last_start["decision"] = __import__("time").monotonic()
    inspection.refresh("decision")
    assert inspection._timer.isActive() and "decision" in inspection._waiting
    assert inspection._timer.remainingTime() > 1000 * max(INTERVAL["decision"], 0.9 * 0.1 / UI_SHARE) - 50
    window.controller.state = "idle"  # idle: the usual interval again
    inspection._timer.stop()
    inspection._pump()
    assert inspection._timer.remainingTime() <= 1100 * INTERVAL["decision"] + 5  # a coarse timer: +-5 %


def test_a_closed_window_starts_no_inspection_task(qtbot, window):
    window._load_template("xor")
    view = open_view(window, "decision")
    train(qtbot, window, 50)
    qtbot.waitUntil(lambda: view.grid is not None and window.inspection._running is None, timeout=5000)
    qtbot.waitUntil(lambda: window.controller.threads.count() == 0, timeout=5000)
    window.close_discarding()
    window.inspection._waiting["decision"] = window.inspection._job_decision  # as a late callback would
    window.inspection._pump()
    assert window.controller.threads.count() == 0 and not window.inspection._waiting
