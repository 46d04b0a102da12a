"""Export to ONNX / safetensors / NumPy and import back, checked against netcore's own forward pass.

Every template in resources/networks/ (parametrised over the folder, so new templates are
covered) and the shipped digit model; weights and BatchNorm statistics are randomised so that
layouts and conventions (transposes, momentum, eps) are really exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netcore.cli import main
from netcore.interop import InteropError, export_model, import_model
from netcore.network import Network
from netcore.resources import resource_path
from netcore.serialization import SavedModel, load_model, save_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(resource_path("networks").glob("*.json"))
DIGITS = resource_path("models", "digits.npz")
CASES = [pytest.param(p, id=p.stem) for p in TEMPLATES] + [pytest.param(DIGITS, id="digits.npz")]

# Every layer type and setting the engine has, in one design.
EVERY_LAYER = {
    "name": "every_layer",
    "input_shape": [3, 13, 11],
    "layers": [
        {
            "type": "conv2d",
            "filters": 4,
            "kernel_size": 3,
            "stride": 2,
            "padding": "same",
            "activation": "leaky_relu",
        },
        {"type": "batchnorm", "momentum": 0.8, "eps": 1e-3},
        {"type": "conv2d", "filters": 5, "kernel_size": [2, 3], "padding": 1, "activation": "tanh"},
        {"type": "avgpool2d", "pool_size": 2, "stride": 1},
        {"type": "maxpool2d", "pool_size": [2, 3], "stride": [1, 2]},
        {"type": "leaky_relu", "alpha": 0.2},
        {"type": "reshape", "shape": [5, 12]},
        {"type": "softmax"},
        {"type": "flatten"},
        {"type": "dense", "units": 12, "activation": "sigmoid"},
        {"type": "batchnorm"},
        {"type": "dropout", "rate": 0.5},
        {"type": "tanh"},
        {"type": "relu"},
        {"type": "sigmoid"},
        {"type": "linear"},
        {"type": "dense", "units": 4},
    ],
    "loss": "softmax_cross_entropy",
}


def randomised(model: SavedModel, seed: int = 0) -> SavedModel:
    """The model with every weight and running statistic drawn at random (kept plausible)."""
    rng = np.random.default_rng(seed)
    for layer in model.network.layers:
        for key, value in {**layer.params, **layer.state}.items():
            if key == "running_var":
                value[...] = rng.uniform(0.5, 2.0, value.shape)
            elif key == "gamma":
                value[...] = rng.uniform(0.5, 1.5, value.shape)
            elif key == "W":  # another draw of the same size as the initialisation
                value[...] = rng.normal(0, value.std() or 0.1, value.shape)
            else:
                value[...] = rng.normal(0, 0.1, value.shape)
    return model


def load_case(path: Path) -> SavedModel:
    if path.suffix == ".npz":
        return load_model(path)
    return randomised(SavedModel(Network(json.loads(path.read_text()), seed=3)))


def inputs(model: SavedModel, n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *model.network.input_shape), dtype=np.float32)


def close(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal within rtol 1e-4; near-zero entries within 1e-5 of the largest score (float32 sums
    taken in another order differ by that much)."""
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def ort_session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def check_onnx_parity(model: SavedModel, path: Path) -> None:
    session = ort_session(path)
    name = session.get_inputs()[0].name
    for n in (1, 64):
        x = inputs(model, n)
        outputs = session.run(None, {name: x})
        close(outputs[0], model.network.predict(x))
        if model.network.is_classifier:
            np.testing.assert_allclose(outputs[1], model.network.predict_proba(x), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_onnx_runtime_scores_equal_netcore(case, tmp_path):
    model = load_case(case)
    export_model(model, "onnx", tmp_path / "m.onnx")
    check_onnx_parity(model, tmp_path / "m.onnx")


def test_every_layer_type_exports_to_onnx(tmp_path):
    model = randomised(SavedModel(Network(EVERY_LAYER, seed=2)))
    export_model(model, "onnx", tmp_path / "m.onnx")
    check_onnx_parity(model, tmp_path / "m.onnx")
    ops = [n.op_type for n in onnx.load(tmp_path / "m.onnx").graph.node]
    assert "Dropout" not in ops
    for op in (
        "Conv",
        "BatchNormalization",
        "AveragePool",
        "MaxPool",
        "LeakyRelu",
        "Tanh",
        "Reshape",
        "Softmax",
    ):
        assert op in ops


def test_onnx_file_is_pinned_shaped_and_described(tmp_path):
    model = load_model(DIGITS)
    export_model(model, "onnx", tmp_path / "d.onnx")
    proto = onnx.load(tmp_path / "d.onnx")
    assert proto.ir_version == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert [o.name for o in proto.graph.output] == ["scores", "probabilities"]
    # shapes of the intermediate values are stored (Netron shows them)
    assert len(proto.graph.value_info) >= len(proto.graph.node) - 3
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == [str(k) for k in range(10)]
    assert json.loads(meta["input_shape"]) == [1, 28, 28]


def csv_model(tmp_path: Path) -> tuple[SavedModel, Path]:
    rng = np.random.default_rng(0)
    x = rng.normal([50.0, -3.0, 1000.0], [10.0, 1.0, 200.0], size=(120, 3))
    y = (x[:, 0] / 10 + x[:, 1] > 2).astype(int)
    path = tmp_path / "table.csv"
    rows = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{k}" for (a, b, c), k in zip(x, y, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    spec = {
        "name": "table",
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 5, "activation": "relu"}, {"type": "dense", "units": 2}],
    }
    out = tmp_path / "table.npz"
    assert (
        main(
            [
                "train",
                "--arch",
                str(_write(tmp_path / "s.json", spec)),
                "--dataset",
                f"csv:{path}",
                "--epochs",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return load_model(out), path


def _write(path: Path, spec: dict) -> Path:
    path.write_text(json.dumps(spec))
    return path


def test_csv_model_takes_raw_features_in_onnx(tmp_path, capsys):
    from netcore.data.registry import load_dataset
    from netcore.data.split import apply_standardization

    model, csv_path = csv_model(tmp_path)
    export_model(model, "onnx", tmp_path / "t.onnx")
    proto = onnx.load(tmp_path / "t.onnx")
    assert [n.op_type for n in proto.graph.node][:2] == ["Sub", "Div"]
    raw = np.array([[55.0, -2.5, 900.0], [40.0, -4.0, 1200.0]], dtype=np.float32)
    got = ort_session(tmp_path / "t.onnx").run(None, {"features": raw})[0]
    expected = model.network.predict(apply_standardization(raw, model.preprocessing))
    close(got, expected)
    # and back: the standardisation survives the round trip
    back = import_model(tmp_path / "t.onnx")
    assert np.allclose(back.preprocessing["mean"], model.preprocessing["mean"])
    data = load_dataset(f"csv:{csv_path}")
    assert np.array_equal(
        back.network.predict(data.x_test).argmax(1), model.network.predict(data.x_test).argmax(1)
    )


@pytest.mark.parametrize("case", CASES)
def test_round_trips_give_identical_predictions(case, tmp_path):
    model = load_case(case)
    x = inputs(model, 64)
    expected = model.network.predict(x)
    export_model(model, "onnx", tmp_path / "m.onnx")
    from_onnx = import_model(tmp_path / "m.onnx")
    export_model(model, "torch", tmp_path / "torch")
    from_safetensors = import_model(tmp_path / "torch" / "model.safetensors")
    for back in (from_onnx, from_safetensors):
        assert back.network.spec["layers"] == model.network.spec["layers"]
        assert back.class_names == model.class_names or not model.class_names
        got = back.network.predict(x)
        np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # and it is a model file like any other
    save_model(from_onnx, tmp_path / "back.npz")
    assert load_model(tmp_path / "back.npz").history == model.history


def test_every_layer_onnx_round_trip_with_and_without_netcore_metadata(tmp_path):
    model = randomised(SavedModel(Network(EVERY_LAYER, seed=2)))
    x = inputs(model, 8)
    export_model(model, "onnx", tmp_path / "every.onnx")
    back = import_model(tmp_path / "every.onnx")
    assert back.network.spec["layers"] == EVERY_LAYER["layers"]  # dropout included: the header's design
    np.testing.assert_array_equal(back.network.predict(x), model.network.predict(x))
    # a graph with no netcore header is read from its nodes alone
    proto = onnx.load(tmp_path / "every.onnx")
    del proto.metadata_props[:]
    onnx.save(proto, tmp_path / "bare.onnx")
    bare = import_model(tmp_path / "bare.onnx")
    kinds = [layer["type"] for layer in bare.network.spec["layers"]]
    assert "dropout" not in kinds and kinds.count("batchnorm") == 2
    close(bare.network.predict(x), model.network.predict(x))


LOSS_VARIANTS = {
    "bce_one_output": ("binary_cross_entropy", 1, {}),
    "bce_three_outputs": ("binary_cross_entropy", 3, {}),
    "mse_classes": ("mse", 3, {}),
    "mse_one_output": ("mse", 1, {}),
    "regression": ("mse", 2, {"task": "regression"}),
}


def loss_variant_model(variant: str) -> SavedModel:
    """A small 5-6-k network with the loss of ``LOSS_VARIANTS[variant]``, randomised weights."""
    loss, k, extra = LOSS_VARIANTS[variant]
    spec = {
        "name": variant,
        "input_shape": [5],
        "loss": loss,
        **extra,
        "layers": [{"type": "dense", "units": 6, "activation": "tanh"}, {"type": "dense", "units": k}],
    }
    model = randomised(SavedModel(Network(spec, seed=4)))
    return model


@pytest.mark.parametrize("variant", sorted(LOSS_VARIANTS))
def test_every_loss_exports_its_scores_and_probabilities(variant, tmp_path):
    loss, k, extra = LOSS_VARIANTS[variant]
    model = loss_variant_model(variant)
    export_model(model, "onnx", tmp_path / "m.onnx")
    check_onnx_parity(model, tmp_path / "m.onnx")
    names = [o.name for o in onnx.load(tmp_path / "m.onnx").graph.output]
    assert names == (["scores"] if "task" in extra else ["scores", "probabilities"])
    back = import_model(tmp_path / "m.onnx")
    assert back.network.loss.name == loss and back.network.is_classifier == model.network.is_classifier
    x = inputs(model, 8)
    np.testing.assert_array_equal(back.network.predict(x), model.network.predict(x))


def small_graph(path: Path, nodes, inits: dict[str, np.ndarray], width: int = 4, out: int = 3) -> None:
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", out])],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    path.write_bytes(
        helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    )


def test_matmul_and_add_read_as_a_dense_layer(tmp_path):
    from onnx import helper

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["b", "h"], ["y"])]
    small_graph(tmp_path / "mm.onnx", nodes, {"w": w, "b": b})
    model = import_model(tmp_path / "mm.onnx")
    assert model.network.spec["layers"] == [{"type": "dense", "units": 3}]
    x = rng.random((5, 4), dtype=np.float32)
    close(model.network.predict(x), x @ w.astype(np.float32) + b.astype(np.float32))
    assert ort_session(tmp_path / "mm.onnx").run(None, {"x": x})[0].shape == (5, 3)


@pytest.mark.parametrize(
    "case, message",
    [
        ("weights_first", "single chain"),
        ("residual", "single chain"),
        ("late_sub", "not a feature standardisation"),
    ],
)
def test_graphs_that_are_not_a_chain_of_layers(case, message, tmp_path):
    from onnx import helper

    rng = np.random.default_rng(0)
    inits = {"w": rng.normal(size=(4, 4)), "v": rng.normal(size=(4, 3)), "c": np.ones(4)}
    nodes = {
        "weights_first": [
            helper.make_node("MatMul", ["w", "x"], ["h"]),
            helper.make_node("MatMul", ["h", "v"], ["y"]),
        ],
        "residual": [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Add", ["h", "x"], ["r"]),
            helper.make_node("MatMul", ["r", "v"], ["y"]),
        ],
        "late_sub": [
            helper.make_node("MatMul", ["x", "w"], ["h"]),
            helper.make_node("Sub", ["h", "c"], ["s"]),
            helper.make_node("MatMul", ["s", "v"], ["y"]),
        ],
    }[case]
    small_graph(tmp_path / "g.onnx", nodes, inits)
    with pytest.raises(InteropError, match=message):
        import_model(tmp_path / "g.onnx")
