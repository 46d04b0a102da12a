"""netcore.inspect: trace, saliency, occlusion, decision grid and confusion, without Qt."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from netcore.data.synthetic import make_spirals
from netcore.inspect import (
    bounds_around,
    confusion,
    confusion_matrix,
    conv_filters,
    decision_grid,
    image_layout,
    occlusion,
    peak,
    saliency,
    trace,
)
from netcore.inspect.gradcheck import numerical_grad, relative_error
from netcore.network import Network
from netcore.resources import resource_path
from netcore.train import Trainer, TrainSettings

ROOT = Path(__file__).resolve().parents[2]

# every kind of layer a picture network has, with BatchNorm and dropout (state and randomness)
IMAGE_SPEC = {
    "input_shape": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "tanh"},
        {"type": "avgpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 6},
        {"type": "sigmoid"},
        {"type": "dropout", "rate": 0.5},
        {"type": "dense", "units": 3},
    ],
}


def trained_image_net(dtype=np.float32):
    """IMAGE_SPEC after a few steps, so BatchNorm's running statistics are not the defaults."""
    rng = np.random.default_rng(0)
    net = Network(IMAGE_SPEC, seed=1, dtype=dtype)
    x = rng.standard_normal((24, 1, 8, 8)).astype(dtype)
    Trainer(net, TrainSettings(epochs=2, batch_size=8, lr=1e-2), x, rng.integers(0, 3, 24)).run()
    return net


def reference_outputs(net, x):
    """Layer by layer on a deep copy (the direct definition of a trace)."""
    clone = copy.deepcopy(net)
    outputs = []
    for layer in clone.layers:
        x = layer.forward(x, False)
        outputs.append(np.array(x))
    return outputs


def test_trace_matches_forward_layer_by_layer():
    net = trained_image_net()
    x = np.random.default_rng(1).standard_normal((5, 1, 8, 8)).astype(np.float32)
    traced = trace(net, x)
    assert [t.index for t in traced] == list(range(len(net.layers)))
    assert [t.kind for t in traced] == [layer.kind for layer in net.layers]
    for got, want in zip(traced, reference_outputs(net, x), strict=True):
        assert got.output.shape == want.shape and got.output.flags.c_contiguous
        np.testing.assert_array_equal(got.output, want)
    np.testing.assert_array_equal(traced[-1].output, net.forward(x))
    assert traced[0].name.startswith("Conv2D(1x8x8 -> 3x8x8")
    assert not any(t.output.flags.writeable for t in traced)  # safe to hand to another thread
    filters = conv_filters(net)
    np.testing.assert_array_equal(filters, net.layers[0].params["W"])
    assert filters.shape == (3, 1, 3, 3) and conv_filters(net, 1).shape == (4, 3, 3, 3)
    assert conv_filters(net, 2) is None


def test_one_sample_may_omit_the_batch_axis_and_bad_shapes_are_named():
    net = trained_image_net()
    image = np.random.default_rng(2).random((8, 8))
    assert trace(net, image)[-1].output.shape == (1, 3)
    with pytest.raises(ValueError, match="do not fit the network's input 1x8x8"):
        trace(net, np.zeros((7, 7)))


def test_inspecting_between_forward_and_backward_leaves_training_untouched():
    """A forward/backward pair gives the same gradients with every inspection run in between."""
    rng = np.random.default_rng(3)
    net = trained_image_net()
    xb = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)  # same batch size as the probes
    labels = rng.integers(0, 3, 8)

    def step(probe):
        net.rng = np.random.default_rng(7)  # the dropout mask
        for layer in net.layers:
            layer.rng = net.rng
        out = net.forward(xb, training=True)
        net.loss.forward(out, labels)
        probe()
        net.backward(net.loss.backward())
        return net.flat_grads.copy(), out.copy()

    state = {k: v.copy() for k, v in net.state_dict().items()}
    grads, out = step(lambda: None)
    net.load_state_dict(state)
    other = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)

    def probe():
        trace(net, other)
        saliency(net, other)
        occlusion(net, other[0], patch=3)
        confusion(net, other, labels)

    grads2, out2 = step(probe)
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(grads, grads2)
    for key, value in state.items():  # running statistics are only moved by the training forward
        assert np.array_equal(net.state_dict()[key], value) == ("running" not in key)


def test_the_twin_sees_weight_changes():
    net = trained_image_net()
    x = np.random.default_rng(4).standard_normal((2, 1, 8, 8)).astype(np.float32)
    before = trace(net, x)[-1].output
    net.flat_params *= 1.5
    net.layers[1].state["running_mean"] += 0.3
    after = trace(net, x)[-1].output
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, net.forward(x))


def test_saliency_matches_finite_differences_of_the_raw_score():
    net = trained_image_net(np.float64)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 1, 8, 8))
    targets = np.array([0, 2, 1])
    result = saliency(net, x, targets)
    assert result.gradient.shape == x.shape and result.scores.shape == (3, 3)
    for n in range(3):
        sample = x[n : n + 1].copy()
        numeric = numerical_grad(lambda s=sample, t=targets[n]: float(net.forward(s)[0, t]), sample)
        assert relative_error(result.gradient[n : n + 1], numeric) < 1e-6


def test_saliency_defaults_to_the_predicted_class_and_gives_maps():
    net = trained_image_net()
    x = np.random.default_rng(6).standard_normal((4, 1, 8, 8)).astype(np.float32)
    result = saliency(net, x)
    np.testing.assert_array_equal(result.target, net.forward(x).argmax(axis=1))
    assert result.map.shape == (4, 8, 8) and (result.map >= 0).all()
    assert len(result.layers) == len(net.layers)
    np.testing.assert_array_equal(result.layers[-1].output, result.scores)
    r, c = peak(result.map[0])
    assert result.map[0][r, c] == result.map[0].max()
    with pytest.raises(ValueError, match="target class must be in 0..2"):
        saliency(net, x, 3)


def test_flat_digit_inputs_are_pictures():
    assert image_layout((784,)) == (28, 28)
    assert image_layout((3, 32, 32)) == (32, 32)
    assert image_layout((10,)) is None
    net = Network({"input_shape": [16], "layers": [{"type": "dense", "units": 2}]})
    assert saliency(net, np.ones(16)).map.shape == (1, 4, 4)


def naive_occlusion(net, image, target, patch, stride, fill):
    h, w = image.shape[-2:]
    rows = sorted(set(range(0, h - patch + 1, stride)) | {h - patch})
    cols = sorted(set(range(0, w - patch + 1, stride)) | {w - patch})
    base = net.predict_proba(image[None])[0, target]
    grid = np.zeros((len(rows), len(cols)))
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            blanked = image.copy()
            blanked[..., r : r + patch, c : c + patch] = fill
            grid[i, j] = base - net.predict_proba(blanked[None])[0, target]
    return grid


def test_occlusion_matches_a_loop_over_patch_positions():
    net = trained_image_net(np.float64)
    image = np.random.default_rng(7).standard_normal((1, 8, 8))
    result = occlusion(net, image, target=1, patch=3, stride=2, fill=0.5, batch_size=5)
    np.testing.assert_allclose(result.grid, naive_occlusion(net, image, 1, 3, 2, 0.5), atol=1e-12)
    assert result.rows.tolist() == [0, 2, 4, 5] and result.grid.shape == (4, 4)
    assert result.pixels.shape == (8, 8) and result.target == 1
    # the top-left pixel is covered by the first patch only
    assert result.pixels[0, 0] == pytest.approx(result.grid[0, 0])


def test_occlusion_finds_the_only_region_a_model_looks_at():
    """A linear model that reads only the top-left 4x4 corner of a 12x12 image."""
    net = Network({"input_shape": [144], "layers": [{"type": "dense", "units": 2}]})
    weights = np.zeros((12, 12))
    weights[:4, :4] = 1.0
    net.layers[0].params["W"][...] = np.stack([-weights.ravel(), weights.ravel()], axis=1)
    result = occlusion(net, np.ones((12, 12)), patch=4, stride=4)
    assert result.target == 1
    assert result.grid[0, 0] == pytest.approx(0.5) and np.all(result.grid.ravel()[1:] == 0)
    with pytest.raises(ValueError, match="one image"):
        occlusion(net, np.ones((2, 144)))


def spirals_net():
    x, y = make_spirals(300, noise=0.05, classes=3, seed=1)
    spec = {
        "input_shape": [2],
        "layers": [
            {"type": "dense", "units": 16, "activation": "tanh"},
            {"type": "dense", "units": 8, "activation": "relu"},
            {"type": "dense", "units": 3},
        ],
    }
    net = Network(spec, seed=2)
    Trainer(net, TrainSettings(epochs=20, batch_size=32, lr=1e-2), x, y).run()
    return net, x, y


def test_decision_grid_agrees_with_predict_at_the_grid_points():
    net, x, _ = spirals_net()
    bounds = bounds_around(x)
    grid = decision_grid(net, bounds, (40, 30))
    assert grid.xs.shape == (40,) and grid.ys.shape == (30,)
    assert grid.xs[0] == bounds[0] and grid.xs[-1] == bounds[1] and grid.ys[-1] == bounds[3]
    assert grid.probabilities.shape == (30, 40, 3)
    points = np.array([[gx, gy] for gy in grid.ys for gx in grid.xs])
    want = net.predict_proba(points).reshape(30, 40, 3)
    np.testing.assert_allclose(grid.probabilities, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(grid.predicted, want.argmax(axis=-1))
    assert [g.values.shape for g in grid.layers] == [(30, 40, 16), (30, 40, 8), (30, 40, 3)]
    hidden = trace(net, points)[1].output.reshape(30, 40, 8)
    np.testing.assert_array_equal(grid.layers[1].values, hidden)


def test_decision_grid_of_the_xor_template_has_two_classes():
    spec = json.loads((resource_path("networks", "xor.json")).read_text())
    net = Network(spec)
    grid = decision_grid(net, (-0.5, 1.5, -0.5, 1.5), 200)
    assert grid.probabilities.shape == (200, 200, 2)
    np.testing.assert_allclose(grid.probabilities.sum(axis=-1), 1.0, rtol=1e-6)
    assert grid.layers[0].values.shape == (200, 200, 4)


def test_decision_grid_refuses_what_it_cannot_draw():
    net, _, _ = spirals_net()
    with pytest.raises(ValueError, match="min < max"):
        decision_grid(net, (1, 0, 0, 1))
    with pytest.raises(ValueError, match="resolution"):
        decision_grid(net, (0, 1, 0, 1), 1)
    image_net = trained_image_net()
    with pytest.raises(ValueError, match="2 input features, this one takes 1x8x8"):
        decision_grid(image_net, (0, 1, 0, 1))


def test_confusion_counts_cells_and_accuracy():
    net, x, y = spirals_net()
    result = confusion(net, x, y)
    assert result.matrix.shape == (3, 3) and result.matrix.sum() == len(y)
    assert result.accuracy == pytest.approx(net.evaluate(x, y)["accuracy"])
    assert np.trace(result.matrix) == np.count_nonzero(result.predicted == y)
    seen = []
    for t in range(3):
        for p in range(3):
            idx = result.cells[t][p]
            assert len(idx) == result.matrix[t, p] and np.all(np.diff(idx) > 0)
            assert np.all(y[idx] == t) and np.all(result.predicted[idx] == p)
            seen.extend(idx.tolist())
    assert sorted(seen) == list(range(len(y)))
    assert result.probabilities.shape == (len(y), 3)
    np.testing.assert_allclose(result.recall, np.diag(result.matrix) / result.matrix.sum(axis=1))


def test_confusion_matrix_against_a_loop():
    rng = np.random.default_rng(8)
    labels, predicted = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    want = np.zeros((4, 4), int)
    for t, p in zip(labels, predicted, strict=True):
        want[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(labels, predicted, 4), want)
    with pytest.raises(ValueError, match="classes 0..3"):
        confusion_matrix([5], [0], 4)


def test_confusion_of_a_one_output_binary_model():
    spec = json.loads((resource_path("networks", "xor.json")).read_text())
    net = Network(spec)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    result = confusion(net, x, y)
    assert result.matrix.shape == (2, 2) and result.matrix.sum() == 4
    assert result.accuracy == pytest.approx(net.evaluate(x, y)["accuracy"])
    regression = Network(
        {"input_shape": [2], "layers": [{"type": "dense", "units": 1}], "loss": "mse", "task": "regression"}
    )
    with pytest.raises(ValueError, match="regression"):
        confusion(regression, x, y)
