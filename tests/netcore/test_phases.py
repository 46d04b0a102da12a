"""A first convolution and its 2x2 max pooling computed on the input's phases, against the plain path."""

import numpy as np
import pytest

from netcore.functional.im2col import ConvGeometry
from netcore.functional.phases import Phases, fits_phases
from netcore.inspect.gradcheck import numerical_grad, relative_error
from netcore.inspect.health import fired_units
from netcore.layers import Conv2D, MaxPool2D
from netcore.layers.conv import METHODS
from netcore.network import Network

# (in_shape, filters, kernel_size, padding): every output even, so the windows tile it
CASES = [
    ((1, 8, 8), 3, 5, "same"),
    ((3, 6, 10), 4, 3, "same"),
    ((2, 9, 7), 2, [2, 4], "valid"),  # even kernels: 8x4 outputs
    ((1, 6, 6), 2, 4, "same"),  # an even kernel with "same": the odd pixel of padding after
    ((2, 4, 6), 3, [3, 1], 2),  # padding wider than needed: zero rows around
    ((1, 4, 2), 2, 5, 2),  # a kernel wider than the image
]


def pair(in_shape, filters, kernel, padding, phases=True, dtype=np.float64, seed=1):
    """conv (fused ReLU, first layer) + 2x2 max pooling, as the network links them."""
    rng = np.random.default_rng(seed)
    conv = Conv2D(filters, kernel, 1, padding, activation="relu")
    conv.build(in_shape, rng, dtype)
    pool = MaxPool2D(2)
    pool.build(conv.out_shape, rng, dtype)
    conv.needs_input_grad = False
    conv.relu_applied_after = pool.applies_relu = True
    conv.pooled_in_phases = phases
    conv.params["b"][...] = rng.standard_normal(filters) * 0.3
    return conv, pool


def run(conv, pool, x, dy):
    y = pool.forward(conv.forward(x, training=True), training=True)
    conv.backward(pool.backward(dy))
    return y.copy(), {k: g.copy() for k, g in conv.grads.items()}


def test_phases_split_and_patches_match_their_definition():
    rng = np.random.default_rng(0)
    for in_shape, _, kernel, padding in CASES:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        g = ConvGeometry.create(in_shape, (kh, kw), 1, padding)
        phases = Phases(g, 2)
        n = 3
        x = rng.standard_normal((n,) + in_shape)
        pg = phases.geom
        xs = phases.split(x, out=np.zeros((pg.channels, pg.padded_length(n))))
        # xpad with room for every phase row and column the patches can reach
        xpad = np.zeros((n, g.channels, 2 * pg.block_h + 2, 2 * pg.block_w + 2))
        xpad[:, :, g.pad_top : g.pad_top + g.height, g.pad_left : g.pad_left + g.width] = x
        images = xs[:, : n * pg.sample_size].reshape(g.channels, 2, 2, n, pg.block_h, pg.block_w)
        for a in range(2):
            for b in range(2):
                expected = xpad[:, :, a::2, b::2][:, :, : pg.block_h, : pg.block_w].transpose(1, 0, 2, 3)
                np.testing.assert_array_equal(images[:, a, b], expected)
        rows, cols = phases.out_hw
        patches = phases.patches(xs, n, out=np.empty((phases.patch_rows, n * rows * cols)))
        p6 = patches.reshape(2 * phases.half_kh, g.channels, 2 * phases.half_kw, n, rows, cols)
        for t in range(2 * phases.half_kh):
            for t2 in range(2 * phases.half_kw):
                expected = images[:, t % 2, t2 % 2, :, t // 2 : t // 2 + rows, t2 // 2 : t2 // 2 + cols]
                np.testing.assert_array_equal(p6[t, :, t2], expected)


def test_phase_weights_and_their_fold_are_adjoint():
    """<Wp(W), G> = <W, fold(G)> for any G: the fold is the weight gradient of the expansion."""
    rng = np.random.default_rng(3)
    g = ConvGeometry.create((2, 6, 6), (5, 3), 1, "same")
    phases = Phases(g, 3)
    w = rng.standard_normal((3, 2, 5, 3))
    wp = phases.weights(w, out=np.empty(phases.index.shape))
    assert np.count_nonzero(wp) == 2 * w.size  # every weight in two places, zeros elsewhere
    grad = rng.standard_normal(wp.shape)
    folded = phases.fold(grad, out=np.empty(w.shape))
    assert np.isclose(np.vdot(wp, grad), np.vdot(w, folded))


def test_phases_need_stride_one_and_whole_windows():
    assert not fits_phases(ConvGeometry.create((1, 7, 7), (3, 3), 1, "same"))
    assert not fits_phases(ConvGeometry.create((1, 8, 8), (3, 3), 2, "same"))
    with pytest.raises(ValueError, match="even output"):
        Phases(ConvGeometry.create((1, 7, 8), (3, 3), 1, "same"), 2)


@pytest.mark.parametrize("in_shape,filters,kernel,padding", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_forward_and_gradients_equal_the_plain_path(in_shape, filters, kernel, padding, method):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4,) + in_shape)
    phased, plain = (
        pair(in_shape, filters, kernel, padding),
        pair(in_shape, filters, kernel, padding, phases=False),
    )
    for conv, _ in (phased, plain):
        conv.use_method(method)  # the phases replace either method
    h = phased[0].forward(x, training=True)
    assert phased[0].active_method == "phases"
    f, oh, ow = phased[0].out_shape
    assert h.shape == (4, f, oh // 2, 2, ow // 2, 2)  # the windows: the output reshaped
    np.testing.assert_allclose(h.reshape(4, f, oh, ow), plain[0].forward(x, training=True), atol=1e-12)
    dy = rng.standard_normal((4, f, oh // 2, ow // 2))
    y1, g1 = run(*phased, x, dy)
    y2, g2 = run(*plain, x, dy)
    assert plain[0].active_method == method
    np.testing.assert_allclose(y1, y2, atol=1e-12)
    for name in g2:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-10, atol=1e-12)
    assert np.count_nonzero(g1["W"])


def test_tied_windows_send_the_gradient_to_their_first_pixel():
    """Constant outputs: every window a tie, its gradient to pixel (0, 0) as in the plain layout."""
    x = np.random.default_rng(4).standard_normal((2, 1, 6, 6))
    dy = np.ones((2, 2, 3, 3))
    dz, grads = [], []
    for phases in (True, False):
        conv, pool = pair((1, 6, 6), 2, 3, "same", phases=phases)
        conv.params["W"][...] = 0
        conv.params["b"][...] = 1.0
        pool.forward(conv.forward(x, training=True), training=True)
        found = pool.backward(dy)
        dz.append(found.reshape(2, 2, 6, 6))  # windows in phases: their pixels in place
        conv.backward(found)
        grads.append(conv.grads["W"].copy())
    np.testing.assert_array_equal(dz[0], dz[1])
    assert dz[0][:, :, ::2, ::2].sum() == 36 and np.count_nonzero(dz[0]) == 36
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)


def test_chunks_of_samples_equal_the_whole_batch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 2, 8, 6))
    dy = rng.standard_normal((5, 3, 4, 3))
    whole, chunked = pair((2, 8, 6), 3, 3, "same"), pair((2, 8, 6), 3, 3, "same")
    chunked[0].chunk_bytes = 1  # one sample per chunk: patches rebuilt in backward
    y1, g1 = run(*whole, x, dy)
    y2, g2 = run(*chunked, x, dy)
    assert len(chunked[0]._chunk_list) == 5
    np.testing.assert_allclose(y1, y2, atol=1e-12)
    for name in g1:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-10, atol=1e-12)


def test_network_takes_phases_only_for_a_first_layer_and_checks_gradients():
    spec = {
        "input_shape": [2, 8, 8],
        "layers": [
            {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
        "loss": "softmax_cross_entropy",
    }
    net = Network(spec, seed=3, dtype=np.float64)
    assert net.layers[0].pooled_in_phases and net.layers[2].pooled_in_phases
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 2, 8, 8))
    target = net.loss.targets(rng.integers(0, 3, 3), 3, np.float64)

    def value():
        return net.loss.forward(net.forward(x, training=True), target)

    value()
    # the second convolution needs dL/dx: it keeps its own method
    assert [net.layers[i].active_method for i in (0, 2)] == ["phases", net.layers[2].method]
    net.backward(net.loss.backward())
    analytic = {k: g.copy() for k, g in net.named_grads().items()}
    for name, p in net.named_params().items():
        assert relative_error(analytic[name], numerical_grad(value, p)) < 1e-6, name
    # at inference, and where dL/dx is asked for (a saliency map's twin), the plain path
    net.forward(x)
    assert net.layers[0].active_method == net.layers[0].method != "phases"
    net.layers[0].needs_input_grad = True
    net.forward(x, training=True)
    assert net.layers[0].active_method == net.layers[0].method


def test_a_backward_asked_for_the_input_gradient_after_a_phases_forward_says_why():
    conv, pool = pair((1, 6, 6), 2, 3, "same")
    x = np.random.default_rng(7).standard_normal((2, 1, 6, 6))
    pool.forward(conv.forward(x, training=True), training=True)
    dz = pool.backward(np.ones((2, 2, 3, 3)))
    conv.needs_input_grad = True
    with pytest.raises(RuntimeError, match="no input gradient"):
        conv.backward(dz)


def test_fired_units_read_the_phases():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 1, 6, 6))
    found = []
    for phases in (True, False):
        conv, pool = pair((1, 6, 6), 4, 3, "same", phases=phases)
        conv.params["b"][:2] = -50.0  # two filters that never fire
        pool.forward(conv.forward(x, training=True), training=True)
        found.append(fired_units(conv, np.arange(4)))
    np.testing.assert_array_equal(found[0], found[1])
    assert found[0].tolist() == [False, False, True, True]


def test_pooling_refuses_windows_in_phases_of_another_size():
    conv, _ = pair((1, 6, 6), 2, 3, "same")
    pool = MaxPool2D(3, 2)
    pool.build((2, 6, 6), np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match="2x2 at stride 2"):
        pool.forward(conv.forward(np.zeros((1, 1, 6, 6)), training=True), training=True)


def test_the_phases_buffer_keeps_its_zeros_across_batch_sizes():
    """Sizes 5, 3, 5: each forward equals a fresh pair's (the padding of the phases stays zero)."""
    rng = np.random.default_rng(9)
    reused = pair((1, 6, 6), 2, 5, "same")
    for n in (5, 3, 5):
        x = rng.standard_normal((n, 1, 6, 6))
        fresh = pair((1, 6, 6), 2, 5, "same")
        np.testing.assert_array_equal(reused[0].forward(x, training=True), fresh[0].forward(x, training=True))
