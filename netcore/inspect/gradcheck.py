"""Central-difference gradient checks in float64: of one layer, one loss, or a whole network.

The engine's own tests use ``check_layer`` and ``check_loss``; ``gradient_check`` checks every
parameter tensor of a design at once (``netcore gradcheck``, the window's "Check gradients").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from netcore.network import Network

TOLERANCE = 1e-6  # relative error a correct backward stays under in float64


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place one entry at a time.

    Entries are perturbed where they live, so ``x`` may be any view (a transposed or sliced
    array): flattening a non-contiguous view would copy it and perturb nothing ``f`` reads.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = f()
        x[index] = old - eps
        down = f()
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


def _central(f: Callable[[], float], flat: np.ndarray, i: int, eps: float) -> float:
    old = flat[i]
    flat[i] = old + eps
    up = f()
    flat[i] = old - eps
    down = f()
    flat[i] = old
    return (up - down) / (2 * eps)


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    """||a - b|| / max(||a|| + ||b||, floor); 0 when both are zero."""
    denom = max(float(np.linalg.norm(a) + np.linalg.norm(b)), floor)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_layer(
    layer, x: np.ndarray, seed: int = 0, training: bool = False, reseed: bool = False
) -> dict[str, float]:
    """Relative errors of a built float64 layer's backward against central differences.

    Uses L = sum(forward(x) * dy) for a random upstream gradient dy. ``reseed``
    resets the layer's generator before every forward (dropout's mask).
    Returns {"x": err, "<param>": err, ...}.
    """
    rng = np.random.default_rng(seed)

    def forward():
        if reseed:
            layer.rng = np.random.default_rng(123)
        return layer.forward(x, training=training)

    dy = rng.standard_normal(forward().shape)

    def loss() -> float:
        return float(np.sum(forward() * dy))

    forward()
    layer.needs_input_grad = True
    dx = layer.backward(dy.copy())
    analytic = {"x": dx.copy()}
    analytic.update({k: g.copy() for k, g in layer.grads.items()})
    errors = {"x": relative_error(analytic["x"], numerical_grad(loss, x))}
    for key, p in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_grad(loss, p))
    return errors


def check_loss(loss, out: np.ndarray, target: np.ndarray) -> float:
    """Relative error of a loss's backward against central differences."""
    loss.forward(out, target)
    analytic = loss.backward().copy()
    numeric = numerical_grad(lambda: loss.forward(out, target), out)
    return relative_error(analytic, numeric)


@dataclass(frozen=True)
class TensorCheck:
    """One parameter tensor's check over its ``checked`` coordinates, a and n the analytic and
    numerical gradients there: ``relative_error`` = ||a - n|| / max(||a|| + ||n||, floor), where
    floor = sqrt(checked) * r / tolerance and r = 4 * 2.2e-16 * |loss| / eps is the rounding error
    of one central difference: a difference no larger than rounding counts as agreement (else a
    gradient that is exactly zero, like a bias before BatchNorm, would fail on noise alone)."""

    name: str  # "0.W"
    layer: str  # the layer's description
    shape: tuple[int, ...]
    checked: int  # coordinates compared (all of them when the tensor has at most max_coords)
    at_kinks: int  # coordinates skipped: the loss is not smooth there (a ReLU or max-pool switch)
    relative_error: float
    max_abs_error: float
    passed: bool


@dataclass(frozen=True)
class GradientCheck:
    """The check of every parameter tensor, in the network's order."""

    tensors: list[TensorCheck]
    tolerance: float
    loss: float

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tensors)

    @property
    def worst(self) -> TensorCheck | None:
        return max(self.tensors, key=lambda t: t.relative_error, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "tolerance": self.tolerance,
            "loss": self.loss,
            "tensors": [{**asdict(t), "shape": list(t.shape)} for t in self.tensors],
        }


def float64_network(model: Network | dict[str, Any], seed: int = 0) -> Network:
    """A float64 network: built from a spec, or a copy of a network with its weights and state."""
    if isinstance(model, Network):
        net = Network(model.spec, seed=seed, dtype=np.float64)
        net.load_state_dict({k: v.astype(np.float64) for k, v in model.state_dict().items()})
        return net
    return Network(model, seed=seed, dtype=np.float64)


def gradient_check(
    model: Network | dict[str, Any],
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    batch: int = 4,
    max_coords: int = 24,
    eps: float = 1e-6,
    training: bool = True,
    seed: int = 0,
    tolerance: float = TOLERANCE,
    progress: Callable[[int, int, str], None] | None = None,
) -> GradientCheck:
    """Analytic gradients of the loss against float64 central differences, per parameter tensor.

    ``model``: a spec (built with ``seed``) or a network (copied to float64; never changed).
    x: (N, *input_shape), y: (N,) labels or (N, T) targets; None draws ``batch`` random inputs
    (standard normal) and labels. ``training`` checks the training-mode pass (BatchNorm on batch
    statistics, dropout with one fixed mask). A tensor with more than ``max_coords`` values is
    checked on that many random coordinates. A coordinate whose estimates with eps and eps/2
    disagree sits on a kink of the loss (a ReLU or max-pool switching inside +-eps), where
    finite differences mean nothing: it is skipped, counted in ``at_kinks`` and replaced.
    Biases that are all zero (a fresh design) are drawn small and random in the float64 copy,
    so that zero inputs (an image's background) do not put units exactly on a kink, where the
    two estimates agree and yet both are wrong.
    ``progress(done, total, name)`` is called before each tensor (a large CNN takes seconds).
    """
    rng = np.random.default_rng(seed)
    net = float64_network(model, seed)
    for layer in net.layers:  # zero biases with zero inputs put units exactly on a ReLU kink
        for key in ("b", "beta"):
            if key in layer.params and not layer.params[key].any():
                layer.params[key][...] = rng.normal(0.0, 0.1, layer.params[key].shape)
    x, target = _inputs(net, x, y, batch, rng)

    def loss() -> float:
        for layer in net.layers:  # the same dropout masks in every evaluation
            layer.rng = np.random.default_rng(seed + 1)
        return net.loss.forward(net.forward(x, training), target)

    value = loss()
    # rounding in the loss differences: a few ulps of the loss over 2 eps (0.5e-9 for a loss of 2.3)
    noise = 16 * np.finfo(np.float64).eps * max(abs(value), 1e-3) / eps
    rounding = noise / 4  # the typical error of one estimate
    net.backward(net.loss.backward())
    analytic = {k: g.copy() for k, g in net.named_grads().items()}
    names = {f"{i}.{k}": layer.describe() for i, layer in enumerate(net.layers) for k in layer.params}
    tensors = []
    params = net.named_params()
    for done, (name, param) in enumerate(params.items()):
        if progress is not None:
            progress(done, len(params), name)
        flat = param.reshape(-1)
        coords, numeric, kinks = [], [], 0
        for i in rng.permutation(flat.size):
            if len(coords) == min(max_coords, flat.size):
                break
            g = _central(loss, flat, int(i), eps)
            half = _central(loss, flat, int(i), eps / 2)
            if abs(g - half) > 1e-7 * abs(g) + noise:  # smooth: they differ by rounding only
                kinks += 1
                continue
            coords.append(int(i))
            numeric.append(g)
        a = analytic[name].reshape(-1)[coords]
        n = np.asarray(numeric, dtype=np.float64)
        # differences at the level of the loss's rounding count as agreement: a gradient that is
        # zero in exact arithmetic (a bias before BatchNorm) has numerical noise of ~1e-10
        err = relative_error(a, n, floor=rounding * np.sqrt(max(len(coords), 1)) / tolerance)
        tensors.append(
            TensorCheck(
                name,
                names[name],
                tuple(param.shape),
                len(coords),
                kinks,
                err,
                float(np.max(np.abs(a - n))) if len(coords) else 0.0,
                err <= tolerance and len(coords) > 0,  # nothing checkable is no pass
            )
        )
    return GradientCheck(tensors, tolerance, float(value))


def _inputs(net: Network, x, y, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if x is None:
        x = rng.standard_normal((batch,) + net.input_shape)
    x = np.asarray(x, dtype=np.float64).reshape((-1,) + net.input_shape)
    k = net.output_shape[0]
    if net.is_classifier:
        classes = max(k, 2)
        labels = rng.integers(0, classes, len(x)) if y is None else np.asarray(y).reshape(-1)
        return x, net.loss.targets(labels.astype(np.int64), k, np.float64)
    targets = rng.standard_normal((len(x),) + net.output_shape) if y is None else np.asarray(y, np.float64)
    return x, targets.reshape(len(x), -1)
