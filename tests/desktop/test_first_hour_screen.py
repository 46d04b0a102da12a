"""Issue 14, Screen: the window fits a laptop screen, and nothing jumps under the hand."""

import pytest
from PySide6.QtCore import QPoint, QRect

from tests.desktop.conftest import draw_stroke, line


def on_window(window, widget) -> QRect:
    """``widget``'s rectangle in the window's coordinates, if it is shown whole (else an empty rect)."""
    if not widget.isVisible() or widget.visibleRegion().boundingRect() != widget.rect():
        return QRect()  # hidden, or clipped by a scroll area or a panel edge
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def plot_rects(window) -> list[QRect]:
    """The loss and accuracy plots (pyqtgraph items) in window coordinates."""
    view = window.plot.view
    whole = on_window(window, view.viewport())  # the view itself is covered by its viewport
    rects = []
    for item in (window.plot.loss_plot, window.plot.acc_plot):
        box = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        inside = view.rect().contains(box) and not whole.isEmpty()
        rects.append(box.translated(whole.topLeft()) if inside else QRect())
    return rects


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_train_stop_progress_and_both_plots_are_shown_whole_on_a_laptop_screen(qtbot, window, size):
    window.show()
    window.resize(*size)
    window.reset_layout()  # as on a first start on that screen
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    t = window.training
    named = {
        "Train": on_window(window, t.train_button),
        "Stop": on_window(window, t.stop_button),
        "progress": on_window(window, t.progress),
    }
    named["loss plot"], named["accuracy plot"] = plot_rects(window)
    for name, rect in named.items():
        assert not rect.isEmpty(), f"{name} is not shown whole at {size}"
        assert window.rect().contains(rect), f"{name} is outside the window at {size}"
    rects = list(named.items())
    for i, (a, ra) in enumerate(rects):
        for b, rb in rects[i + 1 :]:
            assert not ra.intersects(rb), f"{a} overlaps {b} at {size}"
    for rect in named.values():
        assert rect.height() >= 20
    assert named["loss plot"].height() >= 100 and named["accuracy plot"].height() >= 100


def test_the_window_asks_for_no_more_than_a_small_screen(window):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720


def test_panels_have_titles_and_can_be_hidden_and_put_back(qtbot, window):
    window.show()
    titles = {dock.windowTitle() for dock in window.docks()}
    assert {"Drawing pad", "Live plot", "Training"} <= titles
    pad = window.panels["pad"]
    pad.toggleViewAction().trigger()
    assert not pad.isVisible()
    window.act_reset_layout.trigger()
    assert pad.isVisible()


def test_the_preprocessing_thumbnails_keep_their_room_so_nothing_below_moves(qtbot, bar_network):
    from desktop.widgets.digit_panel import DigitPanel
    from netcore.network import Network

    panel = DigitPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.wait(20)

    def below() -> tuple[int, int]:
        qtbot.wait(20)
        return panel.status_label.mapTo(panel, QPoint(0, 0)).y(), panel.sizeHint().height()

    empty = below()  # no model: no thumbnails
    panel.set_network(bar_network, "bars")
    draw_stroke(panel.pad, line(140, 60, 140, 220))
    qtbot.waitUntil(lambda: len(panel.inspector.stage_names()) > 3, timeout=2000)
    assert below() == empty  # they appeared
    xor = Network({"input_shape": [2], "layers": [{"type": "dense", "units": 1}], "loss": "mse"}, seed=0)
    panel.set_network(xor, "xor")
    assert panel.inspector.stage_names() == [] and below() == empty  # and vanished
