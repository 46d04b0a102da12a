"""One evaluation for every caller: loss, and accuracy for classifiers, on given samples."""

from __future__ import annotations

import numpy as np

from netcore.network import Network


def evaluate(network: Network, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` for a classifier, ``{"loss": ...}`` for regression.

    Shapes: x (N, *network.input_shape); y (N,) int labels, or (N,) / (N, T) regression targets.
    """
    if network.is_classifier:
        return network.evaluate(x, y)
    out = network.predict(x)
    return {"loss": float(network.loss.forward(out, np.asarray(y, network.dtype).reshape(out.shape)))}
