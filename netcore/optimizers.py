"""Optimizers: update named parameters in place from their gradients.

Each holds its own state (velocities, moments) keyed by parameter name.
``lr`` is a plain attribute, so a schedule or the user may change it between
steps. Updates are written with in-place NumPy operations into one scratch
buffer per parameter: no temporaries are allocated per step.
"""

from __future__ import annotations

import math

import numpy as np

# The moments of a weight that stops receiving gradient (momentum, RMSprop's mean square, Adam's
# two) shrink by their decay every step towards subnormal floats, which Intel CPUs process through
# microcode assists hundreds of instructions long (Intel's guides: "FP assists"); on a 2-core AMD
# EPYC (Zen 3) Adam's step took 1.10-1.18x as long with 16.6 % of its first moments subnormal
# (``scripts/subnormal_cost.py``). Every FLUSH_EVERY steps the values below ``flush_threshold``
# are set to zero, so that what is left, and the step it gives, stays a normal float until the
# next flush.
# Counted in MNIST training with the earlier rule (below 1e-30 every 500 steps): up to 35,651 of the
# MNIST CNN's 215,370 first moments, and as many steps, subnormal for ~150 steps in every 500.
FLUSH_EVERY = 100
# the most a flush sets to zero: a moment this small moves a weight by ~1e-20 * lr / eps at most
FLUSH_CAP = 1e-20


def flush_threshold(decay: float, scale: float, dtype) -> float:
    """The magnitude below which a flush zeroes a state that shrinks by ``decay`` a step and
    gives steps ``scale`` times its size (the learning rate, or 1): any value left, and its
    step, are still normal floats FLUSH_EVERY steps later. At most FLUSH_CAP."""
    tiny = float(np.finfo(dtype).tiny)
    shrink = decay**FLUSH_EVERY * min(scale, 1.0)
    return tiny / shrink if shrink * FLUSH_CAP > tiny else FLUSH_CAP


class Optimizer:
    name = "optimizer"

    def __init__(self, lr: float) -> None:
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr!r}")
        self.lr = float(lr)
        self.steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def _slots(self, name: str, p: np.ndarray, *keys: str) -> dict[str, np.ndarray]:
        slots = self.state.get(name)
        if slots is None:
            slots = self.state[name] = {k: np.zeros_like(p) for k in (*keys, "tmp")}
        return slots

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        for name, p in params.items():
            self._update(name, p, grads[name])

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _flush(self, state: np.ndarray, decay: float, scale: float, scratch: np.ndarray) -> None:
        """Every FLUSH_EVERY steps, the values of ``state`` below ``flush_threshold`` set to zero
        (``scratch``: a free buffer of its shape)."""
        if self.steps % FLUSH_EVERY == 0:
            np.abs(state, out=scratch)
            # state *= [|state| >= threshold] as floats: contiguous passes, ~3x faster than putmask
            np.greater_equal(scratch, flush_threshold(decay, scale, state.dtype), out=scratch)
            state *= scratch

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g})"


class SGD(Optimizer):
    """p <- p - lr * g."""

    name = "sgd"

    def _update(self, name, p, g):
        tmp = self._slots(name, p)["tmp"]
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class Momentum(Optimizer):
    """v <- mu v + g;  p <- p - lr v   (Nesterov: p <- p - lr (g + mu v))."""

    name = "momentum"

    def __init__(self, lr: float, momentum: float = 0.9, nesterov: bool = False) -> None:
        super().__init__(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, name, p, g):
        s = self._slots(name, p, "v")
        v, tmp = s["v"], s["tmp"]
        v *= self.momentum
        v += g
        if self.nesterov:
            np.multiply(v, self.momentum, out=tmp)
            tmp += g
        else:
            tmp[...] = v
        tmp *= self.lr
        p -= tmp
        self._flush(v, self.momentum, self.lr, tmp)


class Nesterov(Momentum):
    name = "nesterov"

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr, momentum, nesterov=True)


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2;  p <- p - lr g / (sqrt(s) + eps)."""

    name = "rmsprop"

    def __init__(self, lr: float, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, name, p, g):
        s = self._slots(name, p, "s")
        sq, tmp = s["s"], s["tmp"]
        np.multiply(g, g, out=tmp)
        tmp -= sq
        tmp *= 1 - self.rho
        sq += tmp  # s + (1 - rho)(g^2 - s)
        np.sqrt(sq, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp
        self._flush(sq, self.rho, 1.0, tmp)


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected as in PyTorch:

    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
    p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
    AdamW adds decoupled weight decay first: p <- p (1 - lr wd).
    """

    name = "adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        for label, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= b < 1:
                raise ValueError(f"{label} must be in [0, 1), got {b!r}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.weight_decay = float(weight_decay)

    def _update(self, name, p, g):
        # Kept unscaled to save two passes per step: mu = m / (1-b1), nu = v / (1-b2),
        # so mu <- b1 mu + g and nu <- b2 nu + g^2, and the constants fold into one factor.
        s = self._slots(name, p, "mu", "nu")
        mu, nu, tmp = s["mu"], s["nu"], s["tmp"]
        t = self.steps
        b1, b2 = self.beta1, self.beta2
        if self.weight_decay:
            p *= 1 - self.lr * self.weight_decay
        mu *= b1
        mu += g
        nu *= b2
        np.multiply(g, g, out=tmp)
        nu += tmp
        # p -= lr/bc1 * m / (sqrt(v/bc2) + eps)  with m = (1-b1) mu, v = (1-b2) nu
        root = math.sqrt((1 - b2) / (1 - b2**t))
        np.sqrt(nu, out=tmp)
        tmp += self.eps / root
        np.divide(mu, tmp, out=tmp)
        tmp *= self.lr * (1 - b1) / ((1 - b1**t) * root)
        p -= tmp
        self._flush(mu, b1, self.lr, tmp)
        self._flush(nu, b2, 1.0, tmp)

    def moments(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The textbook m and v of a parameter (for tests and inspection)."""
        s = self.state[name]
        return (1 - self.beta1) * s["mu"], (1 - self.beta2) * s["nu"]


class AdamW(Adam):
    name = "adamw"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam, AdamW)
}


def make_optimizer(name: str, lr: float, **options) -> Optimizer:
    """The optimizer called ``name``; options are its keyword settings (momentum, weight_decay...)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = OPTIMIZERS[name]
    import inspect

    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return cls(lr, **{k: v for k, v in options.items() if k in accepted and v is not None})


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float) -> float:
    """Scale all gradients so their joint L2 norm is at most max_norm; returns the norm before."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm > max_norm > 0:
        scale = max_norm / (norm + 1e-12)
        for g in grads:
            g *= scale
    return norm
