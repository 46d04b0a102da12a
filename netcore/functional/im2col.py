"""Patch matrices for convolution as one matrix product: im2col and its adjoint col2im.

A convolution of images x (N, C, H, W) with filters W (F, C, kh, kw) is

    y[n, f, oh, ow] = sum_{c,i,j} W[f, c, i, j] * xpad[n, c, oh*s + i, ow*s + j]

so with the patch matrix ``cols[(c,i,j), (n,oh,ow)] = xpad[n, c, oh*s + i, ow*s + j]``
it is the single product ``W.reshape(F, C*kh*kw) @ cols``.

Layout. A batch is stored channel-major, one flat row per channel: image after
image, each a *block* of ``Bh x Bw`` values (row-major) holding its pixels at
offset (pad_top, pad_left) and zeros around them, then a tail of zeros:
``(C, N*Bh*Bw + tail)``. Neighbouring rows and images share their padding: a
row's right padding is the next row's left zeros, an image's bottom padding the
next image's top rows, so a block is only ``H + max(pad_top, pad_bottom)`` by
``W + max(pad_left, pad_right)``. Shifting a channel's row by ``i*Bw + j`` lines
every pixel up with the one (i, j) further on, so a kernel offset's row of the
patch matrix is a strided view of the shifted row: im2col copies it and col2im
scatter-adds into it, in one vectorised NumPy call per offset (kh*kw in all), no
loops over samples or pixels, no ``np.add.at``. All the offsets' views together are
one strided view of the row (``patch_view``), so im2col is a single copy: one NumPy
call instead of kh*kw (each call is a turn at the GIL, which the threads of a split
batch take in turn, ``netcore.parallel``). col2im cannot do the same: its offsets
overlap, and one add through overlapping views would lose updates.

Each sample's outputs sit on a *frame* of ``fh x fw`` columns holding the
``OH x OW`` outputs in its top-left corner. With stride 1 the frame is wider than
the output: the extra columns read wrapped-around values (junk, dropped on the
way out, given zero gradient on the way back), and in exchange an offset's view
is one long contiguous run per image (or per batch), which is what makes the
copies and adds fast. Two frames are used:

    patch_frame(g)    (OH, Bw) for stride 1, else (OH, OW): forward patches and dL/dW
    scatter_frame(g)  (Bh, Bw) for stride 1, else (OH, OW): col2im for dL/dx, where
                      each offset is a single contiguous add over the whole batch

The forward frame may also be the output's own, ``patch_frame(g, exact=True)``: no junk
columns, for copies of OW values at a time. ``Conv2D`` takes it for every batch but a single
image (see its ``exact_patches``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import as_strided

Frame = tuple[int, int]


def pad_amounts(padding: str | int, size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding along one axis.

    "valid": none. An int p: p on both sides. "same": the TensorFlow rule, an
    output of ceil(size / stride) with the odd pixel of padding after.
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return int(padding), int(padding)


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one convolution over images of shape (C, H, W), and their flat layout.

    Derived sizes are computed once (cached): im2col asks for them kh*kw times per call.
    """

    channels: int
    height: int
    width: int
    kh: int
    kw: int
    stride: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @classmethod
    def create(
        cls, in_shape: tuple[int, int, int], kernel: tuple[int, int], stride: int, padding: str | int
    ) -> ConvGeometry:
        c, h, w = in_shape
        top, bottom = pad_amounts(padding, h, kernel[0], stride)
        left, right = pad_amounts(padding, w, kernel[1], stride)
        return cls(c, h, w, kernel[0], kernel[1], stride, top, bottom, left, right)

    @cached_property
    def padded_h(self) -> int:
        return self.height + self.pad_top + self.pad_bottom

    @cached_property
    def padded_w(self) -> int:
        return self.width + self.pad_left + self.pad_right

    @cached_property
    def fits(self) -> bool:
        return self.padded_h >= self.kh and self.padded_w >= self.kw

    @cached_property
    def out_h(self) -> int:
        return (self.padded_h - self.kh) // self.stride + 1

    @cached_property
    def out_w(self) -> int:
        return (self.padded_w - self.kw) // self.stride + 1

    @cached_property
    def block_h(self) -> int:
        """Rows per image in the flat layout (bottom padding shared with the next image)."""
        return max(self.height + max(self.pad_top, self.pad_bottom), (self.out_h - 1) * self.stride + 1)

    @cached_property
    def block_w(self) -> int:
        """Values per row in the flat layout (right padding shared with the next row)."""
        return max(self.width + max(self.pad_left, self.pad_right), (self.out_w - 1) * self.stride + 1)

    @cached_property
    def sample_size(self) -> int:
        """Values per image and channel in the flat layout: Bh * Bw."""
        return self.block_h * self.block_w

    @cached_property
    def tail(self) -> int:
        """Zeros after the last image, as far as the largest shift reaches (its padding)."""
        return (self.kh - 1) * self.block_w + self.kw - 1

    def padded_length(self, n: int) -> int:
        return n * self.sample_size + self.tail


def patch_frame(g: ConvGeometry, exact: bool = False) -> Frame:
    """The forward frame: (OH, Bw) with stride 1 (contiguous per image), else -- or ``exact`` --
    the output's own (OH, OW)."""
    return (g.out_h, g.block_w) if g.stride == 1 and not exact else (g.out_h, g.out_w)


def scatter_frame(g: ConvGeometry) -> Frame:
    """The col2im frame: (Bh, Bw) with stride 1 (contiguous per batch), else (OH, OW)."""
    return (g.block_h, g.block_w) if g.stride == 1 else (g.out_h, g.out_w)


def unpad(xp: np.ndarray, g: ConvGeometry, n: int) -> np.ndarray:
    """The pixels of a flat padded batch, as a (N, C, H, W) view.

    Shapes: (C, N*Bh*Bw + tail) -> (N, C, H, W).
    """
    blocks = xp[:, : n * g.sample_size].reshape(g.channels, n, g.block_h, g.block_w)
    pixels = blocks[:, :, g.pad_top : g.pad_top + g.height, g.pad_left : g.pad_left + g.width]
    return pixels.transpose(1, 0, 2, 3)


def pad(x: np.ndarray, g: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """Zero-pad a batch into the flat layout.

    Shapes: x (N, C, H, W) -> (C, N*Bh*Bw + tail).
    A reused ``out`` must hold zeros outside the pixels (only those are written).
    """
    n = x.shape[0]
    if out is None:
        out = np.zeros((g.channels, g.padded_length(n)), dtype=x.dtype)
    unpad(out, g, n)[...] = x
    return out


def batch_rows(xp: np.ndarray, g: ConvGeometry, start: int, n: int) -> np.ndarray:
    """Images start .. start+n-1 of a flat padded batch, in the same layout (a view).

    Shapes: (C, N*Bh*Bw + tail) -> (C, n*Bh*Bw + tail). A chunk's tail overlaps the
    next images; col2im only ever adds zeros there (from junk columns) and the
    padding of the last image of the chunk, which nobody reads back.
    """
    return xp[:, start * g.sample_size : (start + n) * g.sample_size + g.tail]


def _check_frame(g: ConvGeometry, frame: Frame) -> None:
    fh, fw = frame
    if g.stride > 1 and frame != (g.out_h, g.out_w):
        raise ValueError(f"frame {frame} must be the {g.out_h}x{g.out_w} output at stride {g.stride}")
    if not (g.out_h <= fh <= g.block_h and g.out_w <= fw <= g.block_w):
        raise ValueError(
            f"frame {frame} must lie between the output {g.out_h}x{g.out_w} and "
            f"the block {g.block_h}x{g.block_w}"
        )


def _offset_view(flat: np.ndarray, g: ConvGeometry, n: int, i: int, j: int, frame: Frame) -> np.ndarray:
    """View of ``flat`` where [c, n, r, q] is the padded pixel (r*s + i, q*s + j) of image n.

    Returned with the fewest axes the memory allows, as NumPy's loops are about
    twice as fast on (C, N*Bh*Bw) as on the same values seen as (C, N, Bh, Bw):
    (C, N*fh*fw) for the whole block, (C, N, fh*Bw) for whole rows, else (C, N, fh, fw).
    """
    shift = i * g.block_w + j
    fh, fw = frame
    run = flat[:, shift : shift + n * g.sample_size]
    if g.stride == 1 and fw == g.block_w:
        if fh == g.block_h:
            return run
        return run.reshape(g.channels, n, g.sample_size)[:, :, : fh * fw]
    blocks = run.reshape(g.channels, n, g.block_h, g.block_w)
    s = g.stride
    return blocks[:, :, ::s, ::s][:, :, :fh, :fw]


def row_view(flat: np.ndarray, start: int, shape: tuple[int, ...], steps: tuple[int, ...]) -> np.ndarray:
    """A read-only view of a flat batch: [c, k1, k2, ...] = flat[c, start + sum(k * step)].

    ``steps`` (in values, one per axis after the channel) may overlap: several indices can
    name one value, which is why the view cannot be written. ValueError if it would reach
    past the end of ``flat``'s rows. Shapes: flat (C, L) with contiguous rows -> (C, *shape).
    """
    if flat.ndim != 2 or flat.strides[1] != flat.itemsize:
        raise ValueError("row_view needs a (C, L) array with contiguous rows")
    if len(shape) != len(steps) or min(shape, default=1) < 1 or min(steps, default=0) < 0:
        raise ValueError(f"row_view shape {shape} and steps {steps} do not match")
    reach = start + sum((k - 1) * step for k, step in zip(shape, steps, strict=True))
    if start < 0 or reach >= flat.shape[1]:
        raise ValueError(f"row_view reaches value {reach} of rows of {flat.shape[1]}")
    e = flat.itemsize
    return as_strided(
        flat[:, start:],
        shape=(flat.shape[0], *shape),
        strides=(flat.strides[0], *(step * e for step in steps)),
        writeable=False,
    )


def patch_view(xp: np.ndarray, g: ConvGeometry, n: int, frame: Frame) -> np.ndarray:
    """Every kernel offset of a padded batch at once, read-only (C, kh, kw, n, fh, fw):
    [c, i, j, n, r, q] is the padded pixel (r*s + i, q*s + j) of image n, channel c
    (``_offset_view`` of offset (i, j)). Values repeat across (i, j): nothing is copied."""
    _check_frame(g, frame)
    fh, fw = frame
    s, bw = g.stride, g.block_w
    return row_view(xp, 0, (g.kh, g.kw, n, fh, fw), (bw, 1, g.sample_size, s * bw, s))


def im2col(
    xp: np.ndarray,
    g: ConvGeometry,
    n: int,
    frame: Frame,
    out: np.ndarray | None = None,
    view: np.ndarray | None = None,
) -> np.ndarray:
    """The patch matrix of a padded batch, in one copy from ``patch_view``.

    Shapes: xp (C, N*Bh*Bw + tail) from ``pad`` -> cols (C*kh*kw, N*fh*fw), rows
    ordered (c, i, j) like ``W.reshape(F, -1)``, columns (n, r, q) over the frame.
    ``view``: that ``patch_view`` of ``xp``, from a caller that keeps it between calls.
    """
    fh, fw = frame
    if view is None:
        view = patch_view(xp, g, n, frame)
    if out is None:
        out = np.empty((g.channels * g.kh * g.kw, n * fh * fw), dtype=xp.dtype)
    np.copyto(out.reshape(view.shape), view)
    return out


def col2im(
    cols: np.ndarray, g: ConvGeometry, n: int, frame: Frame, out: np.ndarray | None = None
) -> np.ndarray:
    """The adjoint of ``im2col``: scatter-add patch gradients back onto the padded images.

    Shapes: cols (C*kh*kw, N*fh*fw) -> (C, N*Bh*Bw + tail); ``unpad`` gives (N, C, H, W).
    Adds into a given ``out`` (so chunks of a batch can share one zeroed array, see
    ``batch_rows``); allocates zeros otherwise. One vectorised add per kernel offset.
    Junk frame columns must hold zeros: they land on other images' padding.
    """
    _check_frame(g, frame)
    fh, fw = frame
    if out is None:
        out = np.zeros((g.channels, g.padded_length(n)), dtype=cols.dtype)
    blocks = cols.reshape(g.channels, g.kh, g.kw, n, fh, fw)
    for i in range(g.kh):
        for j in range(g.kw):
            view = _offset_view(out, g, n, i, j, frame)
            view += blocks[:, i, j].reshape(view.shape)
    return out
