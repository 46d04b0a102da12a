"""What each layer computes for one digit: feature maps as grids, dense layers as strips,
the first conv layer's filters and the saliency map over the input.

``show_activations(result)`` takes a plain dict (desktop/inspection.py builds it):
    {"image": (28, 28), "predicted": int, "probabilities": (K,), "saliency": (H, W),
     "layers": [(name, kind, (C, H, W) maps or (D,) values), ...], "filters": (F, C, kh, kw) | None}
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop.widgets.inside.pictures import DIVERGING, SEQUENTIAL, image_item, picture_box, tile

MAX_MAPS = 32  # feature maps drawn per conv layer (the rest are counted in the title)


class ActivationsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: dict | None = None
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.canvas.ci.setSpacing(4)
        self._rows: list[tuple[pg.LabelItem, pg.ViewBox, pg.ImageItem]] = []
        self._signature: tuple = ()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.canvas)
        layout.addWidget(scroll, 1)
        self.show_message(
            "Draw a digit on the pad (or pick a test digit) to see what every layer makes of it."
        )

    def show_message(self, text: str) -> None:
        self.caption.setText(text)

    def clear(self) -> None:
        self.result = None
        self.canvas.clear()
        self._rows, self._signature = [], ()

    def show_activations(self, result: dict) -> None:
        """Redraw for a new digit; the items are rebuilt only when the network's layers change."""
        self.result = result
        pictures = self._pictures(result)
        signature = tuple((title.split(":")[0], picture.shape) for title, picture, _ in pictures)
        if signature != self._signature:
            self._build(pictures)
            self._signature = signature
        for (label, _view, item), (title, picture, cmap) in zip(self._rows, pictures, strict=True):
            if label.text != title:  # a new text re-lays the canvas out: only when it changes
                label.setText(title, color="#2d3748", size="8pt")
            if cmap == DIVERGING:
                top = float(np.nanmax(np.abs(picture))) or 1.0
                item.setImage(picture, levels=(-top, top))
            else:
                top = float(np.nanmax(picture)) if np.isfinite(picture).any() else 1.0
                item.setImage(picture, levels=(0.0, top if top > 0 else 1.0))
        p = result["probabilities"]
        self.caption.setText(
            f"The model reads {result['predicted']} ({p[result['predicted']]:.0%}). "
            "Bright = strong output (each picture scaled to its own largest value; black = 0). "
            "Filters: red adds, blue subtracts. Saliency: where ink would change the answer most."
        )

    # -- building -------------------------------------------------------------------------
    def _pictures(self, result: dict) -> list[tuple[str, np.ndarray, str]]:
        rows = [("input (what the model receives)", np.asarray(result["image"], np.float32), SEQUENTIAL)]
        rows.append((f"saliency: d score({result['predicted']}) / d pixel", result["saliency"], SEQUENTIAL))
        filters = result.get("filters")
        if filters is not None:
            maps = filters.reshape(-1, filters.shape[-2], filters.shape[-1])[:MAX_MAPS]
            rows.append((f"first conv layer: {len(filters)} filters", tile(maps, columns=16), DIVERGING))
        last = len(result["layers"]) - 1
        for index, (name, kind, values) in enumerate(result["layers"]):
            values = np.asarray(values, np.float32)
            title = f"{index + 1}. {name}"
            if index == last:
                title += (
                    f": the scores of classes 0…{values.size - 1}, left to right (red = for, blue = against)"
                )
            if values.ndim == 3:
                shown = values[:MAX_MAPS]
                more = f" (first {MAX_MAPS} of {len(values)})" if len(values) > MAX_MAPS else ""
                rows.append((title + more, tile(shown, columns=min(16, len(shown))), SEQUENTIAL))
            else:
                flat = values.reshape(-1)
                if kind in ("flatten", "reshape", "dropout") or flat.size > 1024:
                    continue  # the same numbers as the layer before, laid out again
                rows.append((title, _strip(flat), DIVERGING if flat.min() < 0 else SEQUENTIAL))
        return rows

    def _build(self, pictures: list[tuple[str, np.ndarray, str]]) -> None:
        self.canvas.clear()
        self._rows = []
        total = 0
        for row, (title, picture, cmap) in enumerate(pictures):
            label = self.canvas.addLabel(title, row=2 * row, col=0, justify="left")
            view = picture_box(self.canvas.addViewBox(row=2 * row + 1, col=0))
            item = image_item()
            item.setColorMap(pg.colormap.get(cmap))
            view.addItem(item)
            h, w = picture.shape
            view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
            # rows as tall as their picture needs at ~560 px wide (square pixels), within limits
            height = float(np.clip(560 * h / w, 22, 110 if row < 2 else 190))
            view.setFixedHeight(height)
            self._rows.append((label, view, item))
            total += height + 26
        self.canvas.setMinimumHeight(int(total) + 10)


def _strip(values: np.ndarray) -> np.ndarray:
    """(D,) -> (1, D) one pixel per unit (up to 64 in a row, then wrapped into more rows)."""
    d = values.size
    cols = min(d, 64)
    rows = -(-d // cols)
    out = np.full(rows * cols, np.nan, np.float32)
    out[:d] = values
    return out.reshape(rows, cols)
