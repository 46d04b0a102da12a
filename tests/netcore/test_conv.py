"""Conv2D and the im2col/col2im helpers: against loops, against central differences."""

import numpy as np
import pytest

from netcore.functional.im2col import (
    ConvGeometry,
    batch_rows,
    col2im,
    im2col,
    pad,
    patch_frame,
    row_view,
    scatter_frame,
    unpad,
)
from netcore.functional.kernel_rows import (
    frame,
    row_patches,
    row_scatter,
    shift_stack,
    shift_sum,
    spread_rows,
)
from netcore.functional.long_products import SMALL_PRODUCT, chunk_columns, long_product, wide_product
from netcore.inspect.gradcheck import check_layer, numerical_grad, relative_error
from netcore.layers import Conv2D
from netcore.layers.conv import METHODS
from netcore.network import Network
from netcore.spec import SpecError, check_spec, make_layer

TOL = 1e-6


def built(layer, in_shape, dtype=np.float64, seed=1):
    layer.build(in_shape, np.random.default_rng(seed), dtype)
    return layer


def conv_loops(x, w, b, stride, pads):
    """Direct definition: y[n,f,oh,ow] = b[f] + sum_{c,i,j} w[f,c,i,j] xpad[n,c,oh*s+i,ow*s+j]."""
    (top, bottom), (left, right) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, hp, wp = xp.shape
    f, c, kh, kw = w.shape
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    y = np.zeros((n, f, oh, ow))
    for s in range(n):
        for k in range(f):
            for r in range(oh):
                for q in range(ow):
                    patch = xp[s, :, r * stride : r * stride + kh, q * stride : q * stride + kw]
                    y[s, k, r, q] = np.sum(patch * w[k]) + b[k]
    return y


def pads_of(layer):
    g = layer.geom
    return (g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right)


# (in_shape, filters, kernel_size, stride, padding)
CASES = [
    ((1, 6, 6), 2, 3, 1, "same"),
    ((2, 7, 6), 3, 3, 1, "valid"),
    ((3, 6, 7), 2, [2, 3], 1, "same"),
    ((2, 7, 7), 2, 3, 2, "same"),
    ((2, 8, 7), 3, [3, 2], 2, "valid"),
    ((1, 5, 6), 2, 3, 1, 1),
    ((2, 6, 5), 2, [1, 3], 2, 2),
    ((2, 5, 5), 1, 4, 1, "same"),  # even kernel: the odd pixel of padding goes after
    ((3, 4, 4), 4, 2, 3, 4),  # padding wider than the kernel
    ((3, 2, 3), 2, [5, 3], 1, 3),  # stride 1, padding wider than the image: all-zero output rows
]


# the methods, and the kernel rows over whole block rows too (the plain form)
VARIANTS = METHODS + ("kernel_rows/flat",)


def use(layer, variant):
    """Make ``layer`` compute with ``variant``: a method, or "kernel_rows/flat"."""
    layer.use_method(variant.split("/")[0])
    layer.exact_rows = not variant.endswith("/flat")


# every case with each variant that applies (kernel_rows needs stride 1)
METHOD_CASES = [
    (method,) + case for case in CASES for method in VARIANTS if case[3] == 1 or method == "im2col"
]


@pytest.mark.parametrize("method,in_shape,filters,kernel,stride,padding", METHOD_CASES)
def test_forward_matches_loops(method, in_shape, filters, kernel, stride, padding):
    rng = np.random.default_rng(0)
    layer = built(Conv2D(filters, kernel, stride, padding), in_shape)
    use(layer, method)
    layer.params["b"][...] = rng.standard_normal(filters)
    x = rng.standard_normal((3,) + in_shape)
    y = layer.forward(x)
    expected = conv_loops(x, layer.params["W"], layer.params["b"], stride, pads_of(layer))
    assert y.shape == (3,) + layer.output_shape(in_shape)
    np.testing.assert_allclose(y, expected, atol=1e-12)


@pytest.mark.parametrize("method,in_shape,filters,kernel,stride,padding", METHOD_CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_gradients(method, in_shape, filters, kernel, stride, padding, activation):
    rng = np.random.default_rng(1)
    layer = built(Conv2D(filters, kernel, stride, padding, activation=activation), in_shape)
    use(layer, method)
    layer.params["b"][...] = 0.1 * rng.standard_normal(filters)
    errors = check_layer(layer, rng.standard_normal((2,) + in_shape), training=True)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("method", VARIANTS)
def test_gradients_with_tanh_and_one_sample_chunks(method):
    """Chunked processing (patches rebuilt in backward) and a non-fused activation."""
    rng = np.random.default_rng(2)
    layer = built(Conv2D(3, 3, 1, "same", activation="tanh"), (2, 5, 6))
    use(layer, method)
    layer.chunk_bytes = 1  # one sample per chunk
    x = rng.standard_normal((3, 2, 5, 6))
    errors = check_layer(layer, x, training=True)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("method", VARIANTS)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_chunked_equals_whole_batch(method, activation):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 8, 7))
    dy = rng.standard_normal((5, 4, 8, 7))
    results = []
    # per sample: im2col 36 patch rows on 10x10 frames; kernel rows 3*4 + 3*4 rows over 8x7
    # pixels (exact) or 10x10 blocks (flat)
    per_sample = {"im2col": 36 * 10 * 10, "kernel_rows": 24 * 8 * 7, "kernel_rows/flat": 24 * 10 * 10}
    two_samples = 2 * per_sample[method] * 8
    for chunk_bytes in (Conv2D.chunk_bytes, 1, two_samples):  # whole, 1, 2 samples
        layer = built(Conv2D(4, [3, 4], 1, "same", activation=activation), (3, 8, 7))
        use(layer, method)
        layer.chunk_bytes = chunk_bytes
        assert len(layer._chunks(5)) == {Conv2D.chunk_bytes: 1, 1: 5, two_samples: 3}[chunk_bytes]
        y = layer.forward(x, training=True).copy()
        dx = layer.backward(dy)
        results.append((y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_kernel_rows_in_sample_blocks_equal_the_whole_chunk(activation):
    """Exact kernel rows' stacked products in blocks of samples (``_stack_blocks``: blocks of 2,
    2 and 1 of 5 images) give the whole chunk's y, dL/dx and gradients, call after call (the
    blocks' buffers keep their zeros per size), while the flat form stays whole."""

    def layer(blocked):
        conv = built(Conv2D(4, [3, 4], 1, "same", activation=activation), (3, 8, 7))
        assert conv.method == "kernel_rows" and conv.form == "exact"
        if blocked:
            per_sample = 3 * 4 * 8 * 7 * 8  # kh*F rows of H*OW columns of float64
            conv.stack_whole_bytes, conv.stack_block_bytes = 0, 2 * per_sample
        return conv

    blocked, whole = layer(True), layer(False)
    assert blocked._stack_blocks(5) == [(0, 2), (2, 2), (4, 1)]
    assert whole._stack_blocks(5) == [(0, 5)]
    blocked.exact_rows = False
    assert blocked._stack_blocks(5) == [(0, 5)]
    blocked.exact_rows = True
    rng = np.random.default_rng(5)
    for n in (5, 4, 5):
        x, dy = rng.standard_normal((n, 3, 8, 7)), rng.standard_normal((n, 4, 8, 7))
        np.testing.assert_allclose(
            blocked.forward(x, training=True), whole.forward(x, training=True), atol=1e-12
        )
        np.testing.assert_allclose(blocked.backward(dy), whole.backward(dy), atol=1e-12)
        for name in ("W", "b"):
            np.testing.assert_allclose(blocked.grads[name], whole.grads[name], atol=1e-12)


def test_backward_follows_the_latest_forward():
    """An inference forward in between must not leave stale patches behind."""
    rng = np.random.default_rng(4)
    layer = built(Conv2D(2, 3, 1, "same", activation="relu"), (1, 6, 6))
    x1, x2 = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((2, 1, 6, 6))
    dy = rng.standard_normal((2, 2, 6, 6))
    layer.forward(x2, training=True)
    layer.backward(dy)
    expected = layer.grads["W"].copy()
    layer.forward(x1, training=True)
    layer.forward(x2, training=False)
    layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], expected, atol=1e-12)


def test_first_layer_skips_input_gradient_and_keeps_weight_gradients():
    rng = np.random.default_rng(5)
    layer = built(Conv2D(2, 3, 1, "same"), (1, 5, 5))
    x, dy = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    layer.forward(x, training=True)
    layer.backward(dy)
    expected = layer.grads["W"].copy()
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dy) is None
    np.testing.assert_allclose(layer.grads["W"], expected, atol=1e-12)


def test_outputs_are_fresh_arrays():
    """Outputs collected from several forwards (as predict does) must not share memory."""
    layer = built(Conv2D(2, 3, 1, "same", activation="relu"), (1, 5, 5))
    a = layer.forward(np.ones((2, 1, 5, 5)))
    b = layer.forward(np.zeros((2, 1, 5, 5)))
    assert not np.shares_memory(a, b)
    assert a.max() > 0


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    layer = built(Conv2D(4, 3, 2, "same", activation="relu"), (3, 9, 9), dtype=np.float32)
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32
    assert layer.params["W"].dtype == np.float32


def test_he_init_and_parameter_shapes():
    layer = built(Conv2D(64, 5, activation="relu"), (32, 12, 12), dtype=np.float32, seed=0)
    w = layer.params["W"]
    assert w.shape == (64, 32, 5, 5) and layer.params["b"].shape == (64,)
    assert abs(w.std() - np.sqrt(2 / (32 * 25))) < 0.05 * np.sqrt(2 / (32 * 25))
    assert layer.count_params((32, 12, 12)) == w.size + 64 == layer.num_params()


# -- im2col / col2im ------------------------------------------------------------------


GEOMETRIES = [
    ((2, 6, 7), (3, 3), 1, "same"),
    ((1, 5, 5), (2, 3), 1, "valid"),
    ((3, 7, 6), (3, 2), 2, "same"),
    ((2, 6, 6), (3, 3), 3, 1),
    ((1, 4, 5), (3, 3), 1, 3),
]


def patches_by_loops(x, g):
    """cols[(c,i,j), (n,oh,ow)] = xpad[n, c, oh*s + i, ow*s + j] on the compact (OH, OW) grid."""
    xp = np.pad(x, ((0, 0), (0, 0), (g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right)))
    n, s = x.shape[0], g.stride
    cols = np.zeros((g.channels, g.kh, g.kw, n, g.out_h, g.out_w))
    for i in range(g.kh):
        for j in range(g.kw):
            cols[:, i, j] = xp[:, :, i : i + s * g.out_h : s, j : j + s * g.out_w : s].transpose(1, 0, 2, 3)
    return cols


@pytest.mark.parametrize("in_shape,kernel,stride,padding", GEOMETRIES)
def test_im2col_matches_loops(in_shape, kernel, stride, padding):
    g = ConvGeometry.create(in_shape, kernel, stride, padding)
    x = np.random.default_rng(7).standard_normal((3,) + in_shape)
    for fh, fw in {patch_frame(g), scatter_frame(g)}:
        cols = im2col(pad(x, g), g, 3, (fh, fw)).reshape(g.channels, g.kh, g.kw, 3, fh, fw)
        np.testing.assert_array_equal(cols[..., : g.out_h, : g.out_w], patches_by_loops(x, g))


@pytest.mark.parametrize("in_shape,kernel,stride,padding", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(in_shape, kernel, stride, padding):
    """<col2im(A), x> == <A, im2col(x)> for the map x (N,C,H,W) -> patches, on both frames."""
    rng = np.random.default_rng(8)
    g = ConvGeometry.create(in_shape, kernel, stride, padding)
    n = 3
    x = rng.standard_normal((n,) + in_shape)
    for fh, fw in {patch_frame(g), scatter_frame(g)}:
        a = rng.standard_normal((g.channels * g.kh * g.kw, n * fh * fw))
        lhs = np.vdot(unpad(col2im(a, g, n, (fh, fw)), g, n), x)
        rhs = np.vdot(a, im2col(pad(x, g), g, n, (fh, fw)))
        assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(rhs))


def test_row_view_reads_overlapping_steps_and_refuses_to_reach_past_the_rows():
    flat = np.arange(20.0).reshape(2, 10)
    view = row_view(flat, 1, (3, 4), (2, 1))  # [c, a, b] = flat[c, 1 + 2a + b]
    np.testing.assert_array_equal(view[1, 2], [15, 16, 17, 18])
    assert not view.flags.writeable  # values repeat: a write would land in several places
    row_view(flat, 1, (3, 4), (2, 1))  # reaches value 8 of 10
    with pytest.raises(ValueError, match="reaches value 10"):
        row_view(flat, 3, (3, 4), (2, 1))
    with pytest.raises(ValueError, match="contiguous rows"):
        row_view(flat[:, ::2], 0, (2,), (1,))


def test_patches_of_a_chunk_stay_inside_its_rows():
    """im2col and row_patches on the last images of a batch (``batch_rows``) read only those."""
    g = ConvGeometry.create((2, 5, 6), (3, 3), 1, "same")
    x = np.random.default_rng(3).standard_normal((4, 2, 5, 6))
    xp = pad(x, g)
    tail = batch_rows(xp, g, 2, 2)
    assert tail.shape[1] == g.padded_length(2)  # the chunk's view ends where the batch does
    np.testing.assert_array_equal(
        im2col(tail, g, 2, patch_frame(g)), im2col(pad(x[2:], g), g, 2, patch_frame(g))
    )
    for form in ("flat", "exact"):
        np.testing.assert_array_equal(
            row_patches(tail, g, 2, form=form), row_patches(pad(x[2:], g), g, 2, form=form)
        )


def test_geometry_shares_padding_between_neighbours():
    g = ConvGeometry.create((8, 14, 14), (5, 5), 1, "same")
    assert (g.out_h, g.out_w) == (14, 14) and (g.padded_h, g.padded_w) == (18, 18)
    assert (g.block_h, g.block_w) == (16, 16)  # 2 rows/columns of padding shared
    assert patch_frame(g) == (14, 16) and scatter_frame(g) == (16, 16)


def test_col2im_counts_how_many_patches_hold_each_pixel():
    g = ConvGeometry.create((1, 4, 4), (3, 3), 1, "same")
    fh, fw = scatter_frame(g)
    ones = np.zeros((9, 2, fh, fw))
    ones[:, :, : g.out_h, : g.out_w] = 1  # every real patch entry of 2 images; junk stays 0
    counts = unpad(col2im(ones.reshape(9, -1), g, 2, (fh, fw)), g, 2)
    # interior pixels lie in 9 patches, edge pixels in 6, corners in 4
    np.testing.assert_array_equal(counts[0, 0], [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


# -- kernel rows -----------------------------------------------------------------------

ROW_GEOMETRIES = [g for g in GEOMETRIES if g[2] == 1] + [
    ((3, 5, 4), (1, 3), 1, "same"),
    ((2, 4, 4), (4, 1), 1, 2),
    ((2, 2, 3), (7, 5), 1, "same"),  # kernel taller than the image: rows that reach no pixel
]


@pytest.mark.parametrize("form", ["flat", "exact"])
@pytest.mark.parametrize("in_shape,kernel,stride,padding", ROW_GEOMETRIES)
def test_kernel_rows_match_im2col(in_shape, kernel, stride, padding, form):
    """shift_sum(Wk R) is im2col's W P on the form's frame (junk columns aside)."""
    rng = np.random.default_rng(9)
    g = ConvGeometry.create(in_shape, kernel, stride, padding)
    n, f = 3, 2
    x = rng.standard_normal((n,) + in_shape)
    w = rng.standard_normal((f, g.channels, g.kh, g.kw))
    wk = w.transpose(2, 0, 1, 3).reshape(g.kh * f, -1)
    fh, fw = frame(g, form)
    y = shift_sum(wk @ row_patches(pad(x, g), g, n, form=form), g, n, np.empty((f, n * fh * fw)), form=form)
    pf = patch_frame(g)
    expected = w.reshape(f, -1) @ im2col(pad(x, g), g, n, pf)
    np.testing.assert_allclose(
        y.reshape(f, n, fh, fw)[:, :, : g.out_h, : g.out_w],
        expected.reshape(f, n, *pf)[:, :, : g.out_h, : g.out_w],
        atol=1e-12,
    )


@pytest.mark.parametrize("form", ["flat", "exact"])
@pytest.mark.parametrize("in_shape,kernel,stride,padding", ROW_GEOMETRIES)
def test_kernel_row_maps_have_their_adjoints(in_shape, kernel, stride, padding, form):
    """<row_scatter(A), x> == <A, row_patches(x)> and <shift_stack(d), Z> == <d, shift_sum(Z)>."""
    rng = np.random.default_rng(10)
    g = ConvGeometry.create(in_shape, kernel, stride, padding)
    n, f = 3, 2
    x = rng.standard_normal((n,) + in_shape)
    a = rng.standard_normal(row_patches(pad(x, g), g, n, form=form).shape)
    lhs = np.vdot(unpad(row_scatter(a, g, n, out=np.zeros_like(pad(x, g)), form=form), g, n), x)
    assert abs(lhs - np.vdot(a, row_patches(pad(x, g), g, n, form=form))) < 1e-10 * max(1.0, abs(lhs))
    fh, fw = frame(g, form)
    d = rng.standard_normal((f, n * fh * fw))
    z = rng.standard_normal((g.kh * f, a.shape[1]))
    lhs = np.vdot(shift_stack(d, g, n, form=form), z)
    assert abs(lhs - np.vdot(d, shift_sum(z, g, n, out=np.empty_like(d), form=form))) < 1e-10 * max(
        1.0, abs(lhs)
    )
    if form == "exact":  # spread then the flat scatter is the exact scatter
        flat = spread_rows(a, g, n, out=np.zeros_like(row_patches(pad(x, g), g, n)))
        np.testing.assert_allclose(
            row_scatter(flat, g, n, out=np.zeros_like(pad(x, g))),
            row_scatter(a, g, n, out=np.zeros_like(pad(x, g)), form="exact"),
            atol=1e-12,
        )


def test_exact_rows_leave_out_junk_columns_and_padding_rows():
    """A 5x5 "same" convolution of 14x14 images: products over 14x14 pixels, not 16x16 blocks."""
    layer = built(Conv2D(4, 5, 1, "same"), (16, 14, 14))
    assert layer.method == "kernel_rows" and layer.frame == (14, 14)
    x = np.zeros((2, 16, 14, 14))
    layer.forward(x)
    assert layer._patches(layer._xp, 0, 2).shape == (16 * 5, 2 * 14 * 14)
    layer.exact_rows = False
    assert layer.frame == (16, 16)
    with pytest.raises(ValueError, match="form"):
        frame(layer.geom, "compact")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("method,exact", [("kernel_rows", True), ("kernel_rows", False), ("im2col", False)])
def test_backward_reuses_its_zeros_only_where_they_still_are(method, exact, activation):
    """Kernel rows' shift_stack writes only dz's rows, and im2col's dL/dz frame only its
    outputs, into buffers whose zeros an earlier call of the same shape left: backward after
    other batch sizes and forms equals a fresh layer's (a fused ReLU's mask multiplies the whole
    frame, junk columns included)."""

    def layer():
        conv = built(Conv2D(3, 3, 1, "same", activation=activation), (4, 5, 6))
        conv.use_method(method)
        conv.exact_rows = exact
        return conv

    used = layer()
    if method == "im2col":
        assert scatter_frame(used.geom) != (5, 6)  # junk columns to keep at zero
    rng = np.random.default_rng(6)
    for n in (3, 2, 3, 3):  # the same shape again, another shape, then back
        x, dy = rng.standard_normal((n, 4, 5, 6)), rng.standard_normal((n, 3, 5, 6))
        fresh = layer()
        used.forward(x, training=True)
        fresh.forward(x, training=True)
        np.testing.assert_allclose(used.backward(dy), fresh.backward(dy), atol=1e-12)
        np.testing.assert_allclose(used.grads["W"], fresh.grads["W"], atol=1e-12)


def test_one_image_at_inference_takes_im2col_and_its_backward_follows():
    layer = built(Conv2D(4, 5, 1, "same", activation="relu"), (16, 14, 14))
    assert layer.method == "kernel_rows"
    rng = np.random.default_rng(4)
    x, dy = rng.standard_normal((1, 16, 14, 14)), rng.standard_normal((1, 4, 14, 14))
    y_train = layer.forward(x, training=True).copy()  # training keeps the layer's method
    assert layer.active_method == "kernel_rows" and layer.frame == (14, 14)
    dx_train, dw_train = layer.backward(dy).copy(), layer.grads["W"].copy()
    y_infer = layer.forward(x).copy()
    assert layer.active_method == "im2col" and layer.frame == patch_frame(layer.geom)
    np.testing.assert_allclose(y_infer, y_train, atol=1e-12)
    # a saliency map goes back through an inference forward: backward uses that forward's method
    np.testing.assert_allclose(layer.backward(dy), dx_train, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dw_train, atol=1e-12)
    layer.forward(np.concatenate([x, x]))
    assert layer.active_method == "kernel_rows"  # two images: the layer's own method


@pytest.mark.parametrize("variant", [None, "im2col"])
def test_im2col_reads_each_call_s_images_through_its_kept_view(variant):
    """The patch view is kept between calls on the same padded buffer: each call's output is
    still its own images' (a fresh layer's), single images, batches and chunks in any order."""
    rng = np.random.default_rng(5)
    layer = built(Conv2D(3, 3, 1, "same"), (2, 6, 6))
    if variant:
        use(layer, variant)
    layer.chunk_bytes = 2 * 9 * 2 * 6 * 8 * 8  # two samples a chunk: batches of 5 in three
    for n in (1, 1, 5, 1, 5, 2, 1):
        x = rng.standard_normal((n, 2, 6, 6))
        fresh = built(Conv2D(3, 3, 1, "same"), (2, 6, 6))
        fresh.params["W"][...], fresh.params["b"][...] = layer.params["W"], layer.params["b"]
        if variant:
            use(fresh, variant)
        np.testing.assert_allclose(layer.forward(x), fresh.forward(x), rtol=0, atol=1e-12)


def test_method_is_chosen_by_memory_moved_and_checked():
    net = Network(
        {
            "input_shape": [1, 28, 28],
            "layers": [
                {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": "same"},
                {"type": "conv2d", "filters": 32, "kernel_size": 5, "padding": "same"},
                {"type": "conv2d", "filters": 8, "kernel_size": 3, "stride": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 2},
            ],
        }
    )
    # few input channels: im2col's patches are smaller; many: the kernel rows; stride 2: im2col
    assert [layer.method for layer in net.layers[:3]] == ["im2col", "kernel_rows", "im2col"]
    with pytest.raises(ValueError, match="stride 1"):
        net.layers[2].use_method("kernel_rows")
    with pytest.raises(ValueError, match="method"):
        net.layers[1].use_method("winograd")


# -- specs, description ----------------------------------------------------------------


def test_spec_error_for_a_kernel_that_does_not_fit():
    spec = {
        "input_shape": [1, 3, 3],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 5},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
    }
    with pytest.raises(SpecError) as info:
        check_spec(spec)
    assert str(info.value) == (
        "layer 1 (conv2d) kernel 5x5 does not fit a 3x3 input: use padding 'same' or a smaller kernel"
    )
    assert info.value.layer_index == 0
    spec["layers"][0]["padding"] = "same"
    check_spec(spec)


def test_spec_error_for_a_flat_input():
    spec = {
        "input_shape": [784],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3},
            {"type": "flatten"},
            {"type": "dense", "units": 2},
        ],
    }
    with pytest.raises(SpecError, match=r"layer 1 \(conv2d\) needs a CxHxW image input but gets 784"):
        check_spec(spec)


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"filters": 0, "kernel_size": 3}, "filters"),
        ({"filters": 2, "kernel_size": [3]}, "kernel_size"),
        ({"filters": 2, "kernel_size": 3, "stride": 0}, "stride"),
        ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding"),
        ({"filters": 2, "kernel_size": 3, "activation": "swish"}, "activation"),
    ],
)
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(SpecError, match=message):
        make_layer({"type": "conv2d", **settings}, 0)


def test_describe_and_config_round_trip():
    layer = built(Conv2D(8, 5, padding="same", activation="relu"), (1, 28, 28), np.float32)
    assert repr(layer) == "Conv2D(1x28x28 -> 8x28x28, 5x5, relu)"
    assert (
        repr(built(Conv2D(4, [3, 2], stride=2), (3, 9, 9))) == "Conv2D(3x9x9 -> 4x4x4, 3x2, stride 2, linear)"
    )
    again = make_layer(layer.config(), 0)
    assert again.config() == layer.config()


# -- a small CNN end to end ----------------------------------------------------------------

CNN = {
    "input_shape": [2, 8, 9],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 4, "kernel_size": [2, 3], "stride": 1, "activation": "tanh"},
        {"type": "avgpool2d", "pool_size": 2, "stride": 1},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "softmax_cross_entropy",
}


def test_whole_cnn_gradient():
    net = Network(CNN, seed=3, dtype=np.float64)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 2, 8, 9))
    target = net.loss.targets(rng.integers(0, 3, 3), 3, np.float64)

    def value():
        return net.loss.forward(net.forward(x, training=True), target)

    value()
    net.backward(net.loss.backward())
    analytic = {k: g.copy() for k, g in net.named_grads().items()}
    assert set(analytic) == {"0.W", "0.b", "2.W", "2.b", "5.W", "5.b"}
    for name, p in net.named_params().items():
        assert relative_error(analytic[name], numerical_grad(value, p)) < TOL, name


REFERENCE_CNN = {  # conv5x5x8(same)-relu-maxpool2-conv5x5x16(same)-relu-maxpool2-dense10
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 5, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 16, "kernel_size": 5, "padding": "same", "activation": "relu"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 10},
    ],
}


def test_reference_cnn_shapes_and_summary():
    net = Network(REFERENCE_CNN)
    assert net.output_shape == (10,)
    assert net.num_params == (8 * 25 + 8) + (16 * 8 * 25 + 16) + (16 * 7 * 7 * 10 + 10)
    assert "Conv2D(1x28x28 -> 8x28x28, 5x5, relu)" in net.summary()
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    assert net.predict(x).dtype == np.float32


@pytest.mark.parametrize("in_shape,filters", [((1, 28, 28), 16), ((16, 14, 14), 32)])
def test_float32_bias_gradient_over_a_large_batch_matches_float64(in_shape, filters):
    """dL/db is summed by a BLAS product over ~50,000 positions: still float32-accurate."""
    rng = np.random.default_rng(11)
    layer = built(Conv2D(filters, 5, 1, "same", activation="relu"), in_shape, np.float32)
    x = rng.standard_normal((64,) + in_shape).astype(np.float32)
    y = layer.forward(x, training=True).copy()
    dy = rng.standard_normal(y.shape).astype(np.float32)
    layer.backward(dy)
    expected = (dy.astype(np.float64) * (y > 0)).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.grads["b"], expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "rows, cols, samples, unit",
    [(16, 25, 64, 840), (16, 25, 67, 840), (8, 9, 5, 100), (64, 25, 64, 840), (3, 4, 1, 50)],
)
def test_long_product_equals_the_single_product(rows, cols, samples, unit):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, samples * unit))
    b = rng.standard_normal((cols, samples * unit))
    out = np.empty((rows, cols))
    np.testing.assert_allclose(long_product(a, b, unit, out), a @ b.T, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "rows, inner, samples, unit",
    [(16, 25, 64, 896), (16, 25, 67, 896), (8, 9, 5, 100), (64, 25, 64, 840), (3, 4, 1, 50)],
)
def test_wide_product_equals_the_single_product(rows, inner, samples, unit):
    """In chunks of whole units (and the rest) where they are small, into column slices of
    larger arrays as a chunked batch of convolutions hands them over."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((rows, inner))
    b = rng.standard_normal((inner, (samples + 2) * unit))[:, unit : (samples + 1) * unit]
    out = np.full((rows, (samples + 2) * unit), np.nan)
    chunked = chunk_columns(rows, inner, samples * unit, unit) > 0
    assert chunked == ((rows, samples) in ((16, 64), (16, 67)))
    result = wide_product(a, b, unit, out[:, unit : (samples + 1) * unit])
    np.testing.assert_allclose(result, a @ b, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out[:, unit : (samples + 1) * unit], a @ b, rtol=1e-12, atol=1e-9)
    assert np.isnan(out[:, :unit]).all() and np.isnan(out[:, (samples + 1) * unit :]).all()


def test_long_product_chunks_whole_samples_only_where_the_products_are_small():
    per = chunk_columns(16, 25, 64 * 840, 840)
    assert per == 1680 and 16 * 25 * per <= SMALL_PRODUCT  # two 28x30 frames per product
    assert chunk_columns(64, 25, 64 * 840, 840) == 0  # not even one frame keeps it small
    assert chunk_columns(16, 25, 1680, 840) == 0  # a single chunk: left whole


@pytest.mark.parametrize("pool", [{"pool_size": 2}, {"pool_size": 3, "stride": 1}])
def test_relu_fused_into_the_pooling_after_gives_the_same_gradients(pool):
    spec = {
        "input_shape": [1, 12, 12],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", **pool},
            {"type": "conv2d", "filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
    }
    fused, plain = Network(spec, seed=1, dtype=np.float64), Network(spec, seed=1, dtype=np.float64)
    assert plain.layers[0].relu_applied_after and plain.layers[3].applies_relu
    for layer in plain.layers:  # the derivative where the convolutions apply it themselves
        layer.relu_applied_after = layer.applies_relu = False
    plain.layers[2].use_method("im2col")
    for net in (fused, plain):
        net.layers[0].params["b"][:2] = -4.0  # channels whose windows are mostly all zeros: ties
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 1, 12, 12))
    target = fused.loss.targets(rng.integers(0, 3, 5), 3, np.float64)
    for net in (fused, plain):
        net.loss.forward(net.forward(x, training=True), target)
        net.backward(net.loss.backward())
    assert fused.layers[2].method == "kernel_rows"  # both methods of the second convolution
    # the first one on its input's phases where its 2x2 windows tile the output
    assert (fused.layers[0].active_method == "phases") == (pool == {"pool_size": 2})
    np.testing.assert_allclose(fused.flat_grads, plain.flat_grads, rtol=1e-12, atol=1e-14)
    assert np.count_nonzero(fused.layers[0].grads["W"])


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_im2col_takes_the_outputs_own_frame_for_a_batch_and_junk_columns_for_one_image(activation):
    layer = built(Conv2D(3, 3, 1, "same", activation=activation), (1, 6, 7))
    assert layer.method == "im2col"
    rng = np.random.default_rng(11)
    x, dy = rng.standard_normal((3, 1, 6, 7)), rng.standard_normal((3, 3, 6, 7))
    y = layer.forward(x, training=True).copy()
    assert layer.frame == (6, 7) and layer.frame != patch_frame(layer.geom)  # no junk columns
    layer.backward(dy)
    dw = layer.grads["W"].copy()
    singles = []
    for k in range(3):  # one image at a time: the wide frame, whose junk must not leak
        singles.append(layer.forward(x[k : k + 1]).copy())
        assert layer.frame == patch_frame(layer.geom) != (6, 7)
        layer.backward(dy[k : k + 1])
        singles[-1] = (singles[-1], layer.grads["W"].copy())
    np.testing.assert_allclose(np.concatenate([s[0] for s in singles]), y, atol=1e-12)
    np.testing.assert_allclose(sum(s[1] for s in singles), dw, atol=1e-12)
