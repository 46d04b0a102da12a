"""Training health over epochs: gradient norms, update ratios, dead ReLUs, weight histograms.

``show_health(series, hints)`` takes a ``netcore.inspect.HealthSeries`` (arrays over epochs)
and the plain-words ``Hint``s of the latest epoch; the slider picks the epoch whose weight
histograms are drawn.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from desktop.widgets.inside.pictures import class_colour

TYPICAL_UPDATE = 1e-3  # the update-to-weight ratio often quoted as healthy (dashed line)


def _plot(title: str, left: str, log: bool) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w", title=title)
    plot.setMenuEnabled(False)
    plot.setLabel("bottom", "epoch")
    plot.setLabel("left", left)
    if log:  # values are plotted as log10; label the powers of ten only (0.001, 0.01, ...)
        minor = [(k + np.log10(m), f"{m * 10.0**k:g}") for k in range(-15, 6) for m in (2, 5)]
        plot.getAxis("left").setTicks([[(k, f"{10.0**k:g}") for k in range(-15, 6)], minor])
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(-4, 4), labelTextColor="k", brush=(255, 255, 255, 200))
    return plot


class HealthView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = None
        self._key = None  # the layers the curves were made for
        self._grad, self._ratio, self._dead, self._hists = [], [], [], []
        self.hints = QLabel()
        self.hints.setWordWrap(True)
        self.grad = _plot("Gradient size per layer", "‖gradient‖ (log)", True)
        self.ratio = _plot("Step size per layer (dashed: a typical 0.001)", "‖step‖ / ‖weights‖ (log)", True)
        self.dead = _plot("Dead ReLU units", "share never firing", False)
        self.dead.setYRange(0, 1)
        self.hist = pg.PlotWidget(background="w", title="Weight histograms")
        self.hist.setMenuEnabled(False)
        self.hist.setLabel("bottom", "weight value")
        self.hist.setLabel("left", "% of the layer's weights")
        self.hist.getAxis("left").enableAutoSIPrefix(False)
        self.hist.addLegend(offset=(-4, 4), labelTextColor="k", brush=(255, 255, 255, 200))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._draw_histograms)
        self.slider_label = QLabel("epoch –")
        self._follow = True  # the slider follows the newest epoch until the user moves it
        self.slider.sliderMoved.connect(lambda v: setattr(self, "_follow", v == self.slider.maximum()))

        grid = QGridLayout()
        grid.addWidget(self.grad, 0, 0)
        grid.addWidget(self.ratio, 0, 1)
        grid.addWidget(self.dead, 1, 0)
        hist_box = QVBoxLayout()
        hist_box.addWidget(self.hist, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Epoch:"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        hist_box.addLayout(row)
        grid.addLayout(hist_box, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.hints)
        layout.addLayout(grid, 1)
        self.show_health(None, [])

    def show_health(self, series, hints: list) -> None:
        """``series``: a HealthSeries (or None: nothing recorded yet); ``hints``: [Hint]."""
        self.series = series
        if hints:
            self.hints.setText("\n".join("⚠ " + h.message for h in hints))
            self.hints.setStyleSheet("color: #9a3412;")
        else:
            empty = series is None or not len(series.epochs)
            self.hints.setText(
                "Train to see how each layer learns." if empty else "✓ No warning signs in the last epoch."
            )
            self.hints.setStyleSheet("color: #2f855a;" if not empty else "")
        if series is None or not len(series.epochs):
            for plot in (self.grad, self.ratio, self.dead, self.hist):
                plot.clear()
            self._key = None
            self.slider.setEnabled(False)
            return
        key = (tuple(series.indices), tuple(series.names))
        if key != self._key:  # other layers: new curves (updates only move the data: cheap)
            self._build(series)
            self._key = key
        epochs = series.epochs.astype(float)
        for j in range(len(series.names)):
            for curves, values in ((self._grad, series.grad_norm), (self._ratio, series.update_ratio)):
                column = values[:, j]
                keep = np.isfinite(column) & (column > 0)
                curves[j].setData(epochs[keep], np.log10(column[keep]))
            dead = series.dead_fraction[:, j]
            keep = np.isfinite(dead)
            self._dead[j].setData(epochs[keep], dead[keep])
        last = len(series.epochs) - 1
        self.slider.blockSignals(True)
        self.slider.setRange(0, last)
        if self._follow:
            self.slider.setValue(last)
        self.slider.blockSignals(False)
        self.slider.setEnabled(last > 0)
        self._draw_histograms(self.slider.value())

    def _build(self, series) -> None:
        """One curve per layer in each plot (and its legend entry); layers without data stay empty."""
        for plot in (self.grad, self.ratio, self.dead, self.hist):
            plot.clear()
        self._grad, self._ratio, self._dead, self._hists = [], [], [], []
        for j, name in enumerate(series.names):
            colour = class_colour(j)
            pen = pg.mkPen(colour, width=2)
            label = f"{series.indices[j] + 1}. {name.split('(')[0]}"
            dots = {"symbol": "o", "symbolSize": 4, "symbolBrush": colour, "symbolPen": None}
            has = lambda values, j=j: bool(np.isfinite(values[:, j]).any())  # noqa: E731
            self._grad.append(self.grad.plot(pen=pen, name=label if has(series.grad_norm) else None, **dots))
            self._ratio.append(
                self.ratio.plot(pen=pen, name=label if has(series.update_ratio) else None, **dots)
            )
            self._dead.append(self.dead.plot(pen=pen, name=label if has(series.dead_fraction) else None))
            fill = pg.mkBrush(colour.red(), colour.green(), colour.blue(), 60)
            named = label if series.hist_counts[:, j].any() else None
            self._hists.append(self.hist.plot(pen=pen, brush=fill, fillLevel=0, name=named))
        dashed = pg.mkPen("#718096", width=1.5, style=Qt.PenStyle.DashLine)
        self.ratio.addItem(pg.InfiniteLine(np.log10(TYPICAL_UPDATE), angle=0, pen=dashed))

    def _draw_histograms(self, row: int) -> None:
        series = self.series
        if series is None or not len(series.epochs) or self._key is None:
            return
        row = min(max(row, 0), len(series.epochs) - 1)
        self.slider_label.setText(f"epoch {int(series.epochs[row])}")
        for j, curve in enumerate(self._hists):
            counts = series.hist_counts[row, j]
            lo, hi = series.hist_range[row, j]
            if not np.isfinite(lo) or counts.sum() == 0:
                curve.setData([], [])
                continue
            edges = np.linspace(lo, hi, len(counts) + 1)
            curve.setData(edges, 100 * counts / counts.sum(), stepMode="center")
