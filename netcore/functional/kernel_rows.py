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

Row width. The positions q above may run over whole block rows (``width`` = Bw, the
*flat* form: every copy and add is one contiguous run per channel and kernel column)
or over the first OW columns of each block row only (``width`` = OW, the *compact*
form, ``compact_width``): the Bw - OW columns right of the outputs are junk, and
leaving them out makes all three products (forward, dL/dW, dL/dx) Bw/OW times
smaller -- 16/14 for a 5x5 "same" convolution of 14x14 images -- for copies that
run OW values at a time instead of whole rows. Moving one row down is then a shift
of ``width`` in q. Both forms give the same results; the layer uses the compact one
when it drops columns (``Conv2D.compact_rows``), the flat one is the plain reference.

The patch matrix is kh times smaller than im2col's and the product has kh*F rows
instead of F, which suits BLAS better; it pays when F < C*kw (the stacked output is
then smaller than the im2col patches), i.e. for every convolution but those on few
input channels.
"""

from __future__ import annotations

import numpy as np

from netcore.functional.im2col import ConvGeometry


def compact_width(g: ConvGeometry) -> int:
    """The row width without junk columns: OW (equal to Bw when no column is junk)."""
    return g.out_w


def _width(g: ConvGeometry, width: int | None) -> int:
    if width is None:
        return g.block_w
    if not g.out_w <= width <= g.block_w:
        raise ValueError(f"row width {width} must lie between the output width {g.out_w} and Bw={g.block_w}")
    return width


def reach(g: ConvGeometry, width: int | None = None) -> int:
    """Columns needed past the last position: the shift of the bottom kernel row, (kh-1)*width."""
    return (g.kh - 1) * _width(g, width)


def positions(g: ConvGeometry, n: int, width: int | None = None) -> int:
    """Output positions of n images on the frame (Bh, width): n*Bh*width."""
    return n * g.block_h * _width(g, width)


def stacked_weights(w: np.ndarray) -> np.ndarray:
    """Wk: (F, C, kh, kw) -> (kh*F, C*kw), rows (i, f), columns (c, j)."""
    f, c, kh, kw = w.shape
    return w.transpose(2, 0, 1, 3).reshape(kh * f, c * kw)


def unstack_weights(wk: np.ndarray, shape: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:
    """The inverse of ``stacked_weights``, written into ``out`` (F, C, kh, kw)."""
    f, c, kh, kw = shape
    out[...] = wk.reshape(kh, f, c, kw).transpose(1, 2, 0, 3)
    return out


def _shifted(flat: np.ndarray, g: ConvGeometry, n: int, j: int, width: int) -> np.ndarray:
    """flat[c, j + q] for the q of R's columns: (C, L) in the flat form, (C, rows, width) compact."""
    length = positions(g, n, width) + reach(g, width)
    if width == g.block_w:
        return flat[:, j : j + length]
    rows = length // width  # n*Bh + kh - 1 block rows, each read from its first column
    return flat[:, j : j + rows * g.block_w].reshape(g.channels, rows, g.block_w)[:, :, :width]


def row_patches(
    xp: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray | None = None, width: int | None = None
) -> np.ndarray:
    """R[(c, j), q] = xp[c, q + j] (q over the frame (Bh, width) of n images and kh-1 rows more).

    Shapes: xp (C, n*Bh*Bw + tail) from ``pad`` -> (C*kw, n*Bh*width + (kh-1)*width).
    """
    width = _width(g, width)
    length = positions(g, n, width) + reach(g, width)
    if out is None:
        out = np.empty((g.channels * g.kw, length), dtype=xp.dtype)
    rows = out.reshape(g.channels, g.kw, length)
    for j in range(g.kw):
        view = _shifted(xp, g, n, j, width)
        np.copyto(rows[:, j].reshape(view.shape), view)
    return out


def row_scatter(
    rows: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray, width: int | None = None
) -> np.ndarray:
    """The adjoint of ``row_patches``: out[c, q + j] += rows[(c, j), q].

    Shapes: rows (C*kw, n*Bh*width + (kh-1)*width) -> out (C, n*Bh*Bw + tail), added into.
    """
    width = _width(g, width)
    blocks = rows.reshape(g.channels, g.kw, -1)
    for j in range(g.kw):
        view = _shifted(out, g, n, j, width)
        view += blocks[:, j].reshape(view.shape)
    return out


def spread_rows(rows: np.ndarray, g: ConvGeometry, n: int, width: int, out: np.ndarray) -> np.ndarray:
    """Compact kernel rows moved onto whole block rows, for ``row_scatter`` in the flat form.

    out[(c, j), R*Bw + q] = rows[(c, j), R*width + q] for q < width; the junk columns
    q >= width of ``out`` are not written (they must hold zeros: zero ``out`` once).
    One strided copy, then kw long contiguous adds: cheaper than ``row_scatter``'s kw
    adds of ``width`` values at a time.
    Shapes: rows (C*kw, n*Bh*width + (kh-1)*width) -> out (C*kw, n*Bh*Bw + (kh-1)*Bw).
    """
    count = rows.shape[1] // width  # n*Bh + kh - 1 block rows
    view = out.reshape(rows.shape[0], count, g.block_w)[:, :, :width]
    np.copyto(view, rows.reshape(rows.shape[0], count, width))
    return out


def shift_sum(
    stacked: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray, width: int | None = None
) -> np.ndarray:
    """y[f, p] = sum_i stacked[(i, f), p + i*width].

    Shapes: stacked (kh*F, n*Bh*width + (kh-1)*width) -> out (F, n*Bh*width).
    """
    width = _width(g, width)
    f, length = out.shape[0], positions(g, n, width)
    blocks = stacked.reshape(g.kh, f, -1)
    if g.kh == 1:
        np.copyto(out, blocks[0, :, :length])
        return out
    np.add(blocks[0, :, :length], blocks[1, :, width : width + length], out=out)
    for i in range(2, g.kh):
        out += blocks[i, :, i * width : i * width + length]
    return out


def shift_stack(
    dz: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray | None = None, width: int | None = None
) -> np.ndarray:
    """The adjoint of ``shift_sum``: stacked[(i, f), q] = dz[f, q - i*width] (zero outside dz).

    Shapes: dz (F, n*Bh*width) -> (kh*F, n*Bh*width + (kh-1)*width).
    """
    width = _width(g, width)
    f, length = dz.shape[0], positions(g, n, width)
    total = length + reach(g, width)
    if out is None:
        out = np.empty((g.kh * f, total), dtype=dz.dtype)
    blocks = out.reshape(g.kh, f, total)
    for i in range(g.kh):
        shift = i * width
        blocks[i, :, :shift] = 0
        blocks[i, :, shift : shift + length] = dz
        blocks[i, :, shift + length :] = 0
    return out
