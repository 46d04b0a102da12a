import numpy as np
import pytest

from netcore.inspect.gradcheck import numerical_grad, relative_error
from netcore.network import Network, format_summary
from netcore.resources import resource_path
from netcore.spec import SpecError, check_spec

MLP = {
    "input_shape": [5],
    "layers": [
        {"type": "dense", "units": 7, "activation": "tanh"},
        {"type": "dense", "units": 6, "activation": "leaky_relu"},
        {"type": "dense", "units": 3},
    ],
    "loss": "softmax_cross_entropy",
}


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse", "binary_cross_entropy"])
def test_whole_network_gradient(loss):
    net = Network({**MLP, "loss": loss}, seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    labels = rng.integers(0, 3, 4)
    target = net.loss.targets(labels, 3, np.float64)

    def value():
        return net.loss.forward(net.forward(x), target)

    value()
    net.backward(net.loss.backward())
    analytic = {k: g.copy() for k, g in net.named_grads().items()}
    for name, p in net.named_params().items():
        assert relative_error(analytic[name], numerical_grad(value, p)) < 1e-6, name


def test_parameters_live_in_one_flat_buffer():
    net = Network(MLP)
    assert net.num_params == 5 * 7 + 7 + 7 * 6 + 6 + 6 * 3 + 3
    net.flat_params[:] = 0.5
    assert np.all(net.layers[2].params["W"] == 0.5)
    assert set(net.named_params()) == {"0.W", "0.b", "1.W", "1.b", "2.W", "2.b"}


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = Network(MLP, seed=4), Network(MLP, seed=4), Network(MLP, seed=5)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert not np.array_equal(a.flat_params, c.flat_params)


def test_float32_by_default_and_float64_on_request():
    assert Network(MLP).flat_params.dtype == np.float32
    assert Network(MLP).predict(np.ones((2, 5))).dtype == np.float32
    assert Network(MLP, dtype=np.float64).predict(np.ones((2, 5))).dtype == np.float64


def test_shape_error_names_the_layer_and_the_fix():
    spec = {
        "input_shape": [8, 14, 14],
        "layers": [{"type": "relu"}, {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 10}],
    }
    with pytest.raises(
        SpecError, match=r"layer 3 \(dense\) needs a flat input but gets 8x14x14: insert a flatten"
    ) as info:
        check_spec(spec)
    assert info.value.layer_index == 2


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"layers": [{"type": "dense", "units": 2}]}, "no input_shape"),
        ({"input_shape": [3], "layers": []}, "non-empty list of layers"),
        ({"input_shape": [3], "layers": [{"type": "conv9"}]}, "layer 1 has unknown type 'conv9'"),
        ({"input_shape": [3], "layers": [{"type": "dense", "units": 0}]}, "units must be a positive integer"),
        ({"input_shape": [3], "layers": [{"type": "dense", "units": 2, "size": 3}]}, "unknown setting"),
        ({"input_shape": [3], "layers": [{"type": "dense"}]}, "missing setting"),
        (
            {"input_shape": [3], "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]},
            "applies the softmax itself",
        ),
        ({"input_shape": [3], "layers": [{"type": "dense", "units": 1}]}, "at least 2 classes"),
        ({"input_shape": [3], "layers": [{"type": "dense", "units": 2}], "loss": "hinge"}, "unknown loss"),
        ({"input_shape": [-3], "layers": [{"type": "dense", "units": 2}]}, "positive integers"),
    ],
)
def test_bad_specs_are_explained(spec, message):
    with pytest.raises(SpecError, match=message):
        check_spec(spec)


def test_summary_lists_layers_shapes_and_counts():
    text = format_summary(MLP)
    assert "Dense(5 -> 7, tanh)" in text and "Dense(6 -> 3, linear)" in text
    assert "total parameters: 111" in text
    assert repr(Network(MLP)).startswith("Network(Dense(5 -> 7, tanh)")


def test_shipped_specs_build():
    import json

    folder = resource_path("networks")
    specs = sorted(folder.glob("*.json"))
    assert len(specs) >= 2
    for path in specs:
        Network(json.loads(path.read_text()))
