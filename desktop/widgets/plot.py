"""The live loss/accuracy plot (pyqtgraph).

Curves are created once and fed with ``setData`` from a timer at most
``REFRESH_HZ`` times a second, however fast batches arrive. Batch points are
smoothed with an exponential moving average; epoch points are drawn as markers.
Earlier runs stay as faint curves for comparison, each named in the legend ("earlier: xor
on XOR, 1500 epochs"), until ``clear_earlier`` (the button above the plot) removes them.

Axes are the expensive part of a pyqtgraph repaint (tick text), and they are
redrawn whenever a view range changes; so the ranges do not follow every point:
x spans the planned run, and the loss axis moves only when the data leave it or
shrink well inside it. A redraw hands pyqtgraph only the curves that changed, each thinned
to at most ``MAX_LINE_POINTS`` (lines) or ``MAX_MARKERS`` (epoch markers: a run of tiny
epochs has tens of thousands); the timer runs only while something waits to be drawn.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from netcore.train import BatchStats, EpochStats

REFRESH_HZ = 20
MAX_LINE_POINTS = 2000  # points handed to a line per redraw (an even subset; the plot is ~1000 px wide)
MAX_MARKERS = 300  # epoch markers drawn per series (every k-th epoch, k a power of two, and the last)
SMOOTHING = 0.9  # EMA weight of the past per SMOOTHING_SPAN of an epoch (however many batches arrived)
SMOOTHING_SPAN = 0.02
KEPT_RUNS = 3
TRAIN_COLOUR = (31, 119, 180)
VAL_COLOUR = (255, 127, 14)
EARLIER_COLOURS = ((120, 120, 120), (170, 120, 200), (90, 160, 140))  # one grey-ish tone per kept run


class Series:
    """A growing (x, y) series in numpy arrays, doubled when full; ``high`` is the largest y."""

    def __init__(self) -> None:
        self.x = np.empty(1024)
        self.y = np.empty(1024)
        self.n = 0
        self.high = -np.inf

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1
        if y > self.high:
            self.high = y

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        """Append the points (x[i], y[i]) (x, y: (M,))."""
        m = len(x)
        if not m:
            return
        if self.n + m > len(self.x):
            size = max(2 * len(self.x), self.n + m)
            self.x, self.y = np.resize(self.x, size), np.resize(self.y, size)
        self.x[self.n : self.n + m], self.y[self.n : self.n + m] = x, y
        self.n += m
        self.high = max(self.high, float(np.max(y)))

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]

    def thinned(self, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """At most ``limit`` + 1 points: every k-th (k the smallest power of two that fits) and
        the last. k only grows, so the points kept stay the same as the series grows (no flicker)."""
        x, y = self.data()
        if self.n <= limit:
            return x, y
        step = 1 << int(np.ceil(np.log2(self.n / limit)))
        keep = np.arange(0, self.n, step)
        if keep[-1] != self.n - 1:
            keep = np.append(keep, self.n - 1)
        return x[keep], y[keep]


EPOCH_SERIES = (("loss", "loss"), ("accuracy", "acc"), ("val_loss", "val_loss"), ("val_accuracy", "val_acc"))


class LivePlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        self.view = pg.GraphicsLayoutWidget()
        self.earlier_label = QLabel()
        self.clear_button = QPushButton("Clear earlier runs")
        self.clear_button.setToolTip("Remove the faint curves of earlier runs from both plots")
        self.clear_button.clicked.connect(self.clear_earlier)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        bar.addWidget(self.earlier_label, 1)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.loss_plot = self.view.addPlot(row=0, col=0, title="loss")
        self.acc_plot = self.view.addPlot(row=1, col=0, title="accuracy")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setLabel("bottom", "epoch")
        for plot in (self.loss_plot, self.acc_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.addLegend(offset=(-10, 10), colCount=3)  # one line: a short plot keeps its curves
            plot.getAxis("bottom").enableAutoSIPrefix(False)  # epochs, never "x0.001"
        self.acc_plot.setYRange(0, 1.0, padding=0.02)
        self.loss_plot.enableAutoRange(y=False)
        self._loss_top = 1.0
        self.loss_plot.setYRange(0, self._loss_top, padding=0.02)
        self._previous: list[pg.PlotDataItem] = []
        self._runs: list[str] = []  # the labels of the earlier runs shown, oldest first
        self.run_label = ""  # what the current curves are: "<design> on <dataset>"
        self._changed: set[str] = set()  # series with points not drawn yet
        self._make_curves()
        self._show_earlier()
        self.timer = QTimer(self)  # single shot: started by new points, so an idle plot never wakes
        self.timer.setSingleShot(True)
        self.timer.setInterval(int(1000 / REFRESH_HZ))
        self.timer.timeout.connect(self._refresh)
        self.redraws = 0  # how many times curves were redrawn (tests check the rate bound)

    def _make_curves(self) -> None:
        self.series = {
            name: Series() for name in ("batch_loss", "batch_acc", "loss", "acc", "val_loss", "val_acc")
        }
        self._ema: dict[str, float | None] = {"loss": None, "acc": None}
        self._last_x: float | None = None
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
        highest = max((s.high for k, s in self.series.items() if "loss" in k and s.n), default=0.0)
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
        step = x - self._last_x if self._last_x is not None else 0.0
        self._last_x = x
        self.series["batch_loss"].append(x, self._smooth("loss", stats.loss, step))
        self._mark("batch_loss")
        if stats.accuracy is not None:
            self.series["batch_acc"].append(x, self._smooth("acc", stats.accuracy, step))
            self._mark("batch_acc")

    def _mark(self, *keys: str) -> None:
        """These series have new points: draw them at the next redraw (at most REFRESH_HZ a second)."""
        self._changed.update(keys)
        if not self.timer.isActive():
            self.timer.start()

    def _smooth(self, key: str, value: float, step: float) -> float:
        """An EMA in epochs, not in points: batches arrive throttled (fewer on a busy machine),
        and the curve must not lag more because of it."""
        previous = self._ema[key]
        keep = SMOOTHING ** (max(step, 0.0) / SMOOTHING_SPAN)
        self._ema[key] = value if previous is None else keep * previous + (1 - keep) * value
        return self._ema[key]

    def add_epochs(self, epochs: list[EpochStats]) -> None:
        """Several epochs at once (tiny epochs arrive in groups of hundreds): appended as arrays."""
        x = np.array([s.epoch - 1 + (s.fraction or 1.0) for s in epochs], dtype=float)
        for attr, name in EPOCH_SERIES:
            y = np.array([np.nan if (v := getattr(s, attr)) is None else v for s in epochs], dtype=float)
            keep = np.isfinite(y)
            if keep.any():
                self.series[name].extend(x[keep], y[keep])
                self._mark(name)

    def add_epoch(self, stats: EpochStats | dict) -> None:
        row = stats.to_dict() if isinstance(stats, EpochStats) else stats
        x = float(row["epoch"]) - 1 + float(row.get("fraction") or 1.0)  # a stopped epoch: where it stopped
        for key, name in EPOCH_SERIES:
            value = row.get(key)
            if value is not None and np.isfinite(value):
                self.series[name].append(x, value)
                self._mark(name)

    def set_history(self, history: list[dict], keep_earlier: bool = False, label: str = "") -> None:
        """Show a saved model's per-epoch history (no batch curves); earlier runs go unless kept."""
        if keep_earlier:
            self._reset_series()
        else:
            self.clear()
        self.run_label = label or self.run_label
        for row in history:
            self.add_epoch(row)
        self._refresh()
        self._fit_x_axis()

    def set_run_label(self, label: str) -> None:
        """Name the current curves (the legend says it once they become an earlier run)."""
        self.run_label = label

    def earlier_runs(self) -> list[str]:
        """The legend names of the earlier runs shown, oldest first."""
        return list(self._runs)

    def new_run(self) -> None:
        """Keep the current curves as faint, named ones and start empty ones."""
        epochs = self.series["loss"].data()[0]
        if self.series["batch_loss"].n or self.series["loss"].n:
            colour = EARLIER_COLOURS[len(self._runs) % len(EARLIER_COLOURS)]
            span = f", {int(epochs[-1])} epochs" if len(epochs) else ""
            name = f"earlier: {self.run_label or 'a run'}{span}"
            for key in ("batch_loss", "loss", "batch_acc", "acc"):
                x, y = self.series[key].data()
                if len(x):
                    plot = self.loss_plot if "loss" in key else self.acc_plot
                    named = plot is self.loss_plot and not any(
                        item.name() == name for item in self._previous[-4:]
                    )  # one legend entry per run
                    faint = plot.plot(
                        x.copy(),
                        y.copy(),
                        pen=pg.mkPen((*colour, 110), width=1),
                        name=name if named else None,
                    )
                    faint.setZValue(-10)
                    faint.run = name
                    self._previous.append(faint)
            self._runs.append(name)
            while len(self._runs) > KEPT_RUNS:
                oldest = self._runs.pop(0)
                for item in [i for i in self._previous if i.run == oldest]:
                    self._remove(item)
        self.run_label = ""
        self._reset_series()
        self._show_earlier()

    def _remove(self, item: pg.PlotDataItem) -> None:
        self._previous.remove(item)
        for plot in (self.loss_plot, self.acc_plot):
            if item in plot.listDataItems():
                plot.removeItem(item)  # also takes it out of the legend

    def clear_earlier(self) -> None:
        """Remove every earlier run's curves (and their legend entries)."""
        for item in list(self._previous):
            self._remove(item)
        self._runs = []
        self._show_earlier()

    def _show_earlier(self) -> None:
        n = len(self._runs)
        self.earlier_label.setText(f"{n} earlier run{'s' * (n != 1)} in grey" if n else "")
        self.clear_button.setEnabled(bool(n))

    def clear(self) -> None:
        self.clear_earlier()
        self._reset_series()

    def _reset_series(self) -> None:
        for key in self.series:
            self.series[key] = Series()
        self._ema = {"loss": None, "acc": None}
        self._last_x = None
        self._changed = set(self.series)
        self._refresh()

    def _refresh(self) -> None:
        if not self._changed:
            return
        changed, self._changed = self._changed, set()
        self.redraws += 1
        for key in changed:
            limit = MAX_LINE_POINTS if key.startswith("batch") else MAX_MARKERS
            self.curves[key].setData(*self.series[key].thinned(limit))
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
