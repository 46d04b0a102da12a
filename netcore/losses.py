"""Loss functions: value and gradient with respect to the network's output.

The network outputs raw scores; the cross-entropy losses fuse the final
sigmoid/softmax so that they stay finite for scores of any size.
Every loss is a mean over the batch, so its gradient carries a 1/N.
"""

from __future__ import annotations

import numpy as np


def row_max(a: np.ndarray) -> np.ndarray:
    """a.max(axis=1) of (N, K) scores, as a maximum over the K rows of a's transpose: NumPy
    reduces a few long rows much faster than many short ones (a 2-core AMD EPYC, 10 classes:
    2.6 / 4.2 / 5.0 us against 4.3 / 7.1 / 22.9 us at N = 32 / 128 / 512). Shapes: (N, K) -> (N,)."""
    return np.ascontiguousarray(a.T).max(axis=0)


class Loss:
    name = "loss"
    classification = True

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def targets(self, labels: np.ndarray, out_dim: int, dtype) -> np.ndarray:
        """Turn integer class labels (N,) into what this loss compares with."""
        raise NotImplementedError

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) from the network's output."""
        return out

    def predicted_labels(self, out: np.ndarray) -> np.ndarray:
        """Class indices (N,) from the network's output, without computing probabilities."""
        if out.shape[1] == 1:
            return (out[:, 0] > self.threshold).astype(np.intp)
        return np.ascontiguousarray(out.T).argmax(axis=0)  # as out.argmax(axis=1), see row_max

    threshold = 0.5  # for a single output: the value between class 0 and class 1

    def check_output(self, out_shape: tuple[int, ...], last_activation: str | None) -> str | None:
        """A message if a network with this output cannot use this loss, else None."""
        return None

    def __repr__(self) -> str:
        return self.name


class MeanSquaredError(Loss):
    """L = 1/(N*K) * sum (out - t)^2;  dL/dout = 2 (out - t) / (N*K).

    Shapes: out (N, K), target (N, K).
    """

    name = "mse"
    classification = False

    def forward(self, out, target):
        target = target.reshape(out.shape)
        self.diff = out - target
        return float(np.vdot(self.diff, self.diff) / self.diff.size)

    def backward(self):
        return self.diff * (2.0 / self.diff.size)

    def targets(self, labels, out_dim, dtype):
        if out_dim == 1:
            return labels.reshape(-1, 1).astype(dtype)
        return one_hot(labels, out_dim, dtype)

    def probabilities(self, out):
        if out.shape[1] == 1:
            p = np.clip(out, 0.0, 1.0)
            return np.concatenate([1 - p, p], axis=1)
        return out


class BinaryCrossEntropy(Loss):
    """Sigmoid fused with cross-entropy, on raw scores z.

    L = mean( max(z, 0) - z t + log(1 + e^-|z|) )   (stable for any z)
    dL/dz = (sigmoid(z) - t) / (N*K).
    Shapes: z (N, 1) or (N, K) of independent yes/no outputs; t the same, in [0, 1].
    """

    name = "binary_cross_entropy"
    threshold = 0.0  # a raw score above 0 is a probability above 1/2

    def forward(self, out, target):
        t = target.reshape(out.shape).astype(out.dtype, copy=False)
        self.t = t
        self.p = 0.5 * (1.0 + np.tanh(0.5 * out))
        loss = np.maximum(out, 0) - out * t + np.log1p(np.exp(-np.abs(out)))
        return float(loss.mean())

    def backward(self):
        return (self.p - self.t) / self.p.size

    def targets(self, labels, out_dim, dtype):
        if out_dim == 1:
            return labels.reshape(-1, 1).astype(dtype)
        return one_hot(labels, out_dim, dtype)

    def probabilities(self, out):
        p = 0.5 * (1.0 + np.tanh(0.5 * out))
        if out.shape[1] == 1:
            return np.concatenate([1 - p, p], axis=1)
        return p

    def check_output(self, out_shape, last_activation):
        if last_activation in ("sigmoid", "softmax"):
            return (
                f"binary_cross_entropy applies the sigmoid itself: "
                f"set the last layer's activation to linear, not {last_activation}"
            )
        return None


class SoftmaxCrossEntropy(Loss):
    """Softmax fused with cross-entropy, on raw scores z and integer labels y.

    L = mean_n( logsumexp(z_n) - z_n[y_n] );   dL/dz = (softmax(z) - onehot(y)) / N.
    Shapes: z (N, K), y (N,) integers in [0, K).
    """

    name = "softmax_cross_entropy"

    def forward(self, out, target):
        n, k = out.shape
        # the labels' entries as flat indices into (N, K): one 1-D gather here, one in backward
        self.flat_labels = np.arange(0, n * k, k) + target.reshape(-1).astype(np.intp, copy=False)
        shifted = out - row_max(out)[:, None]
        label_scores = shifted.reshape(-1)[self.flat_labels]
        exp = np.exp(shifted, out=shifted)
        sums = exp @ np.ones(k, dtype=exp.dtype)  # a product: faster than a sum over K columns
        exp /= sums[:, None]
        self.p = exp
        # L = mean(log sum exp - z_y), with z shifted by the row's maximum
        return float(np.log(sums).sum() - label_scores.sum()) / n

    def backward(self):
        grad = self.p.copy()
        grad.reshape(-1)[self.flat_labels] -= 1
        grad *= 1.0 / grad.shape[0]
        return grad

    def targets(self, labels, out_dim, dtype):
        return labels.astype(np.intp, copy=False)

    def probabilities(self, out):
        e = np.exp(out - out.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def check_output(self, out_shape, last_activation):
        if len(out_shape) != 1 or out_shape[0] < 2:
            return f"softmax_cross_entropy needs a flat output of at least 2 classes, got {out_shape}"
        if last_activation in ("sigmoid", "softmax"):
            return (
                f"softmax_cross_entropy applies the softmax itself: "
                f"set the last layer's activation to linear, not {last_activation}"
            )
        return None


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float32) -> np.ndarray:
    """(N,) integer labels -> (N, num_classes) rows of 0 with a 1 at the label."""
    out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1
    return out


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (MeanSquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy)
}
LOSSES["cross_entropy"] = SoftmaxCrossEntropy


def make_loss(name: str) -> Loss:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}")
    return LOSSES[name]()
