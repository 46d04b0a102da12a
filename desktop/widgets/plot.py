"""The live loss/accuracy plot (pyqtgraph).

Curves are created once and fed with ``setData`` from a timer at most
``REFRESH_HZ`` times a second, however fast batches arrive. Batch points are
smoothed with an exponential moving average; epoch points are drawn as markers.
Earlier runs stay as faint curves for comparison.

Axes are the expensive part of a pyqtgraph repaint (tick text), and they are
redrawn whenever a view range changes; so the ranges do not follow every point:
x spans the planned run, and the loss axis moves only when the data leave it or
shrink well inside it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from netcore.train import BatchStats, EpochStats

REFRESH_HZ = 20
SMOOTHING = 0.9  # EMA weight of the past for batch curves
KEPT_RUNS = 3
TRAIN_COLOUR = (31, 119, 180)
VAL_COLOUR = (255, 127, 14)


class Series:
    """A growing (x, y) series in numpy arrays, doubled when full."""

    def __init__(self) -> None:
        self.x = np.empty(1024)
        self.y = np.empty(1024)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class LivePlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        self.view = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.loss_plot = self.view.addPlot(row=0, col=0, title="loss")
        self.acc_plot = self.view.addPlot(row=1, col=0, title="accuracy")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setLabel("bottom", "epoch")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.addLegend(offset=(-10, 10))
            plot.getAxis("bottom").enableAutoSIPrefix(False)  # epochs, never "x0.001"
        self.acc_plot.setYRange(0, 1.0, padding=0.02)
        self.loss_plot.enableAutoRange(y=False)
        self._loss_top = 1.0
        self.loss_plot.setYRange(0, self._loss_top, padding=0.02)
        self._previous: list[pg.PlotDataItem] = []
        self._make_curves()
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REFRESH_HZ))
        self.timer.timeout.connect(self._refresh)
        self.timer.start()
        self.redraws = 0  # how many times curves were redrawn (tests check the rate bound)

    def _make_curves(self) -> None:
        self.series = {
            name: Series() for name in ("batch_loss", "batch_acc", "loss", "acc", "val_loss", "val_acc")
        }
        self._ema: dict[str, float | None] = {"loss": None, "acc": None}
        thin = {"width": 1.5}
        self.curves = {
            "batch_loss": self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, **thin), name="train (per batch)"),
            "loss": self.loss_plot.plot(
                pen=None, symbol="o", symbolSize=7, symbolBrush=TRAIN_COLOUR, name="train (epoch)"
            ),
            "val_loss": self.loss_plot.plot(
                pen=pg.mkPen(VAL_COLOUR, width=2),
                symbol="s",
                symbolSize=7,
                symbolBrush=VAL_COLOUR,
                name="validation",
            ),
            "batch_acc": self.acc_plot.plot(pen=pg.mkPen(TRAIN_COLOUR, **thin)),
            "acc": self.acc_plot.plot(pen=None, symbol="o", symbolSize=7, symbolBrush=TRAIN_COLOUR),
            "val_acc": self.acc_plot.plot(
                pen=pg.mkPen(VAL_COLOUR, width=2), symbol="s", symbolSize=7, symbolBrush=VAL_COLOUR
            ),
        }

    # -- ranges --------------------------------------------------------------------------
    def start_run(self, first_epoch: int, planned_epochs: int) -> None:
        """Fix the x axis to the epochs this run will cover (and what came before)."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.enableAutoRange(x=False)
        self.loss_plot.setXRange(0, first_epoch + planned_epochs, padding=0.02)

    def _fit_loss_axis(self) -> None:
        highest = max(
            (float(np.max(s.data()[1])) for k, s in self.series.items() if "loss" in k and s.n), default=0.0
        )
        if not np.isfinite(highest) or highest <= 0:
            return
        if highest > self._loss_top or highest < self._loss_top / 3:
            self._loss_top = highest * 1.1
            self.loss_plot.setYRange(0, self._loss_top, padding=0.02)

    def _fit_x_axis(self) -> None:
        """After loading a history: show all of it."""
        last = max((float(s.data()[0][-1]) for s in self.series.values() if s.n), default=1.0)
        self.loss_plot.setXRange(0, max(1.0, last), padding=0.02)

    # -- feeding -------------------------------------------------------------------------
    def add_batch(self, stats: BatchStats) -> None:
        x = stats.epoch - 1 + stats.batch / stats.batches
        self.series["batch_loss"].append(x, self._smooth("loss", stats.loss))
        if stats.accuracy is not None:
            self.series["batch_acc"].append(x, self._smooth("acc", stats.accuracy))
        self._dirty = True

    def _smooth(self, key: str, value: float) -> float:
        previous = self._ema[key]
        self._ema[key] = value if previous is None else SMOOTHING * previous + (1 - SMOOTHING) * value
        return self._ema[key]

    def add_epoch(self, stats: EpochStats | dict) -> None:
        row = stats.to_dict() if isinstance(stats, EpochStats) else stats
        x = float(row["epoch"])
        for key, name in (
            ("loss", "loss"),
            ("accuracy", "acc"),
            ("val_loss", "val_loss"),
            ("val_accuracy", "val_acc"),
        ):
            value = row.get(key)
            if value is not None and np.isfinite(value):
                self.series[name].append(x, value)
        self._dirty = True

    def set_history(self, history: list[dict]) -> None:
        """Show a saved model's per-epoch history (no batch curves)."""
        self.clear()
        for row in history:
            self.add_epoch(row)
        self._refresh()
        self._fit_x_axis()

    def new_run(self) -> None:
        """Keep the current curves as faint ones and start empty ones."""
        if self.series["batch_loss"].n or self.series["loss"].n:
            for key in ("batch_loss", "batch_acc", "loss", "acc"):
                x, y = self.series[key].data()
                if len(x):
                    plot = self.loss_plot if "loss" in key else self.acc_plot
                    faint = plot.plot(x.copy(), y.copy(), pen=pg.mkPen((150, 150, 150, 90), width=1))
                    faint.setZValue(-10)
                    self._previous.append(faint)
            while len(self._previous) > 4 * KEPT_RUNS:
                old = self._previous.pop(0)
                old.getViewBox().removeItem(old) if old.getViewBox() else None
        self._reset_series()

    def clear(self) -> None:
        for item in self._previous:
            if item.getViewBox() is not None:
                item.getViewBox().removeItem(item)
        self._previous = []
        self._reset_series()

    def _reset_series(self) -> None:
        for key in self.series:
            self.series[key] = Series()
        self._ema = {"loss": None, "acc": None}
        self._dirty = True
        self._refresh()

    def _refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        for key, curve in self.curves.items():
            curve.setData(*self.series[key].data())
        self._fit_loss_axis()

    # -- export --------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> None:
        """Every point: series name, x (epochs), value."""
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["series", "epoch", "value"])
            for key, series in self.series.items():
                for x, y in zip(*series.data(), strict=True):
                    writer.writerow([key, f"{x:.6g}", f"{y:.6g}"])

    def export_png(self, path: str | Path) -> None:
        from pyqtgraph.exporters import ImageExporter

        self._refresh()
        exporter = ImageExporter(self.view.scene())
        exporter.parameters()["width"] = max(800, self.view.width())
        exporter.export(str(path))
