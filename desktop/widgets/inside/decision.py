"""The decision boundary of a two-feature model: class probabilities over the plane, the data on top.

``show_grid`` takes a ``netcore.inspect.DecisionGrid`` (plain arrays) and, if the caller made it
off the UI thread, its class picture (``class_blend``); ``show_points`` the train and test
samples; ``show_neuron(layer, unit)`` paints that unit's output over the same grid instead (the
Playground's per-neuron maps), ``show_neuron(None)`` the classes again.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from desktop.widgets.inside.pictures import CLASS_RGB, DIVERGING, class_blend, image_item

MAX_POINTS = 1500  # samples drawn per split


class _TimedPlot(pg.PlotWidget):
    """A PlotWidget that keeps the time of its last repaint (``paint_seconds``)."""

    paint_seconds = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_seconds = time.perf_counter() - start


class DecisionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = None  # the last DecisionGrid shown
        self._classes: np.ndarray | None = None  # its class picture (ny, nx, 3) uint8, if handed one
        self.show_seconds = 0.0  # the UI thread's time for the last show_grid, repaint excluded
        self.neuron: tuple[int, int] | None = None
        self.pinned: tuple[int, int] | None = None
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.plot = _TimedPlot(background="w")
        self.plot.setAspectLocked(False)
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "feature 1 (x1)")
        self.plot.setLabel("left", "feature 2 (x2)")
        self.image = image_item()
        self.plot.addItem(self.image)
        self.plot.disableAutoRange()  # the range is the grid's bounds; a moving range repaints the axes
        self._rect = QRectF()
        self.train_points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=1))
        self.test_points = pg.ScatterPlotItem(size=7, symbol="t", pen=pg.mkPen("k", width=1))
        for points in (self.train_points, self.test_points):
            # the samples stay put while the map under them changes 5 times a second: Qt keeps their
            # pixels and repaints them from there (the same picture, a third of the repaint's time)
            points.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot.addItem(points)
        self.legend = self.plot.addLegend(offset=(6, 6), labelTextColor="k", brush=(255, 255, 255, 200))
        self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get(DIVERGING), interactive=False, width=12)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.colour_bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.show_message(
            "The decision boundary appears for a model with two input features (xor, spirals…)."
        )

    # -- data in ------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.caption.setText(text)

    def clear(self) -> None:
        self.grid, self._classes = None, None
        self.image.clear()
        self.train_points.clear()
        self.test_points.clear()
        self.legend.clear()

    def show_points(self, x_train, y_train, x_test, y_test, class_names: list[str]) -> None:
        """Train (circles, white edge) and test (triangles, black edge) samples (N, 2), labels (N,);
        at most MAX_POINTS of each are drawn (an even subset), so a live map stays cheap to repaint."""
        self.legend.clear()
        self.points_shown = []
        for item, x, y in ((self.train_points, x_train, y_train), (self.test_points, x_test, y_test)):
            if x is None or not len(x):
                item.clear()
                self.points_shown.append(0)
                continue
            if len(x) > MAX_POINTS:
                keep = np.random.default_rng(0).choice(len(x), MAX_POINTS, replace=False)
                x, y = x[keep], np.asarray(y)[keep]
            self.points_shown.append(len(x))
            labels = np.asarray(y).astype(int).reshape(-1) % len(CLASS_RGB)
            brushes = [pg.mkBrush(*CLASS_RGB[k]) for k in range(len(CLASS_RGB))]
            item.setData(x[:, 0], x[:, 1], brush=[brushes[k] for k in labels])
        classes = int(max(np.max(y_train, initial=0), np.max(y_test, initial=0))) + 1 if len(y_train) else 0
        for k in range(classes):
            name = class_names[k] if k < len(class_names) else str(k)
            sample = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(*CLASS_RGB[k % len(CLASS_RGB)]))
            self.legend.addItem(sample, f"class {name}")
        self.legend.addItem(pg.ScatterPlotItem(size=8, symbol="t", brush="w", pen="k"), "test sample")

    def show_grid(self, grid, classes: np.ndarray | None = None) -> None:
        """A ``DecisionGrid``: probabilities (ny, nx, K) and layers[i].values (ny, nx, units);
        ``classes``: ``class_blend(grid.probabilities)`` if made already (else made here)."""
        start = time.perf_counter()
        self.grid, self._classes = grid, classes
        x0, x1, y0, y1 = grid.xs[0], grid.xs[-1], grid.ys[0], grid.ys[-1]
        rect = QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        if rect != self._rect:
            self._rect = rect
            self.plot.setRange(rect, padding=0.02)
        self._paint()
        self.show_seconds = time.perf_counter() - start

    def ui_seconds(self) -> float:
        """What the last live refresh cost the UI thread: show_grid and the repaint after it."""
        return self.show_seconds + self.plot.paint_seconds

    def show_neuron(self, neuron: tuple[int, int] | None) -> None:
        """Paint unit ``neuron = (layer, unit)``'s output (layer -1: an input feature); None: classes."""
        self.neuron = neuron
        self._paint()

    def pin_neuron(self, neuron: tuple[int, int] | None) -> None:
        """A clicked neuron stays shown after the pointer leaves (clicked again: the classes)."""
        self.pinned = None if neuron == self.pinned else neuron
        self.show_neuron(self.pinned)

    def hover_neuron(self, neuron: tuple[int, int] | None) -> None:
        self.show_neuron(neuron if neuron is not None else self.pinned)

    # -- drawing ------------------------------------------------------------------------
    def _paint(self) -> None:
        grid = self.grid
        if grid is None:
            return
        values = self._neuron_values(grid)
        if values is None:
            self.colour_bar.hide()
            if self._classes is None:
                self._classes = class_blend(grid.probabilities)
            self.image.setImage(self._classes, autoLevels=False, levels=(0, 255))
            self.caption.setText(
                "Colour = the class the model predicts there; pale = unsure. "
                "Hover a neuron in the design to see its own output; click to keep it."
            )
        else:
            values, title = values
            top = float(np.nanmax(np.abs(values))) or 1.0
            self.image.setImage(values, autoLevels=False)
            self.colour_bar.setLevels((-top, top))
            self.colour_bar.show()
            self.caption.setText(
                f"{title}: blue negative, red positive (white 0). Click it again for the classes."
            )
        self.image.setRect(self._rect)

    def _neuron_values(self, grid) -> tuple[np.ndarray, str] | None:
        if self.neuron is None:
            return None
        layer, unit = self.neuron
        if layer == -1:
            if unit > 1:
                return None
            xs, ys = np.meshgrid(grid.xs, grid.ys)
            return (xs if unit == 0 else ys).astype(np.float32), f"input x{unit + 1}"
        found = next((g for g in grid.layers if g.index == layer), None)
        if found is None or unit >= found.values.shape[-1]:
            return None
        return found.values[..., unit], f"layer {layer + 1} ({found.name}), unit {unit + 1}"
