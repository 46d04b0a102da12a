"""Stride-1 convolution by kernel rows: patches kh times smaller than im2col's.

The layout is ``netcore.functional.im2col``'s: a batch is stored channel-major
as one flat row per channel, image after image, each a ``Bh x Bw`` block, so
moving one pixel down is a shift of ``Bw`` along the row. For stride 1,

    y[f, p] = sum_{i,c,j} W[f, c, i, j] * xp[c, p + i*Bw + j]      (p: a flat position)

Instead of one patch row per (c, i, j) (im2col: C*kh*kw rows), the patches hold
one *kernel row*, rows (c, j) only:

    R[(c, j), q] = xp[c, q + j]                       R: (C*kw, L),  L = n*Bh*Bw + (kh-1)*Bw

and the kh kernel rows become kh stacked blocks of F output rows, one product:

    Z = Wk R,   Wk[(i, f), (c, j)] = W[f, c, i, j]    Z: (kh*F, L)
    y[f, p] = sum_i Z[(i, f), p + i*Bw]               (shift_sum)

Backward uses the same two maps in the other direction. With dz (F, n*Bh*Bw) on the
block frame (zero outside the OH x OW outputs) and D = shift_stack(dz), the adjoint
of shift_sum (D[(i, f), q] = dz[f, q - i*Bw], zero where that is outside dz):

    dL/dW = D R^T  (as (kh, F, C, kw)),    dL/dxp = row_scatter(Wk^T D)

Every copy and add is one contiguous run per channel and kernel column: kw copies
build R, kh adds make y, kw adds scatter dL/dx. The patch matrix is kh times
smaller than im2col's and the product has kh*F rows instead of F, which suits
BLAS better; it pays when F < C*kw (the stacked output is then smaller than the
im2col patches), i.e. for every convolution but those on few input channels.
"""

from __future__ import annotations

import numpy as np

from netcore.functional.im2col import ConvGeometry


def reach(g: ConvGeometry) -> int:
    """Columns needed past the last position: the shift of the bottom kernel row, (kh-1)*Bw."""
    return (g.kh - 1) * g.block_w


def stacked_weights(w: np.ndarray) -> np.ndarray:
    """Wk: (F, C, kh, kw) -> (kh*F, C*kw), rows (i, f), columns (c, j)."""
    f, c, kh, kw = w.shape
    return w.transpose(2, 0, 1, 3).reshape(kh * f, c * kw)


def unstack_weights(wk: np.ndarray, shape: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:
    """The inverse of ``stacked_weights``, written into ``out`` (F, C, kh, kw)."""
    f, c, kh, kw = shape
    out[...] = wk.reshape(kh, f, c, kw).transpose(1, 2, 0, 3)
    return out


def row_patches(xp: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """R[(c, j), q] = xp[c, q + j].

    Shapes: xp (C, n*Bh*Bw + tail) from ``pad`` -> (C*kw, n*Bh*Bw + (kh-1)*Bw).
    """
    length = n * g.sample_size + reach(g)
    if out is None:
        out = np.empty((g.channels * g.kw, length), dtype=xp.dtype)
    rows = out.reshape(g.channels, g.kw, length)
    for j in range(g.kw):
        np.copyto(rows[:, j], xp[:, j : j + length])
    return out


def row_scatter(rows: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray) -> np.ndarray:
    """The adjoint of ``row_patches``: out[c, q + j] += rows[(c, j), q].

    Shapes: rows (C*kw, n*Bh*Bw + (kh-1)*Bw) -> out (C, n*Bh*Bw + tail), added into.
    """
    length = n * g.sample_size + reach(g)
    blocks = rows.reshape(g.channels, g.kw, length)
    for j in range(g.kw):
        out[:, j : j + length] += blocks[:, j]
    return out


def shift_sum(stacked: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray) -> np.ndarray:
    """y[f, p] = sum_i stacked[(i, f), p + i*Bw].

    Shapes: stacked (kh*F, n*Bh*Bw + (kh-1)*Bw) -> out (F, n*Bh*Bw).
    """
    f, length = out.shape[0], n * g.sample_size
    blocks = stacked.reshape(g.kh, f, -1)
    if g.kh == 1:
        np.copyto(out, blocks[0, :, :length])
        return out
    np.add(blocks[0, :, :length], blocks[1, :, g.block_w : g.block_w + length], out=out)
    for i in range(2, g.kh):
        out += blocks[i, :, i * g.block_w : i * g.block_w + length]
    return out


def shift_stack(dz: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of ``shift_sum``: stacked[(i, f), q] = dz[f, q - i*Bw] (zero outside dz).

    Shapes: dz (F, n*Bh*Bw) -> (kh*F, n*Bh*Bw + (kh-1)*Bw).
    """
    f, length = dz.shape[0], n * g.sample_size
    total = length + reach(g)
    if out is None:
        out = np.empty((g.kh * f, total), dtype=dz.dtype)
    blocks = out.reshape(g.kh, f, total)
    for i in range(g.kh):
        shift = i * g.block_w
        blocks[i, :, :shift] = 0
        blocks[i, :, shift : shift + length] = dz
        blocks[i, :, shift + length :] = 0
    return out
