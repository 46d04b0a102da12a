"""2-D convolution over NCHW images, as one matrix product per batch (im2col)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netcore.functional.im2col import (
    ConvGeometry,
    batch_rows,
    col2im,
    im2col,
    pad,
    patch_frame,
    patch_view,
    scatter_frame,
    unpad,
)
from netcore.functional.kernel_rows import frame as row_frame
from netcore.functional.kernel_rows import (
    patch_length,
    row_patches,
    row_scatter,
    shift_stack,
    shift_sum,
    spread_rows,
    stacked_weights,
    unstack_weights,
)
from netcore.functional.long_products import long_product, wide_product
from netcore.functional.phases import Phases, fits_phases
from netcore.functional.scratch import Scratch
from netcore.layers.activations import ReLU, make_activation
from netcore.layers.base import Layer, ShapeError
from netcore.layers.init import INITS, init_weights
from netcore.layers.settings import pair
from netcore.shapes import format_shape

PADDINGS = ("valid", "same")
METHODS = ("im2col", "kernel_rows")


def _block(a: np.ndarray, per_sample: int, first: int, size: int, m: int) -> np.ndarray:
    """Samples first .. first+size-1 of a chunk of m as columns of a (rows, L) array: all of it
    when size == m (a flat-form patch matrix's tail included), else their own columns (exact form)."""
    return a if size == m else a[:, first * per_sample : (first + size) * per_sample]


def _block_buffer(name: str, size: int, blocks: list[tuple[int, int]]) -> str:
    """The scratch buffer of a block: ``name`` for the first block's size, another for the
    smaller last ones, so that neither is carved anew (nor its zeros lost) at every block."""
    return name if size == blocks[0][1] else f"{name}_smaller"


class Conv2D(Layer):
    """y = act(conv(x, W) + b), cross-correlation as in every deep-learning library.

    y[n, f, oh, ow] = b[f] + sum_{c,i,j} W[f, c, i, j] * xpad[n, c, oh*s + i, ow*s + j]

    Shapes:
        x: (N, C, H, W)   W: (F, C, kh, kw)   b: (F,)   y: (N, F, OH, OW)
        OH = (H + pad_h - kh) // s + 1 ("same": ceil(H / s))
    With the patch matrix P = im2col(x) of shape (C*kh*kw, N*OH*OW) and dz = dL/dy * act':
        y = W P + b,   dL/dW = dz P^T,   dL/db = sum dz,   dL/dx = col2im(W^T dz).
    Two methods compute this (``method``, chosen at build by ``preferred_method``):
    "im2col" as above, and for stride 1 "kernel_rows" (``netcore.functional.kernel_rows``):
    patches of one kernel row (C*kw rows, kh times fewer) times the kh kernel rows stacked
    as kh*F outputs, summed at row shifts -- less memory moved when F < C*kw. A single image
    at inference always takes im2col (``method_for``); backward follows the method of the
    forward before it (``active_method``). A training forward of a layer that needs no
    dL/dx (a first layer) and whose output a 2x2 max pooling reads (``pooled_in_phases``) runs
    as "phases" (``netcore.functional.phases``): on the input's 2x2 phases, its output handed
    over as (N, F, OH/2, 2, OW/2, 2) windows whose four pixels are contiguous rows. Kernel rows
    run over the pixels' own positions (``exact_rows``: no junk in the products) or, as
    the plain form, over whole block rows; exact ones compute a large stacked product in
    cache-sized blocks of samples (``_stack_blocks``).

    The patch matrix uses the layout of ``netcore.functional.im2col``: a batch's outputs on
    their own frame (``exact_patches``), a single image's on one with junk columns (one long
    run per copy); col2im's frame always has them. A batch is padded
    once; if its patch matrix would exceed ``chunk_bytes`` it is built and used
    one chunk of samples at a time (and rebuilt chunk by chunk in backward), so
    memory stays bounded for any batch size. A fused ReLU is applied to the whole
    contiguous output buffer z (F, N*fh*fw), and its derivative to dL/dy laid out
    on that same frame (or, when a MaxPool2D follows, by the pooling on its smaller
    gradient: ``relu_applied_after``, set by the network); other activations go
    through their own forward/backward.
    The output y is a strided view into z, which is fresh for every forward (never
    a reused buffer, so outputs of successive calls do not alias); dL/dx from
    backward is a reused buffer, valid until the next backward, handed over as a (N, C, H, W)
    view of channel-major memory like y.
    """

    kind = "conv2d"
    chunk_bytes = 32 * 2**20
    # Exact kernel rows: the stacked product Z of a chunk larger than ``stack_whole_bytes`` is
    # computed (and in backward, D) in blocks of samples of about ``stack_block_bytes``, each shift-
    # summed (or used by both products) while still in cache. Measured on a 2-core AMD EPYC, one
    # BLAS thread, in-process alternation at 32 images: the large CNN's 32-filter 3x3 convolution
    # of 28x28 images (Z 9.6 MB) forward 7.9 -> 6.4 ms and backward 13.9 -> 12.2 ms in blocks of 4-5;
    # 4-8 MB products alone gain 0-9 %. Beside the other half of a split batch, which shares the
    # last-level cache, smaller ones gain too (Zen 4, 2026-12-02, split steps at 64, medians of
    # 30-60 alternating rounds): the MNIST CNN (Z 4 MB) 0.971 of the time with blocks from 3 MB on,
    # the large CNN 0.985; the small CNN's 2 MB gain nothing (0.992 blocked from 1 MB on).
    stack_whole_bytes = 3 * 2**20
    stack_block_bytes = 3 * 2**19
    # kernel rows over the pixels' own positions (the "exact" form: no junk in the products),
    # not whole block rows (the plain "flat" form, one contiguous run per copy); kernel_rows.py
    exact_rows = True

    def __init__(
        self,
        filters: int,
        kernel_size: int | list[int],
        stride: int = 1,
        padding: str | int = "valid",
        activation: str | None = None,
        init: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"conv2d filters must be a positive integer, got {filters!r}")
        self.kernel = pair(kernel_size, "conv2d kernel_size")
        if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
            raise ValueError(f"conv2d stride must be a positive integer, got {stride!r}")
        if not (
            padding in PADDINGS
            or (isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0)
        ):
            raise ValueError(f"conv2d padding must be 'valid', 'same' or an integer >= 0, got {padding!r}")
        if init not in INITS:
            raise ValueError(f"conv2d init must be one of {INITS}, got {init!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.act = make_activation(activation)
        self.init = init
        self.geom: ConvGeometry | None = None
        self.method = "im2col"  # or "kernel_rows"; chosen by build (preferred_method)
        # im2col's patches on the output's own frame, without junk columns: every batch but a
        # single image. Measured on a 2-core AMD EPYC (Zen 4), one BLAS thread, 32 images,
        # alternating: the MNIST CNN's first convolution and pooling, forward and backward,
        # 2,763 -> 2,281 us (its dL/dz needs no copy onto a wider frame, the pooling reads
        # contiguous rows); whole halves of a training step 0.984 (MNIST CNN), 0.958 (small),
        # 0.977 (large). A single image keeps the junk columns: 0.236 against 0.285 ms for the
        # MNIST CNN's prediction.
        self.exact_patches = False
        # the method of the last forward, which its backward follows: ``method``, except that
        # a single image at inference always takes im2col (see ``method_for``)
        self.active_method = self.method
        # what backward needs from the last forward
        self._xp: np.ndarray | None = None  # the padded batch
        self._chunk_list: list[tuple[int, int]] = []
        self._kept_cols: np.ndarray | None = None  # the patches, when one chunk held them all
        self._z: np.ndarray | None = None  # the fused ReLU's output on the patch frame
        self._scratch = Scratch()
        self._padded: np.ndarray | None = None  # zeros outside the pixels, reused
        # im2col's last strided view of the padded batch: (padded batch, (start, m, frame), view)
        self._patch_view: tuple | None = None
        self._zeros: np.ndarray | None = None  # never written
        self._ones: np.ndarray | None = None  # never written
        # per scratch buffer whose zeros a call leaves for the next (drows_flat, dstacked): the
        # shape, storage and form it last had (``_zeros_kept``)
        self._zeroed: dict[str, tuple] = {}
        # set by the network when a MaxPool2D follows this fused ReLU and multiplies its dL/dy by
        # [pooled y > 0] (the same mask, 4x smaller): backward then skips [y > 0]
        self.relu_applied_after = False
        # set by the network when that pooling has 2x2 windows at stride 2 and this layer's
        # output splits into whole windows (``fits_phases``): see ``method_for``
        self.pooled_in_phases = False
        self._phases: Phases | None = None  # built on the first forward in phases

    # -- shapes ------------------------------------------------------------------------
    def output_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ShapeError(
                f"needs a CxHxW image input but gets {format_shape(in_shape)}: "
                "set input_shape to [channels, height, width] or put a reshape before it"
            )
        g = ConvGeometry.create(tuple(in_shape), self.kernel, self.stride, self.padding)
        if not g.fits:
            kh, kw = self.kernel
            where = f"a {in_shape[1]}x{in_shape[2]} input"
            if g.padded_h != g.height or g.padded_w != g.width:
                where += f" padded to {g.padded_h}x{g.padded_w}"
            raise ShapeError(f"kernel {kh}x{kw} does not fit {where}: use padding 'same' or a smaller kernel")
        return (self.filters, g.out_h, g.out_w)

    def count_params(self, in_shape):
        return self.filters * in_shape[0] * self.kernel[0] * self.kernel[1] + self.filters

    def build(self, in_shape, rng, dtype=np.float32):
        super().build(in_shape, rng, dtype)
        self.geom = ConvGeometry.create(self.in_shape, self.kernel, self.stride, self.padding)
        c, (kh, kw), f = in_shape[0], self.kernel, self.filters
        shape = (f, c, kh, kw)
        self.params = {
            "W": init_weights(c * kh * kw, f * kh * kw, shape, self.act.kind, self.init, rng, dtype),
            "b": np.zeros(f, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.method = self.active_method = self.preferred_method()

    # -- method ------------------------------------------------------------------------
    def preferred_method(self) -> str:
        """The cheaper method: kernel rows for stride 1 when F < C*kw (less memory moved), else im2col."""
        g = self.geom
        if g.stride == 1 and g.kh > 1 and self.filters < g.channels * g.kw:
            return "kernel_rows"
        return "im2col"

    def use_method(self, method: str) -> None:
        """Compute with ``method`` from now on (both give the same results; tests use both)."""
        if method not in METHODS:
            raise ValueError(f"conv2d method must be one of {METHODS}, got {method!r}")
        if method == "kernel_rows" and self.stride != 1:
            raise ValueError("the kernel_rows method needs stride 1")
        self.method = self.active_method = method

    def method_for(self, n: int, training: bool) -> str:
        """The method a forward of n images uses: ``method``, but im2col for one image at
        inference (the drawing pad's prediction), where a product of F rows beats kernel rows'
        kh*F and their shift sums: measured, one image's forward 0.56-0.93x kernel rows' time
        on the conv shapes of the shipped CNNs; from 2 images on, mixed (0.68-1.07x).

        "phases" for a training forward of a layer pooled in phases (``pooled_in_phases``,
        with the pooling applying the ReLU's derivative) that needs no dL/dx, whichever the method.
        Measured on a 2-core AMD EPYC (Zen 4), one BLAS thread, 32 images, in-process alternation:
        the first convolution and its pooling, forward and backward, 0.74-0.83 of the time (MNIST
        CNN, im2col: 2.25-2.29 -> 1.71-1.89 ms), 0.75 (small CNN: 1.22-1.31 -> 0.89-1.00 ms), 4
        filters (kernel rows) 1.45-1.50 -> 0.90-1.00 ms; whole halves of a split step 0.944-0.955
        (MNIST CNN) and 0.956-0.962 (small CNN), two runs each."""
        if n == 1 and not training:
            return "im2col"
        if (
            training
            and self.pooled_in_phases
            and self.relu_applied_after
            and not self.needs_input_grad
            and fits_phases(self.geom)
        ):
            return "phases"
        return self.method

    @property
    def form(self) -> str:
        """The kernel rows' form (``netcore.functional.kernel_rows``): "exact" or "flat"."""
        return "exact" if self.exact_rows else "flat"

    @property
    def frame(self) -> tuple[int, int]:
        """The frame z holds each sample's outputs on (see ``netcore.functional.im2col``)."""
        if self.active_method == "kernel_rows":
            return row_frame(self.geom, self.form)
        if self.active_method == "phases":  # each of the four phases' outputs: (OH/2, OW/2)
            return self._phases.out_hw
        return self._patch_frame()

    def _patch_frame(self) -> tuple[int, int]:
        """im2col's forward frame for the last forward: the output's own (OH, OW) for a batch,
        the one with junk columns (one contiguous run per image) for a single image
        (``exact_patches``)."""
        return patch_frame(self.geom, exact=self.exact_patches)

    # -- buffers -----------------------------------------------------------------------
    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return self._scratch.get(name, shape, self.dtype)

    def _chunks(self, n: int) -> list[tuple[int, int]]:
        """(start, size) of the sample chunks a batch is processed in, of near-equal sizes."""
        g = self.geom
        if self.active_method == "kernel_rows":
            per_sample = (g.channels * g.kw + g.kh * self.filters) * patch_length(g, 1, self.form)
        elif self.active_method == "phases":
            per_sample = self._phases.patch_rows * math.prod(self._phases.out_hw)
        else:
            fh, fw = scatter_frame(g) if self.needs_input_grad else self._patch_frame()
            per_sample = g.channels * g.kh * g.kw * fh * fw
        count = -(-n // max(1, self.chunk_bytes // (per_sample * self.dtype.itemsize)))
        size = -(-n // count)
        return [(start, min(size, n - start)) for start in range(0, n, size)]

    def _patches(self, xp: np.ndarray, start: int, m: int) -> np.ndarray:
        """Patches of samples start .. start+m-1 of a padded batch: im2col's (C*kh*kw, m*fh*fw),
        the kernel rows (C*kw, m*Bh*Bw + (kh-1)*Bw), or from the phases ``Phases.patches``."""
        g = self.geom
        if self.active_method == "phases":
            phases = self._phases
            shape = (phases.patch_rows, m * math.prod(phases.out_hw))
            return phases.patches(batch_rows(xp, phases.geom, start, m), m, out=self._buffer("cols", shape))
        if self.active_method == "kernel_rows":
            shape = (g.channels * g.kw, patch_length(g, m, self.form))
            return row_patches(
                batch_rows(xp, g, start, m), g, m, out=self._buffer("cols", shape), form=self.form
            )
        frame = self._patch_frame()
        out = self._buffer("cols", (g.channels * g.kh * g.kw, m * frame[0] * frame[1]))
        view = self._im2col_view(xp, start, m, frame)
        return im2col(batch_rows(xp, g, start, m), g, m, frame, out=out, view=view)

    def _im2col_view(self, xp: np.ndarray, start: int, m: int, frame: tuple[int, int]) -> np.ndarray:
        """``patch_view`` of samples start .. start+m-1 of the padded batch ``xp``, kept for the next
        call on the same buffer (the layer reuses it, see ``forward``). Building it (NumPy's
        as_strided and its checks) cost more than a single image's copy: measured on a 2-core AMD
        EPYC (Zen 3, Haswell kernel), in-process alternation against building it every call, a
        single image's prediction took 0.85-0.87 of the time (large CNN), 0.81 (MNIST CNN), 0.75-0.79
        (small CNN)."""
        kept = self._patch_view
        if kept is None or kept[0] is not xp or kept[1] != (start, m, frame):
            rows = batch_rows(xp, self.geom, start, m)
            kept = self._patch_view = (xp, (start, m, frame), patch_view(rows, self.geom, m, frame))
        return kept[2]

    def _dz_on_frame(self, dz: np.ndarray, start: int, m: int, frame: tuple[int, int]) -> np.ndarray:
        """dL/dz of samples start .. start+m-1 on a frame, zero in the junk columns: (F, m*fh*fw).

        dL/dz = dL/dy * [y > 0] for the fused ReLU (the mask as float32, see below), unless the
        max pooling after this layer applied [y > 0] already (``relu_applied_after``);
        then a channel-major dL/dy on the output's own frame is used as it is, without a copy.
        """
        g, f = self.geom, self.filters
        oh, ow = g.out_h, g.out_w
        src = dz[start : start + m].transpose(1, 0, 2, 3)  # (F, m, OH, OW)
        masked = self.fused_relu and not self.relu_applied_after
        if frame == (oh, ow) and not masked and src.flags.c_contiguous:
            return src.reshape(f, m * oh * ow)  # read only from here on
        out = self._buffer("dz_frame", (f, m * frame[0] * frame[1]))
        # the junk columns are never written: zeroed once per shape and storage
        if frame != (oh, ow) and not self._zeros_kept("dz_frame", out, frame):
            out.fill(0)
        view = out.reshape(f, m, *frame)[:, :, :oh, :ow]
        if not masked:
            np.copyto(view, src)
            return out
        # [y > 0] as float32 over the whole frame: a float32 product is a SIMD loop where one with
        # a bool mask casts element by element (the large CNN's first convolution, at 32 images:
        # its backward 0.75x the time). With junk columns, dL/dy is moved onto the frame first and
        # multiplied there, contiguous (the junk stays zero): 810 -> 497 us for that convolution.
        size = frame[0] * frame[1]
        fired = np.greater(
            self._z[:, start * size : (start + m) * size], 0, out=self._buffer("fired", out.shape)
        )
        if frame == (oh, ow):
            np.multiply(src, fired.reshape(view.shape), out=view)
        else:
            np.copyto(view, src)
            np.multiply(out, fired, out=out)
        return out

    def _reframed(
        self, name: str, framed: np.ndarray, m: int, src: tuple[int, int], dst: tuple[int, int]
    ) -> np.ndarray:
        """The same values moved from frame ``src`` to frame ``dst``: (F, m*fh*fw)."""
        g, f = self.geom, self.filters
        out = self._buffer(name, (f, m * dst[0] * dst[1]))
        if not self._zeros_kept(name, out, dst):  # only the outputs are written, as in _dz_on_frame
            out.fill(0)
        view = out.reshape(f, m, *dst)[:, :, : g.out_h, : g.out_w]
        view[...] = framed.reshape(f, m, *src)[:, :, : g.out_h, : g.out_w]
        return out

    # -- computation -------------------------------------------------------------------
    def forward(self, x, training=False):
        g, n, f = self.geom, x.shape[0], self.filters
        self.active_method = method = self.method_for(n, training)
        if method == "phases":
            return self._phases_forward(x)
        self.exact_patches = n > 1  # im2col's frame (``_patch_frame``), kept for backward
        fh, fw = self.frame
        # padded once per batch (kept for backward); patches are built per chunk of samples
        xp = self._padded
        if xp is None or xp.shape != (g.channels, g.padded_length(n)) or xp.dtype != self.dtype:
            xp = self._padded = np.zeros((g.channels, g.padded_length(n)), dtype=self.dtype)
        self._xp = pad(x, g, out=xp)
        # z = W P + b on the frame, a fresh array: y is returned as a view of it
        z = np.empty((f, n * fh * fw), dtype=self.dtype)
        self._chunk_list = chunks = self._chunks(n)
        if method == "kernel_rows":
            wk = stacked_weights(self.params["W"])
        for start, m in chunks:
            cols = self._patches(xp, start, m)
            out = z[:, start * fh * fw : (start + m) * fh * fw]
            if method == "kernel_rows":
                self._shift_summed_product(wk, cols, m, out)
            else:
                wide_product(self.params["W"].reshape(f, -1), cols, fh * fw, out=out)
        z += self.params["b"][:, None]
        # with a single chunk, backward finds the patches still in their buffer
        self._kept_cols = cols if len(chunks) == 1 else None
        # the outputs are the top-left OH x OW corner of each sample's frame
        y = z.reshape(f, n, fh, fw)[:, :, : g.out_h, : g.out_w].transpose(1, 0, 2, 3)
        if self.fused_relu:
            # over the whole frame at once (contiguous); the junk columns do not matter
            np.maximum(z, self._zero_row(z.shape[1]), out=z)
            self._z = z
            return y
        return self.act.forward(y, training, inplace=True)

    def _phases_forward(self, x: np.ndarray) -> np.ndarray:
        """The forward on the input's 2x2 phases (``netcore.functional.phases``), fused ReLU.

        Shapes: x (N, C, H, W) -> y (N, F, OH/2, 2, OW/2, 2), a view of z (4F, N*OH*OW/4) in four
        blocks of F rows, one per window offset (p, q): y[n, f, r, p, s, q] is pixel (2r + p, 2s + q)."""
        g, n, f = self.geom, x.shape[0], self.filters
        if self._phases is None:
            self._phases = Phases(g, f)
        phases = self._phases
        pg, (rows, cols) = phases.geom, phases.out_hw
        xs = self._buffer("phase_input", (pg.channels, pg.padded_length(n)))
        if not self._zeros_kept("phase_input", xs):  # split writes the pixels only
            xs.fill(0)
        self._xp = phases.split(x, out=xs)
        per_sample = rows * cols
        z = np.empty((4 * f, n * per_sample), dtype=self.dtype)  # fresh, as y is a view of it
        wp = phases.weights(self.params["W"], out=self._buffer("phase_weights", phases.index.shape))
        self._chunk_list = chunks = self._chunks(n)
        for start, m in chunks:
            patches = self._patches(xs, start, m)
            columns = slice(start * per_sample, (start + m) * per_sample)
            for p in range(2):  # window rows p: both column offsets q at once
                wide_product(
                    wp, patches[phases.block(p)], per_sample, out=z[2 * p * f : 2 * (p + 1) * f, columns]
                )
        self._kept_cols = patches if len(chunks) == 1 else None
        blocks = z.reshape(4, f, -1)
        blocks += self.params["b"][:, None]
        np.maximum(z, self._zero_row(z.shape[1]), out=z)
        self._z = z
        return z.reshape(2, 2, f, n, rows, cols).transpose(3, 2, 4, 0, 5, 1)

    def _phases_backward(self, dy: np.ndarray) -> None:
        """dL/dW and dL/db after a forward in phases; dL/dy (N, F, OH/2, 2, OW/2, 2) with the
        ReLU's derivative applied (by the pooling, ``relu_applied_after``). No dL/dx."""
        if self.needs_input_grad:
            raise RuntimeError(
                "conv2d: the last forward ran in phases, which give no input gradient: "
                "set needs_input_grad before the forward"
            )
        phases, f, n = self._phases, self.filters, dy.shape[0]
        per_sample = math.prod(phases.out_hw)
        dz = np.ascontiguousarray(dy.transpose(3, 5, 1, 0, 2, 4)).reshape(4 * f, n * per_sample)
        dwp = self._buffer("phase_dw", (2,) + phases.index.shape)  # per window row p
        for start, m in self._chunk_list:
            patches = self._kept_cols
            if patches is None:  # several chunks: rebuilt, as only the last one was kept
                patches = self._patches(self._xp, start, m)
            columns = slice(start * per_sample, (start + m) * per_sample)
            for p in range(2):
                rows = dz[2 * p * f : 2 * (p + 1) * f, columns]
                long_product(rows, patches[phases.block(p)], per_sample, out=dwp[p])
            dwp[0] += dwp[1]
            dw = phases.fold(dwp[0], out=self._buffer("dw", self.params["W"].shape))
            db = self._row_sums(dz[:, columns]).reshape(4, f).sum(axis=0)
            self._accumulate(start, dw, db)

    def kept_relu_output(self) -> np.ndarray | None:
        """The fused ReLU's output of the last forward, units first: (F, ...) over the outputs
        alone (no junk columns), in the order the layer keeps them; None if it keeps none."""
        z = self._z
        if z is None or not self.fused_relu:
            return None
        if self.active_method == "phases":  # (4, F, L) blocks, one per window offset
            return z.reshape(4, self.filters, -1).transpose(1, 0, 2)
        fh, fw = self.frame
        return z.reshape(self.filters, -1, fh, fw)[:, :, : self.geom.out_h, : self.geom.out_w]

    def _stack_blocks(self, m: int) -> list[tuple[int, int]]:
        """(start, size) of the sample blocks kernel rows' stacked products of a chunk of m are
        computed in: one block unless the form is exact and Z would exceed ``stack_whole_bytes``,
        else near-equal blocks of about ``stack_block_bytes`` (two sizes at most)."""
        g = self.geom
        per_sample = g.kh * self.filters * patch_length(g, 1, self.form) * self.dtype.itemsize
        if self.form != "exact" or m * per_sample <= self.stack_whole_bytes:
            return [(0, m)]
        count = -(-m // max(1, self.stack_block_bytes // per_sample))
        sizes = [m // count + (k < m % count) for k in range(count)]
        return [(sum(sizes[:k]), size) for k, size in enumerate(sizes)]

    def _shift_summed_product(self, wk: np.ndarray, rows: np.ndarray, m: int, out: np.ndarray) -> None:
        """out = shift_sum(Wk R) for a chunk of m samples, block by block (``_stack_blocks``).

        Shapes: wk (kh*F, C*kw), rows (C*kw, patch_length(m)) -> out (F, m*fh*fw)."""
        g = self.geom
        per_row, per_out = patch_length(g, 1, self.form), math.prod(self.frame)
        blocks = self._stack_blocks(m)
        for first, size in blocks:
            block_rows = _block(rows, per_row, first, size, m)
            shape = (wk.shape[0], block_rows.shape[1])
            stacked = np.matmul(
                wk, block_rows, out=self._buffer(_block_buffer("stacked", size, blocks), shape)
            )
            shift_sum(stacked, g, size, out=_block(out, per_out, first, size, m), form=self.form)

    @property
    def fused_relu(self) -> bool:
        return type(self.act) is ReLU

    def _zero_row(self, length: int) -> np.ndarray:
        """(1, length) zeros, never written: np.maximum(z, row) is ~4x faster than np.maximum(z, 0)."""
        if self._zeros is None or self._zeros.size < length or self._zeros.dtype != self.dtype:
            self._zeros = np.zeros(length, dtype=self.dtype)
        return self._zeros[None, :length]

    def _row_sums(self, a: np.ndarray) -> np.ndarray:
        """a.sum(axis=1) as a matrix-vector product with ones: (F, L) -> (F,).

        About 3x faster than NumPy's pairwise sum over long rows, and accumulated the way
        the dL/dW product beside it is (BLAS, in the layer's dtype)."""
        if self._ones is None or self._ones.size < a.shape[1] or self._ones.dtype != a.dtype:
            self._ones = np.ones(a.shape[1], dtype=a.dtype)
        return np.matmul(a, self._ones[: a.shape[1]])

    def backward(self, dy):
        if self.active_method == "phases":
            return self._phases_backward(dy)
        g = self.geom
        dz = dy if self.fused_relu else self.act.backward(dy)
        n = dz.shape[0]
        dxp = None
        if self.needs_input_grad:
            dxp = self._buffer("dpad", (g.channels, g.padded_length(n)))
            dxp.fill(0)
        frame = self.frame
        for start, m in self._chunk_list:
            cols = self._kept_cols
            if cols is None:  # several chunks: rebuilt, as only the last one was kept
                cols = self._patches(self._xp, start, m)
            dzf = self._dz_on_frame(dz, start, m, frame)
            if self.active_method == "kernel_rows":
                self._kernel_rows_backward(dzf, cols, start, m, dxp)
            else:
                self._im2col_backward(dzf, cols, start, m, dxp)
        if dxp is None:
            return None
        # valid until the next backward; channel-major like the padded batch, so the copy
        # runs along the memory and max pooling before reads it in its own order
        dx = self._buffer("dx", (self.in_shape[0], n) + self.in_shape[1:])
        np.copyto(dx, unpad(dxp, g, n).transpose(1, 0, 2, 3))
        return dx.transpose(1, 0, 2, 3)

    def _accumulate(self, start: int, dw: np.ndarray, db: np.ndarray) -> None:
        """Set (first chunk) or add (later chunks) one chunk's dL/dW (F, C, kh, kw) and dL/db."""
        if start == 0:
            self.grads["W"][...] = dw
            self.grads["b"][...] = db
        else:
            self.grads["W"] += dw
            self.grads["b"] += db

    def _im2col_backward(self, dzp, cols, start, m, dxp) -> None:
        """dL/dW = dz P^T, dL/db = sum dz, dL/dx += col2im(W^T dz) for one chunk; dzp: (F, m*fh*fw)."""
        g, f = self.geom, self.filters
        w = self.params["W"].reshape(f, -1)
        # few filters and patch rows, a long contraction: summed over chunks of samples
        dw = long_product(dzp, cols, math.prod(self._patch_frame()), out=self._buffer("dw", w.shape))
        self._accumulate(start, dw.reshape(self.grads["W"].shape), self._row_sums(dzp))
        if dxp is None:
            return
        pf, sf = self._patch_frame(), scatter_frame(g)
        dzs = dzp if sf == pf else self._reframed("dz_scatter", dzp, m, pf, sf)
        dcols = wide_product(
            w.T, dzs, sf[0] * sf[1], out=self._buffer("dcols", (w.shape[1], m * sf[0] * sf[1]))
        )
        col2im(dcols, g, m, sf, out=batch_rows(dxp, g, start, m))

    def _kernel_rows_backward(self, dzf, rows, start, m, dxp) -> None:
        """dL/dW = D R^T, dL/db = sum dz, dL/dx += row_scatter(Wk^T D) for one chunk, with
        D = shift_stack(dz), block by block of samples (``_stack_blocks``: each block's D feeds
        both products and its dL/dR is scattered while in cache); dzf: (F, m*fh*fw) on the
        form's frame."""
        g, w, form = self.geom, self.params["W"], self.form
        wk = stacked_weights(w)
        dwk = self._buffer("dwk", (wk.shape[0], rows.shape[0]))
        per_row, per_out = patch_length(g, 1, form), math.prod(self.frame)
        blocks = self._stack_blocks(m)
        for first, size in blocks:
            block_rows = _block(rows, per_row, first, size, m)
            name = _block_buffer("dstacked", size, blocks)
            stacked = self._buffer(name, (wk.shape[0], block_rows.shape[1]))
            # the rows no output reaches stay zero from the last call on this shape and storage
            kept = self._zeros_kept(name, stacked, form)
            shift_stack(
                _block(dzf, per_out, first, size, m), g, size, out=stacked, form=form, zeros_kept=kept
            )
            if first == 0:
                np.matmul(stacked, block_rows.T, out=dwk)
            else:
                dwk += np.matmul(stacked, block_rows.T, out=self._buffer("dwk_block", dwk.shape))
            if dxp is None:
                continue
            shape = block_rows.shape
            drows = np.matmul(wk.T, stacked, out=self._buffer(_block_buffer("drows", size, blocks), shape))
            if form == "exact":  # onto the flat positions first, then kw long contiguous adds
                drows = self._spread(drows, size, _block_buffer("drows_flat", size, blocks))
            # a block's tail reaches into the next images' rows: it adds only zeros there
            row_scatter(drows, g, size, out=batch_rows(dxp, g, start + first, size), form="flat")
        dw = unstack_weights(dwk, w.shape, out=self._buffer("dw", w.shape))
        self._accumulate(start, dw, self._row_sums(dzf))

    def _spread(self, drows: np.ndarray, m: int, name: str = "drows_flat") -> np.ndarray:
        """Exact-form dL/dR on the flat positions (``spread_rows``); the rest stays zero."""
        g = self.geom
        shape = (drows.shape[0], patch_length(g, m, "flat"))
        out = self._buffer(name, shape)
        if not self._zeros_kept(name, out):  # zeroed once: spread_rows never writes junk
            out.fill(0)
        return spread_rows(drows, g, m, out)

    def _zeros_kept(self, name: str, buffer: np.ndarray, *more) -> bool:
        """Whether the scratch ``buffer`` called ``name`` still holds the zeros the last call left:
        the same shape, storage (and ``more``, e.g. the form) as then. Records them for the next."""
        key = (buffer.shape, buffer.__array_interface__["data"][0], *more)
        kept = self._zeroed.get(name) == key
        self._zeroed[name] = key
        return kept

    # -- description -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "type": self.kind,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "activation": self.act.kind,
        }
        if self.init != "auto":
            cfg["init"] = self.init
        return cfg

    def describe(self) -> str:
        src = format_shape(self.in_shape) if self.in_shape else "?"
        dst = format_shape(self.out_shape) if self.out_shape else f"{self.filters} filters"
        kh, kw = self.kernel
        stride = f", stride {self.stride}" if self.stride != 1 else ""
        return f"Conv2D({src} -> {dst}, {kh}x{kw}{stride}, {self.act.kind})"
