"""MaxPool2D and AvgPool2D: against loops, against central differences, and max-pool ties."""

import numpy as np
import pytest

from netcore.inspect.gradcheck import check_layer, numerical_grad, relative_error
from netcore.layers import AvgPool2D, MaxPool2D
from netcore.spec import SpecError, check_spec

TOL = 1e-6


def built(layer, in_shape, dtype=np.float64):
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


def pool_loops(x, pool, stride, reduce):
    (ph, pw), (sh, sw) = pool, stride
    n, c, h, w = x.shape
    oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for r in range(oh):
        for q in range(ow):
            y[:, :, r, q] = reduce(x[:, :, r * sh : r * sh + ph, q * sw : q * sw + pw], axis=(2, 3))
    return y


# (in_shape, pool_size, stride): tiling, leftover rows, overlapping, gaps, non-square
CASES = [
    ((2, 6, 8), 2, None),
    ((3, 7, 5), 2, None),
    ((2, 7, 7), 3, 2),
    ((1, 6, 6), 3, 1),
    ((2, 8, 9), 2, 3),
    ((2, 6, 7), [2, 3], [1, 2]),
    ((1, 5, 6), [3, 2], None),
]


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("cls,reduce", [(MaxPool2D, np.max), (AvgPool2D, np.mean)])
@pytest.mark.parametrize("in_shape,pool,stride", CASES)
def test_forward_matches_loops(cls, reduce, in_shape, pool, stride):
    layer = built(cls(pool, stride), in_shape)
    x = np.random.default_rng(1).standard_normal((3,) + in_shape)
    expected = pool_loops(x, as_pair(pool), as_pair(stride or pool), reduce)
    y = layer.forward(x)
    assert y.shape == (3,) + layer.output_shape(in_shape)
    np.testing.assert_allclose(y, expected, atol=1e-12)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("in_shape,pool,stride", CASES)
def test_gradients(cls, in_shape, pool, stride):
    layer = built(cls(pool, stride), in_shape)
    x = np.random.default_rng(2).standard_normal((2,) + in_shape)
    assert check_layer(layer, x, training=True)["x"] < TOL


def test_max_pool_tie_sends_the_gradient_to_the_first_maximum_only():
    layer = built(MaxPool2D(2), (1, 4, 4))
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 2:] = [1.0, 5.0]  # second window: 5 once, then 5 twice below it
    x[0, 0, 1, 2:] = [5.0, 5.0]
    x[0, 0, 2:, 2:] = [[3.0, 1.0], [-1.0, 3.0]]  # fourth window: 3 first and last
    layer.forward(x, training=True)
    dy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = layer.backward(dy)[0, 0]
    expected = np.array(
        [
            [1.0, 0.0, 0.0, 2.0],  # all-zero window: the top-left input gets it all
            [0.0, 0.0, 0.0, 0.0],
            [3.0, 0.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(dx, expected)
    assert np.count_nonzero(dx) == 4  # exactly one input per window


def test_max_pool_ties_with_overlapping_windows_add_up():
    """A constant image: each window's gradient goes to its own top-left input."""
    layer = built(MaxPool2D(2, 1), (1, 3, 3))
    layer.forward(np.ones((1, 1, 3, 3)), training=True)
    dx = layer.backward(np.ones((1, 1, 2, 2)))[0, 0]
    np.testing.assert_array_equal(dx, [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_max_pool_ties_on_relu_zeros_in_a_batch():
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((8, 4, 6, 6)), 0).astype(np.float32)
    layer = built(MaxPool2D(2), (4, 6, 6), np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    windows = dx.reshape(8, 4, 3, 2, 3, 2).sum(axis=(3, 5))
    np.testing.assert_array_equal(windows, np.ones_like(y))  # one unit per window, never more
    assert dx.dtype == np.float32


def channel_major_copy(x):
    """The same (N, C, H, W) values stored as (C, N, H, W), as a convolution hands them over."""
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize("in_shape,pool,stride", CASES)
def test_max_pool_in_channel_major_memory_matches_the_plain_layout(in_shape, pool, stride):
    """Forward, ties and backward agree whatever the memory order; results keep the input's."""
    rng = np.random.default_rng(5)
    x = np.maximum(rng.standard_normal((3,) + in_shape), 0)  # ReLU zeros: many ties
    plain, major = built(MaxPool2D(pool, stride), in_shape), built(MaxPool2D(pool, stride), in_shape)
    y_plain = plain.forward(x, training=True).copy()
    y_major = major.forward(channel_major_copy(x), training=True)
    np.testing.assert_array_equal(y_major, y_plain)
    np.testing.assert_array_equal(y_major, pool_loops(x, as_pair(pool), as_pair(stride or pool), np.max))
    one_channel = in_shape[0] == 1  # then either order is both
    assert one_channel or y_major.strides[1] > y_major.strides[0]  # still channel-major
    dy = rng.standard_normal(y_plain.shape)
    dx_plain = plain.backward(dy).copy()
    for upstream in (dy, channel_major_copy(dy)):
        dx_major = major.backward(upstream)
        np.testing.assert_array_equal(dx_major, dx_plain)
        assert one_channel or dx_major.strides[1] > dx_major.strides[0]


@pytest.mark.parametrize("applies_relu", [False, True])
@pytest.mark.parametrize("in_shape,pool,stride", CASES)
def test_max_pool_inference_forward_then_backward_matches_training(in_shape, pool, stride, applies_relu):
    """Inference computes the maximum alone; a backward after it (a saliency map) still routes
    each window's gradient to its first maximum, like a backward after a training forward."""
    rng = np.random.default_rng(6)
    x = channel_major_copy(np.maximum(rng.standard_normal((3,) + in_shape), 0))  # ties
    trained, inferred = built(MaxPool2D(pool, stride), in_shape), built(MaxPool2D(pool, stride), in_shape)
    trained.applies_relu = inferred.applies_relu = applies_relu
    y_trained = trained.forward(x, training=True).copy()
    y_inferred = inferred.forward(x, training=False)
    np.testing.assert_array_equal(y_inferred, y_trained)
    assert inferred._argmax is None  # no winners kept at inference
    dy = rng.standard_normal(y_trained.shape)
    np.testing.assert_array_equal(inferred.backward(dy), trained.backward(dy))


def test_max_pool_gradient_in_channel_major_memory():
    """Central differences on the (C, N, H, W) memory behind a channel-major input."""
    rng = np.random.default_rng(6)
    layer = built(MaxPool2D(2), (3, 6, 8))
    memory = rng.standard_normal((3, 2, 6, 8))
    x = memory.transpose(1, 0, 2, 3)  # a view: perturbing memory perturbs x
    dy = rng.standard_normal((2, 3, 3, 4))
    layer.forward(x, training=True)
    dx = layer.backward(dy).transpose(1, 0, 2, 3)
    numeric = numerical_grad(lambda: float(np.sum(layer.forward(x, training=True) * dy)), memory)
    assert relative_error(dx, numeric) < TOL


def test_avg_pool_spreads_the_gradient_evenly():
    layer = built(AvgPool2D(2), (1, 2, 4))
    layer.forward(np.zeros((1, 1, 2, 4)))
    dx = layer.backward(np.array([[[[4.0, 8.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2]])


def test_uncovered_rows_get_zero_gradient():
    layer = built(MaxPool2D(2), (1, 3, 3))
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    layer.forward(x, training=True)
    dx = layer.backward(np.ones((1, 1, 1, 1)))[0, 0]
    np.testing.assert_array_equal(dx, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_float32_stays_float32():
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
    for layer in (built(MaxPool2D(2), (3, 6, 6), np.float32), built(AvgPool2D(3, 2), (3, 6, 6), np.float32)):
        y = layer.forward(x, training=True)
        assert y.dtype == layer.backward(np.ones_like(y)).dtype == np.float32


def test_spec_errors():
    base = {"input_shape": [2, 3, 3], "loss": "mse", "task": "regression"}
    with pytest.raises(SpecError, match=r"layer 1 \(maxpool2d\) pool 4x4 does not fit a 3x3 input"):
        check_spec({**base, "layers": [{"type": "maxpool2d", "pool_size": 4}, {"type": "flatten"}]})
    with pytest.raises(SpecError, match=r"layer 2 \(avgpool2d\) needs a CxHxW image input but gets 18"):
        check_spec({**base, "layers": [{"type": "flatten"}, {"type": "avgpool2d"}]})
    with pytest.raises(SpecError, match="pool_size"):
        check_spec({**base, "layers": [{"type": "maxpool2d", "pool_size": 0}]})


def test_describe_and_config():
    layer = built(MaxPool2D(2), (8, 28, 28))
    assert repr(layer) == "MaxPool2D(8x28x28 -> 8x14x14, 2x2)"
    assert repr(built(AvgPool2D(3, 2), (1, 7, 7))) == "AvgPool2D(1x7x7 -> 1x3x3, 3x3, stride 2)"
    assert layer.config() == {"type": "maxpool2d", "pool_size": 2}
    assert AvgPool2D(3, 1).config() == {"type": "avgpool2d", "pool_size": 3, "stride": 1}
