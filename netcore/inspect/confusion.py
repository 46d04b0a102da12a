"""The confusion matrix of a classifier, with the samples behind every cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.inspect.trace import as_batch
from netcore.inspect.twin import twin_of
from netcore.network import Network


@dataclass(frozen=True)
class Confusion:
    """matrix[t, p]: how many samples of true class t were predicted as p (rows = true class).

    matrix:        (K, K) int64; sums to N, the diagonal counts the correct ones
    cells:         cells[t][p] is the (count,) int64 array of sample indices in that cell, ascending
    predicted:     (N,) int64 predicted classes
    probabilities: (N, K) class probabilities (for a gallery's "top probabilities")
    """

    matrix: np.ndarray
    cells: list[list[np.ndarray]]
    predicted: np.ndarray
    probabilities: np.ndarray

    @property
    def accuracy(self) -> float:
        total = int(self.matrix.sum())
        return float(np.trace(self.matrix)) / total if total else 0.0

    @property
    def recall(self) -> np.ndarray:
        """(K,) fraction of each true class read correctly (NaN for a class with no samples)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.matrix) / self.matrix.sum(axis=1)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, from (N,) labels and (N,) predictions."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    predicted = np.asarray(predicted).astype(np.int64).reshape(-1)
    if labels.shape != predicted.shape:
        raise ValueError(f"{labels.size} labels but {predicted.size} predictions")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be classes 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    flat = np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def confusion(network: Network, x: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> Confusion:
    """Classify ``x`` (N, *input_shape) on the network's twin and tabulate against labels ``y`` (N,)."""
    if not network.is_classifier:
        raise ValueError("a confusion matrix needs a classifier; this network does regression")
    x = as_batch(network, x)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} samples but {len(y)} labels")
    twin = twin_of(network)
    with twin.lock:
        net = twin.network
        probabilities = np.concatenate(
            [net.loss.probabilities(net.forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        )
    k = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1).astype(np.int64)
    matrix = confusion_matrix(y, predicted, k)
    # one stable sort by cell, then split: indices come out ascending within each cell
    order = np.argsort(y * k + predicted, kind="stable")
    pieces = np.split(order, np.cumsum(matrix.reshape(-1))[:-1])
    cells = [pieces[t * k : (t + 1) * k] for t in range(k)]
    return Confusion(matrix, cells, predicted, probabilities)
