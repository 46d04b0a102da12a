"""Random geometric augmentation of image batches, vectorised over the whole batch.

Each sample gets its own random shift, rotation, scaling and (optionally) an elastic distortion
(Simard, Steinkraus & Platt, ICDAR 2003: a random displacement field smoothed by a Gaussian).
All of them are folded into one map from output pixel to source position, and the batch is
resampled once with bilinear interpolation (zeros outside the image). No Python loop runs over
samples or pixels; a 64x1x28x28 batch takes well under a millisecond.

    aug = STRENGTHS["light"]
    x_aug = aug.apply(x, rng)          # x: (N, C, H, W) float32, rng: np.random.Generator

A flat MNIST batch (N, 784) is augmented as ``aug.apply(x.reshape(-1, 1, 28, 28), rng)``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WarpParams:
    """Per-sample geometry for ``warp``.

    angle: (N,) rotation in radians (positive turns the content clockwise on screen, where
           y points down); scale: (N,) zoom factor; shift: (N, 2) translation (dy, dx) in pixels;
    displacement: (N, 2, H, W) extra source offsets (dy, dx) per output pixel, or None.
    """

    angle: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    displacement: np.ndarray | None = None

    @classmethod
    def identity(cls, n: int) -> WarpParams:
        return cls(np.zeros(n, np.float32), np.ones(n, np.float32), np.zeros((n, 2), np.float32))


@dataclass(frozen=True)
class Augmentation:
    """Strength of each random transformation; every sample draws its own values.

    shift: translation up to +-shift pixels along each axis (uniform).
    rotate_deg: rotation up to +-rotate_deg degrees (uniform).
    scale: zoom factor uniform in [1 - scale, 1 + scale].
    elastic_alpha: elastic displacement strength in pixels (0 = off; Simard used 34 on 28x28).
    elastic_sigma: smoothness of the elastic field, the Gaussian's sigma in pixels.
    """

    shift: float = 2.0
    rotate_deg: float = 10.0
    scale: float = 0.1
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"augmentation {f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"augmentation {f.name} must be >= 0, got {value!r}")
            object.__setattr__(self, f.name, float(value))
        if self.scale >= 1:
            raise ValueError(f"augmentation scale must be below 1, got {self.scale!r}")
        if self.rotate_deg > 180:
            raise ValueError(f"augmentation rotate_deg must be at most 180, got {self.rotate_deg!r}")
        if self.elastic_sigma <= 0:
            raise ValueError(f"augmentation elastic_sigma must be > 0, got {self.elastic_sigma!r}")

    def sample(self, n: int, image_shape: tuple[int, int], rng: np.random.Generator) -> WarpParams:
        """Draw the geometry for n samples of size image_shape = (H, W)."""
        f32 = np.float32
        angle = rng.uniform(-1.0, 1.0, n).astype(f32) * f32(math.radians(self.rotate_deg))
        scale = 1.0 + rng.uniform(-1.0, 1.0, n).astype(f32) * f32(self.scale)
        shift = rng.uniform(-1.0, 1.0, (n, 2)).astype(f32) * f32(self.shift)
        displacement = None
        if self.elastic_alpha > 0:
            h, w = image_shape
            ws = _workspace()
            field = rng.random(dtype=f32, out=ws.get("field", (n, 2, h, w), f32))
            field *= 2.0
            field -= 1.0  # uniform in -1..1, as Simard et al.
            displacement = smooth(field, self.elastic_sigma, scratch=ws.get("blur", (n * 2, h, w), f32))
            displacement *= f32(self.elastic_alpha)
        return WarpParams(angle, scale, shift, displacement)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A randomly transformed copy of x.

        Shapes: x (N, C, H, W) float -> (N, C, H, W), same dtype. The C channels of one sample
        share its geometry.
        """
        _check_batch(x)
        return warp(x, self.sample(x.shape[0], x.shape[2:], rng))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Augmentation:
        """Inverse of to_dict; missing keys take their defaults, unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown augmentation setting(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


STRENGTHS: dict[str, Augmentation | None] = {
    "off": None,
    "light": Augmentation(shift=1.5, rotate_deg=8.0, scale=0.08),
    "strong": Augmentation(shift=3.0, rotate_deg=15.0, scale=0.15, elastic_alpha=30.0, elastic_sigma=4.0),
}


def augmentation_for(strength: str) -> Augmentation | None:
    """The preset named ``strength`` ("off" gives None)."""
    if strength not in STRENGTHS:
        raise ValueError(f"augmentation strength must be one of {sorted(STRENGTHS)}, got {strength!r}")
    return STRENGTHS[strength]


# --------------------------------------------------------------------------- resampling


def warp(x: np.ndarray, params: WarpParams) -> np.ndarray:
    """Resample every image of x by its own geometry, bilinear, zeros outside.

    The output pixel p (relative to the image centre c) reads the source at
        q = c + R(-angle) (p - shift) / scale + displacement(p),
    i.e. the content is scaled about the centre, rotated, then shifted by ``shift``.
    Shapes: x (N, C, H, W) -> (N, C, H, W).
    """
    _check_batch(x)
    n, _, h, w = x.shape
    ws = _workspace()
    coords = (ws.get("ys", (n, h, w), np.float32), ws.get("xs", (n, h, w), np.float32))
    ys, xs = source_coords(params, (h, w), out=coords)
    return bilinear(x, ys, xs)


def source_coords(
    params: WarpParams, image_shape: tuple[int, int], out: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs), each (N, H, W) float32: where every output pixel reads its source.

    ``out``: two (N, H, W) float32 arrays to write into instead of new ones.
    """
    h, w = image_shape
    n = params.angle.shape[0]
    f32 = np.float32
    if out is None:
        out = (np.empty((n, h, w), f32), np.empty((n, h, w), f32))
    ys, xs = out
    cy, cx = f32((h - 1) / 2), f32((w - 1) / 2)
    cos = (np.cos(params.angle) / params.scale).astype(f32)[:, None, None]
    sin = (np.sin(params.angle) / params.scale).astype(f32)[:, None, None]
    py = np.arange(h, dtype=f32)[None, :, None] - cy - params.shift[:, 0, None, None]  # (N, H, 1)
    px = np.arange(w, dtype=f32)[None, None, :] - cx - params.shift[:, 1, None, None]  # (N, 1, W)
    # inverse rotation R(-angle) = [[cos, sin], [-sin, cos]] on (x, y), divided by the scale;
    # the small (N, H, 1) and (N, 1, W) terms are combined first, one full-size add each
    np.add(cos * px + cx, sin * py, out=xs)
    np.subtract(cos * py + cy, sin * px, out=ys)
    if params.displacement is not None:
        ys += params.displacement[:, 0]
        xs += params.displacement[:, 1]
    return ys, xs


def bilinear(x: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample each image of x at (ys, xs) with bilinear interpolation, zeros outside.

    Shapes: x (N, C, H, W); ys, xs (N, Ho, Wo) source positions in pixels -> (N, C, Ho, Wo),
    a new array of x's dtype. Implemented as four gathers from a zero-padded flat copy of x,
    so positions outside the image need no masks.
    """
    n, c, h, w = x.shape
    ho, wo = ys.shape[1:]
    ws = _workspace()
    # one zero row/column before the image and two after: any clipped position and its
    # right/lower neighbour then fall on real pixels or on zeros
    hp, wp = h + 3, w + 3
    padded = ws.get("padded", (n, c, hp, wp), x.dtype, zero=True)  # the border stays zero
    padded[:, :, 1 : h + 1, 1 : w + 1] = x
    flat = padded.reshape(-1)
    fy = np.clip(ys, -1.0, float(h), out=ws.get("fy", (n, ho, wo), x.dtype))
    fx = np.clip(xs, -1.0, float(w), out=ws.get("fx", (n, ho, wo), x.dtype))
    y0 = np.floor(fy, out=ws.get("y0", (n, ho, wo), x.dtype))
    x0 = np.floor(fx, out=ws.get("x0", (n, ho, wo), x.dtype))
    fy -= y0  # now the fractional parts
    fx -= x0
    y0 += 1.0  # flat offset of the top-left neighbour inside its padded image
    y0 *= wp
    y0 += x0
    y0 += 1.0
    index_type = np.int32 if flat.size < 2**31 else np.intp
    base = ws.get("base", (n, 1, ho, wo), index_type)
    np.copyto(base[:, 0], y0, casting="unsafe")
    i00 = np.add(
        base,
        (np.arange(n * c, dtype=index_type) * (hp * wp)).reshape(n, c, 1, 1),
        out=ws.get("i00", (n, c, ho, wo), index_type),
    )
    # the four neighbours, gathered through shifted views rather than shifted indices (every
    # index is inside by the padding above: mode "clip" spares "raise"'s temporary for ``out``)
    v00 = np.take(flat, i00, out=ws.get("v00", i00.shape, x.dtype), mode="clip")
    v01 = np.take(flat[1:], i00, out=ws.get("v01", i00.shape, x.dtype), mode="clip")
    v10 = np.take(flat[wp:], i00, out=ws.get("v10", i00.shape, x.dtype), mode="clip")
    out = np.take(flat[wp + 1 :], i00)  # v11, then the result: the only new array
    fx = fx[:, None]
    v01 -= v00  # top row: v00 + fx (v01 - v00)
    v01 *= fx
    v01 += v00
    out -= v10  # bottom row
    out *= fx
    out += v10
    out -= v01  # between the rows
    out *= fy[:, None]
    out += v01
    return out


class _Workspace(threading.local):
    """Scratch arrays kept between calls, one set per thread.

    Measured on this project's machines: allocating and freeing the ~200 KB temporaries of a
    64x1x28x28 batch made the kernel map and fault in fresh pages on every call, tripling
    the time per batch (2 ms instead of 0.6 ms).
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
            self.arrays[name] = a
        return a


_WORKSPACE = _Workspace()


def _workspace() -> _Workspace:
    return _WORKSPACE


# --------------------------------------------------------------------------- elastic field


@lru_cache(maxsize=16)
def _gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix G with (G v)_i = sum_j g(i - j) v_j: Gaussian blur with zeros outside."""
    radius = int(math.ceil(4 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    g = np.where(np.abs(d) <= radius, taps[np.clip(d + radius, 0, 2 * radius)], 0.0)
    g = g.astype(np.float32)
    g.flags.writeable = False
    return g


def smooth(field: np.ndarray, sigma: float, scratch: np.ndarray | None = None) -> np.ndarray:
    """Gaussian blur over the last two axes, zeros outside (scipy's mode="constant").

    Separable: G_h @ f @ G_w^T for every (H, W) slice. Written as a stack of small matrix
    products on purpose: one large (N*H, W) @ (W, W) product is handed to threaded BLAS, which
    on a busy 2-core machine took 5-10 ms instead of 0.4 ms.
    Shapes: (..., H, W) -> new (..., H, W) float32; ``scratch`` (prod(...), H, W) float32 holds
    the half-blurred field if given.
    """
    *lead, h, w = field.shape
    gh, gw = _gaussian_matrix(h, float(sigma)), _gaussian_matrix(w, float(sigma))
    stack = field.reshape(-1, h, w)
    half = np.matmul(gh, stack, out=scratch)  # blur along y
    return np.matmul(half, gw.T).reshape(*lead, h, w)  # blur along x


def _check_batch(x: np.ndarray) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        shape = getattr(x, "shape", None)
        raise ValueError(f"augmentation needs an (N, C, H, W) batch, got shape {shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"augmentation needs a float batch, got dtype {x.dtype}")
