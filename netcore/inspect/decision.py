"""The decision surface of a two-feature model: class probabilities and every unit over a grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.inspect.trace import run_layers
from netcore.inspect.twin import twin_of
from netcore.network import Network

MAX_SIDE = 1024  # every unit is kept over the grid: 1024^2 points x 64 units is 256 MB


@dataclass(frozen=True)
class GridLayer:
    """One layer's units over the grid: ``values[iy, ix, u]`` is unit u at (xs[ix], ys[iy])."""

    index: int
    kind: str
    name: str
    values: np.ndarray  # (ny, nx, units)


@dataclass(frozen=True)
class DecisionGrid:
    """A model evaluated at every point (xs[ix], ys[iy]) of a regular grid.

    xs: (nx,) ascending first-feature values;  ys: (ny,) ascending second-feature values
    probabilities: (ny, nx, K) class probabilities (K = 2 for a one-output binary model), rows
        are y: draw with the origin at the bottom (row 0 = ys[0] = the lowest y)
    layers: one ``GridLayer`` per layer (the last holds the raw scores): the per-neuron maps
    """

    xs: np.ndarray
    ys: np.ndarray
    probabilities: np.ndarray
    layers: list[GridLayer]

    @property
    def predicted(self) -> np.ndarray:
        """(ny, nx) the most probable class at each grid point."""
        return self.probabilities.argmax(axis=-1)


def decision_grid(
    network: Network,
    bounds: tuple[float, float, float, float],
    resolution: int | tuple[int, int] = 100,
) -> DecisionGrid:
    """Evaluate a model with two input features over ``bounds`` = (x_min, x_max, y_min, y_max).

    ``resolution`` is the number of points per side (or (nx, ny)); grid points include the
    bounds. One inference forward of nx*ny points on the network's twin (a 200x200 grid of a
    small MLP is a few milliseconds).
    """
    if network.input_shape != (2,):
        dims = "x".join(map(str, network.input_shape))
        raise ValueError(f"a decision grid needs a model with 2 input features, this one takes {dims}")
    x0, x1, y0, y1 = (float(b) for b in bounds)
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise ValueError(f"bounds must be finite (x_min, x_max, y_min, y_max) with min < max, got {bounds!r}")
    nx, ny = (resolution, resolution) if isinstance(resolution, (int, np.integer)) else resolution
    if not (2 <= nx <= MAX_SIDE and 2 <= ny <= MAX_SIDE):
        raise ValueError(f"resolution must be 2..{MAX_SIDE} points per side, got {resolution!r}")
    xs = np.linspace(x0, x1, int(nx))
    ys = np.linspace(y0, y1, int(ny))
    points = np.empty((len(ys), len(xs), 2), dtype=network.dtype)
    points[..., 0] = xs[None, :]
    points[..., 1] = ys[:, None]
    twin = twin_of(network)
    with twin.lock:
        outputs = run_layers(twin.network, points.reshape(-1, 2))
        probabilities = twin.network.loss.probabilities(outputs[-1].output)
    shape = (len(ys), len(xs))
    layers = [GridLayer(o.index, o.kind, o.name, o.output.reshape(shape + (-1,))) for o in outputs]
    return DecisionGrid(xs, ys, probabilities.reshape(shape + (-1,)), layers)


def bounds_around(points: np.ndarray, margin: float = 0.15) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) enclosing ``points`` (N, 2) with ``margin`` of the span on each side."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum(hi - lo, 1e-6) * margin
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1]))
