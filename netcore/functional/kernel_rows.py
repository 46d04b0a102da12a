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

Two forms (``form``):

- "flat", the above: q runs over whole block rows, so every copy and add is one
  contiguous run per channel and kernel column; the plain reference.
- "exact": q runs over the H pixel rows of each image and its first OW columns
  only, R[(c, j), (n, rho, q)] = xpad[c, n, rho + pad_top, q + j], so Z holds no
  junk: its positions are exactly the convolution's (OW columns, and no padding
  rows, whose patches are zeros and add nothing). The shift then happens on rows of
  each image: y[f, n, r] = sum_i Z[(i, f), n, r + i - pad_top], over the i for which
  that row is a pixel row. All three products (forward, dL/dW, dL/dx) shrink by
  Bh*Bw / (H*OW) -- 256/196 for a 5x5 "same" convolution of 14x14 images -- for
  copies and adds that run OW (or rows x OW) values at a time. The output frame is
  (OH, OW): no junk columns at all.

The patch matrix is kh times smaller than im2col's and the product has kh*F rows
instead of F, which suits BLAS better; it pays when F < C*kw (the stacked output is
then smaller than the im2col patches), i.e. for every convolution but those on few
input channels.
"""

from __future__ import annotations

import numpy as np

from netcore.functional.im2col import ConvGeometry, row_view

FORMS = ("flat", "exact")


def _check(form: str) -> None:
    if form not in FORMS:
        raise ValueError(f"kernel rows form must be one of {FORMS}, got {form!r}")


def frame(g: ConvGeometry, form: str) -> tuple[int, int]:
    """The output frame per image: (Bh, Bw) flat (junk right and below), (OH, OW) exact."""
    _check(form)
    return (g.block_h, g.block_w) if form == "flat" else (g.out_h, g.out_w)


def reach(g: ConvGeometry) -> int:
    """Flat form: columns needed past the last position, the shift of the bottom kernel row."""
    return (g.kh - 1) * g.block_w


def patch_length(g: ConvGeometry, n: int, form: str) -> int:
    """Columns of R (and of Z): n*Bh*Bw + (kh-1)*Bw flat, n*H*OW exact."""
    _check(form)
    return n * g.sample_size + reach(g) if form == "flat" else n * g.height * g.out_w


def stacked_weights(w: np.ndarray) -> np.ndarray:
    """Wk: (F, C, kh, kw) -> (kh*F, C*kw), rows (i, f), columns (c, j)."""
    f, c, kh, kw = w.shape
    return w.transpose(2, 0, 1, 3).reshape(kh * f, c * kw)


def unstack_weights(wk: np.ndarray, shape: tuple[int, int, int, int], out: np.ndarray) -> np.ndarray:
    """The inverse of ``stacked_weights``, written into ``out`` (F, C, kh, kw)."""
    f, c, kh, kw = shape
    out[...] = wk.reshape(kh, f, c, kw).transpose(1, 2, 0, 3)
    return out


def _pixel_rows(flat: np.ndarray, g: ConvGeometry, n: int, j: int) -> np.ndarray:
    """Exact form: view [c, n, rho, q] = xpad[c, n, rho + pad_top, q + j] of a flat batch, (C, n, H, OW)."""
    blocks = flat[:, j : j + n * g.sample_size].reshape(g.channels, n, g.block_h, g.block_w)
    return blocks[:, :, g.pad_top : g.pad_top + g.height, : g.out_w]


def row_patches(xp: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray | None = None, form: str = "flat"):
    """R[(c, j), q] = xp[c, q + j] over the form's positions q, in one copy from a strided view.

    Shapes: xp (C, n*Bh*Bw + tail) from ``pad`` -> (C*kw, patch_length(g, n, form)).
    """
    length = patch_length(g, n, form)
    if form == "flat":
        view = row_view(xp, 0, (g.kw, length), (1, 1))
    else:  # [c, j, n, rho, q] = xpad[c, n, rho + pad_top, q + j], as _pixel_rows
        shape = (g.kw, n, g.height, g.out_w)
        view = row_view(xp, g.pad_top * g.block_w, shape, (1, g.sample_size, g.block_w, 1))
    if out is None:
        out = np.empty((g.channels * g.kw, length), dtype=xp.dtype)
    np.copyto(out.reshape(view.shape), view)
    return out


def row_scatter(rows: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray, form: str = "flat") -> np.ndarray:
    """The adjoint of ``row_patches``: out[c, q + j] += rows[(c, j), q].

    Shapes: rows (C*kw, patch_length(g, n, form)) -> out (C, n*Bh*Bw + tail), added into.
    The exact form adds OW values at a time; ``spread_rows`` then the flat form is faster.
    """
    length = patch_length(g, n, form)
    blocks = rows.reshape(g.channels, g.kw, length)
    for j in range(g.kw):
        if form == "flat":
            out[:, j : j + length] += blocks[:, j]
        else:
            view = _pixel_rows(out, g, n, j)
            view += blocks[:, j].reshape(view.shape)
    return out


def spread_rows(rows: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray) -> np.ndarray:
    """Exact-form kernel rows moved to their flat positions (for the flat ``row_scatter``).

    out[(c, j), n*Bh*Bw + (rho + pad_top)*Bw + q] = rows[(c, j), (n, rho, q)]; nothing else of
    ``out`` is written, so it must hold zeros there (zero it once). One strided copy, then the
    flat scatter's kw long contiguous adds: cheaper than the exact scatter's short ones.
    Shapes: rows (C*kw, n*H*OW) -> out (C*kw, n*Bh*Bw + (kh-1)*Bw).
    """
    k = rows.shape[0]
    blocks = out[:, : n * g.sample_size].reshape(k, n, g.block_h, g.block_w)
    view = blocks[:, :, g.pad_top : g.pad_top + g.height, : g.out_w]
    np.copyto(view, rows.reshape(view.shape))
    return out


def _row_ranges(g: ConvGeometry, i: int) -> tuple[int, int, int]:
    """Exact form, kernel row i: the output rows [r0, r1) it reaches and their pixel-row offset."""
    shift = i - g.pad_top  # output row r reads pixel row r + shift
    r0, r1 = max(0, -shift), min(g.out_h, g.height - shift)
    return r0, max(r0, r1), shift


def shift_sum(
    stacked: np.ndarray, g: ConvGeometry, n: int, out: np.ndarray, form: str = "flat"
) -> np.ndarray:
    """y[f, p] = sum_i stacked[(i, f), p + i*Bw] (flat), or per image row (exact, see above).

    Shapes: stacked (kh*F, patch_length(g, n, form)) -> out (F, n*fh*fw) on ``frame(g, form)``.
    """
    f = out.shape[0]
    blocks = stacked.reshape(g.kh, f, -1)
    if form == "flat":
        length = n * g.sample_size
        if g.kh == 1:
            np.copyto(out, blocks[0, :, :length])
            return out
        np.add(blocks[0, :, :length], blocks[1, :, g.block_w : g.block_w + length], out=out)
        for i in range(2, g.kh):
            out += blocks[i, :, i * g.block_w : i * g.block_w + length]
        return out
    _check(form)
    y = out.reshape(f, n, g.out_h, g.out_w)
    z = stacked.reshape(g.kh, f, n, g.height, g.out_w)
    # start from a kernel row that reaches every output row (the middle one of a "same"
    # convolution): a copy, where starting from zeros would cost a fill and an add
    ranges = [_row_ranges(g, i) for i in range(g.kh)]
    whole = next((i for i, (r0, r1, _) in enumerate(ranges) if (r0, r1) == (0, g.out_h)), None)
    if whole is None:
        y.fill(0)
    else:
        shift = ranges[whole][2]
        np.copyto(y, z[whole, :, :, shift : shift + g.out_h])
    for i, (r0, r1, shift) in enumerate(ranges):
        if i != whole and r1 > r0:
            y[:, :, r0:r1] += z[i, :, :, r0 + shift : r1 + shift]
    return out


def shift_stack(
    dz: np.ndarray,
    g: ConvGeometry,
    n: int,
    out: np.ndarray | None = None,
    form: str = "flat",
    zeros_kept: bool = False,
):
    """The adjoint of ``shift_sum``: stacked[(i, f), q] = dz[f, q - i*Bw] (flat; zero outside dz),
    or stacked[(i, f), (n, rho)] = dz[f, n, rho - i + pad_top] (exact; zero where no output row).

    Shapes: dz (F, n*fh*fw) on ``frame(g, form)`` -> (kh*F, patch_length(g, n, form)).
    ``zeros_kept``: ``out`` holds the zeros of an earlier call with the same shapes (nothing else
    wrote it since), so only dz's kh copies are written.
    """
    f = dz.shape[0]
    total = patch_length(g, n, form)
    if out is None:
        out = np.empty((g.kh * f, total), dtype=dz.dtype)
    if form == "flat":
        length = n * g.sample_size
        blocks = out.reshape(g.kh, f, total)
        for i in range(g.kh):
            shift = i * g.block_w
            if not zeros_kept:
                blocks[i, :, :shift] = 0
                blocks[i, :, shift + length :] = 0
            blocks[i, :, shift : shift + length] = dz
        return out
    d = dz.reshape(f, n, g.out_h, g.out_w)
    blocks = out.reshape(g.kh, f, n, g.height, g.out_w)
    for i in range(g.kh):
        r0, r1, shift = _row_ranges(g, i)  # pixel rows [r0 + shift, r1 + shift) hold output rows
        if not zeros_kept:
            blocks[i, :, :, : r0 + shift] = 0
            blocks[i, :, :, r1 + shift :] = 0
        blocks[i, :, :, r0 + shift : r1 + shift] = d[:, :, r0:r1]
    return out
