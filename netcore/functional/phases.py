"""A stride-1 convolution computed on its input's 2x2 phases, for the 2x2 max pooling after it.

A 2x2 max pooling (stride 2) of a convolution's output y reads the four pixels
y[2r + p, 2s + q] (p, q in {0, 1}) of each window, which lie apart in memory: NumPy's loops over
such strided views run without SIMD and in short inner loops. Split both axes by parity instead
(space-to-depth): the padded input's phases are xs[c, a, b, u, v] = xpad[c, 2u + a, 2v + b], and
a kernel row i of output row 2r + p reads input row 2r + p + i, which is row r + di of phase a
for the *position* t = p + i = 2di + a. So

    y[f, 2r + p, 2s + q] = sum_{i, c, t'} Wp[(q, f), (i, c, t')] P[(p + i, c, t'), (r, s)]

    P[(t, c, t'), (r, s)] = xs[c, t % 2, t' % 2, r + t // 2, s + t' // 2]      (``patches``)
    Wp[(q, f), (i, c, t')] = W[f, c, i, t' - q] where 0 <= t' - q < kw, else 0

with positions t, t' over 2*(kh//2 + 1) and 2*(kw//2 + 1) values. The patch rows that window row
p reads (t from p to p + kh - 1, every c and t') are one contiguous block of P (``block``), so
each p is one matrix product of Wp (2F rows, the same for both p) with its block, and the 4F
output rows come in four blocks of F, one per window offset (p, q) = (0, 0), (0, 1), (1, 0),
(1, 1), each one contiguous (F, N*OH*OW/4) array: the pooling compares whole blocks. dL/dW is
dL/dWp of both products summed over the two places each weight has in Wp (``fold``); the biases
repeat once per block.

The price: the zeros of Wp, 2*(kw//2 + 1) / kw times W's multiply-adds (1.2x for a 5x5 kernel,
1.33x for 3x3), and a pass to split the input, paid back where the convolution moves more memory
than it multiplies: few input channels, as in a first layer (``Conv2D.pooled_in_phases``). No
dL/dx is computed this way.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from netcore.functional.im2col import ConvGeometry


def fits_phases(g: ConvGeometry) -> bool:
    """Whether a convolution's outputs split into whole 2x2 windows: stride 1, even OH and OW."""
    return g.stride == 1 and g.out_h % 2 == 0 and g.out_w % 2 == 0


class Phases:
    """How one convolution (geometry ``g``, ``filters``) runs on its input's phases."""

    def __init__(self, g: ConvGeometry, filters: int) -> None:
        if not fits_phases(g):
            raise ValueError(
                f"phases need stride 1 and an even output, not {g.out_h}x{g.out_w} at stride {g.stride}"
            )
        self.g, self.filters = g, filters
        self.half_kh, self.half_kw = g.kh // 2 + 1, g.kw // 2 + 1  # phase rows (columns) a kernel spans
        rows, cols = self.out_hw = (g.out_h // 2, g.out_w // 2)
        # the phases' own flat layout: 4C images of U x V, no padding (netcore.functional.im2col)
        self.geom = ConvGeometry.create(
            (4 * g.channels, rows + self.half_kh - 1, cols + self.half_kw - 1),
            (self.half_kh, self.half_kw),
            1,
            "valid",
        )
        self.per_position = g.channels * 2 * self.half_kw  # patch rows per position t
        self.patch_rows = 2 * self.half_kh * self.per_position
        self.index = self._weight_index()
        self.places = self._places(self.index, filters * g.channels * g.kh * g.kw)

    def block(self, p: int) -> slice:
        """The patch rows phase row p reads: positions p .. p + kh - 1."""
        return slice(p * self.per_position, (p + self.g.kh) * self.per_position)

    # -- the input and its patches -------------------------------------------------------
    def split(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The padded batch's phases in ``geom``'s flat layout, channels ordered (c, a, b).

        Shapes: x (N, C, H, W) -> out (4C, N*U*V + tail): out[(c, a, b), n, u, v] = xpad[n, c,
        2u + a, 2v + b]. Only the pixels are written: a reused ``out`` must hold zeros elsewhere."""
        g, pg = self.g, self.geom
        n, c = x.shape[:2]
        images = out[:, : n * pg.sample_size].reshape(c, 2, 2, n, pg.block_h, pg.block_w)
        channels_first = x.transpose(1, 0, 2, 3)
        for a in range(2):
            rows = _phase_range(a, g.pad_top, g.height, pg.block_h)
            for b in range(2):
                cols = _phase_range(b, g.pad_left, g.width, pg.block_w)
                np.copyto(images[:, a, b, :, rows[0], cols[0]], channels_first[:, :, rows[1], cols[1]])
        return out

    def patches(self, xs: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
        """P of n images in one copy. Shapes: xs (4C, n*U*V + tail), the rows of ``split`` (or a
        ``batch_rows`` view of them) -> out (patch_rows, n*OH*OW/4), rows (t, c, t'), columns
        (n, r, s)."""
        pg, c = self.geom, self.g.channels
        if xs.ndim != 2 or xs.strides[1] != xs.itemsize or xs.shape[1] < n * pg.sample_size + pg.tail:
            raise ValueError("phase patches need the (4C, n*U*V + tail) rows of split")
        row, v = xs.strides[0] // xs.itemsize, pg.block_w
        rows, cols = self.out_hw
        # t = 2di + a and t' = 2dj + b: axes (di, a, c, dj, b) are the rows (t, c, t') in order
        shape = (self.half_kh, 2, c, self.half_kw, 2, n, rows, cols)
        steps = (v, 2 * row, 4 * row, 1, row, pg.sample_size, v, 1)
        view = as_strided(xs, shape=shape, strides=[s * xs.itemsize for s in steps], writeable=False)
        np.copyto(out.reshape(shape), view)
        return out

    # -- weights -------------------------------------------------------------------------
    def _weight_index(self) -> np.ndarray:
        """Where each entry of Wp comes from in W.ravel(): (2F, kh*C*2*(kw//2 + 1)) indices, W.size
        for the zeros. Rows (q, f), columns (i, c, t') as in the module."""
        g, f = self.g, self.filters
        q, k, i, c, t = np.ix_(range(2), range(f), range(g.kh), range(g.channels), range(2 * self.half_kw))
        j = t - q
        flat = ((k * g.channels + c) * g.kh + i) * g.kw + j
        index = np.where((j >= 0) & (j < g.kw), flat, f * g.channels * g.kh * g.kw)
        return index.reshape(2 * f, -1)

    @staticmethod
    def _places(index: np.ndarray, size: int) -> np.ndarray:
        """The two places of each of W's ``size`` weights in Wp.ravel() (q = 0, 1): (size, 2)."""
        order = np.argsort(index, axis=None, kind="stable")
        places = order[: 2 * size].reshape(size, 2)
        if not np.array_equal(index.ravel()[places], np.repeat(np.arange(size), 2).reshape(size, 2)):
            raise ValueError("every weight must have exactly two places in the phase weights")
        return places

    def weights(self, w: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Wp from W: (F, C, kh, kw) -> out (2F, kh*C*2*(kw//2 + 1))."""
        padded = np.zeros(w.size + 1, dtype=w.dtype)
        padded[:-1] = w.ravel()
        return np.take(padded, self.index, out=out)

    def fold(self, dwp: np.ndarray, out: np.ndarray) -> np.ndarray:
        """dL/dW from dL/dWp (2F, ...), both products' summed: each weight's two places summed.
        out: (F, C, kh, kw)."""
        np.sum(dwp.ravel()[self.places], axis=1, out=out.reshape(-1))
        return out


def _phase_range(parity: int, before: int, size: int, length: int) -> tuple[slice, slice]:
    """(phase slice, pixel slice) along one axis: the u < length with 0 <= 2u + parity - before
    < size, and the pixels 2u + parity - before they hold."""
    first = max(0, -(-(before - parity) // 2))
    stop = min(length, (size - 1 + before - parity) // 2 + 1)
    if stop <= first:
        return slice(0, 0), slice(0, 0)
    start_pixel = 2 * first + parity - before
    return slice(first, stop), slice(start_pixel, start_pixel + 2 * (stop - first) - 1, 2)
