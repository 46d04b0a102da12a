"""The live plot: bounded redraws, history, previous runs, exports."""

import csv

import numpy as np
from PIL import Image

from desktop.widgets.plot import REFRESH_HZ, LivePlot
from netcore.train import BatchStats, EpochStats


def feed(plot, epochs=2, batches=50):
    for e in range(1, epochs + 1):
        for b in range(1, batches + 1):
            plot.add_batch(BatchStats(e, b, batches, 1.0 / (e * b), 0.5 + b / (2 * batches), 0.01, b, 100.0))
        plot.add_epoch(EpochStats(e, 0.5 / e, 0.8, 0.6 / e, 0.75, 1.0, 0.01))


def test_redraws_are_bounded_however_many_points_arrive(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    before = plot.redraws
    feed(plot, epochs=5, batches=400)  # 2,000 batch points at once
    qtbot.wait(int(3 * 1000 / REFRESH_HZ) + 20)
    assert 1 <= plot.redraws - before <= 5
    assert plot.series["batch_loss"].n == 2000 and plot.series["val_loss"].n == 5


def test_history_and_faint_previous_runs(qtbot):
    plot = LivePlot()
    qtbot.addWidget(plot)
    feed(plot)
    plot.new_run()
    assert plot.series["batch_loss"].n == 0 and len(plot._previous) == 4
    plot.set_history([{"epoch": 1, "loss": 0.4, "accuracy": 0.9, "val_loss": None, "val_accuracy": None}])
    assert plot.series["loss"].n == 1 and plot.series["val_loss"].n == 0 and plot._previous == []


def test_exports_csv_and_png(qtbot, tmp_path):
    plot = LivePlot()
    qtbot.addWidget(plot)
    plot.resize(800, 500)
    feed(plot)
    plot.export_csv(tmp_path / "curves.csv")
    rows = list(csv.DictReader(open(tmp_path / "curves.csv")))
    assert {r["series"] for r in rows} >= {"batch_loss", "loss", "val_loss", "acc"}
    assert sum(r["series"] == "batch_loss" for r in rows) == 100
    plot.export_png(tmp_path / "plot.png")
    image = Image.open(tmp_path / "plot.png")
    assert image.width >= 800 and len(np.unique(np.asarray(image.convert("L")))) > 2  # not blank


def test_tiny_epochs_arrive_as_arrays_and_are_drawn_thinned(qtbot):
    from desktop.widgets.plot import MAX_MARKERS

    plot = LivePlot()
    qtbot.addWidget(plot)
    epochs = [EpochStats(e, 1.0 / e, 0.5, None, None, 0.0, 0.1) for e in range(1, 50_001)]
    plot.add_epochs(epochs[:3])  # a few one by one
    plot.add_epochs(epochs[3:])  # then a group
    assert plot.series["loss"].n == 50_000 and plot.series["val_loss"].n == 0
    assert plot.series["loss"].high == 1.0
    plot._refresh()
    x, y = plot.curves["loss"].getData()
    assert len(x) <= MAX_MARKERS + 1
    assert x[-1] == 50_000 and y[-1] == 1.0 / 50_000  # the newest epoch is always drawn
    assert x[0] == 1 and np.all(np.diff(x) > 0)
    kept = set(x[:-1])
    plot.add_epochs([EpochStats(50_001, 0.1, 0.5, None, None, 0.0, 0.1)])
    plot._refresh()
    assert kept <= set(plot.curves["loss"].getData()[0])  # the same markers as before: no flicker


def test_a_redraw_hands_pyqtgraph_only_the_curves_that_changed(qtbot, monkeypatch):
    plot = LivePlot()
    qtbot.addWidget(plot)
    feed(plot)
    plot._refresh()
    handed = []
    for key, curve in plot.curves.items():
        monkeypatch.setattr(curve, "setData", lambda *a, key=key, **k: handed.append(key))
    plot.add_batch(BatchStats(3, 1, 50, 0.2, 0.9, 0.01, 1, 100.0))
    qtbot.waitUntil(lambda: bool(handed), timeout=1000)
    assert sorted(handed) == ["batch_acc", "batch_loss"]
    assert not plot.timer.isActive()  # nothing waits: the plot's timer sleeps
