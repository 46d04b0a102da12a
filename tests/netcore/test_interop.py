"""Export to ONNX / safetensors / NumPy and import back, checked against netcore's own forward pass.

Every template in resources/networks/ (parametrised over the folder, so new templates are
covered) and the shipped digit model; weights and BatchNorm statistics are randomised so that
layouts and conventions (transposes, momentum, eps) are really exercised.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netcore.cli import main
from netcore.interop import InteropError, NeedsDesign, export_model, import_model, missing_packages
from netcore.network import Network
from netcore.serialization import SavedModel, load_model, save_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "resources" / "networks").glob("*.json"))
DIGITS = ROOT / "resources" / "models" / "digits.npz"
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


@pytest.mark.parametrize("case", CASES)
def test_numpy_file_scores_equal_netcore(case, tmp_path):
    model = load_case(case)
    written = export_model(model, "numpy", tmp_path / "forward.py")
    assert [p.name for p in written] == ["forward.py", "forward_weights.npz"]
    source = (tmp_path / "forward.py").read_text()
    assert "netcore" not in "".join(line for line in source.splitlines() if "import" in line)
    spec = importlib.util.spec_from_file_location(f"forward_{case.stem}", tmp_path / "forward.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for n in (1, 64):
        x = inputs(model, n)
        close(module.forward(x), model.network.predict(x))


def test_numpy_file_runs_alone(tmp_path):
    """In a fresh interpreter that cannot see netcore (isolated mode, another folder)."""
    model = load_model(DIGITS)
    export_model(model, "numpy", tmp_path / "digits.py")
    x = inputs(model, 3)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "digits.py"), str(tmp_path / "x.npy")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    predicted = [line.split()[0] for line in result.stdout.splitlines()]
    assert predicted == [str(k) for k in model.network.predict(x).argmax(1)]


def test_every_layer_numpy_and_safetensors(tmp_path):
    model = randomised(SavedModel(Network(EVERY_LAYER, seed=2)))
    x = inputs(model, 8)
    export_model(model, "numpy", tmp_path / "every.py")
    spec = importlib.util.spec_from_file_location("every", tmp_path / "every.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    close(module.forward(x), model.network.predict(x))
    export_model(model, "torch", tmp_path / "t")
    back = import_model(tmp_path / "t" / "model.safetensors")
    np.testing.assert_array_equal(back.network.predict(x), model.network.predict(x))


# ------------------------------------------------------------------------------- bad input
def unsupported_graph(path: Path) -> None:
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Erf", ["r"], ["y"], name="the_erf")]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
    )
    proto = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(proto.SerializeToString())


def run_cli(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_unsupported_operator_is_named_and_nothing_is_written(tmp_path, capsys):
    unsupported_graph(tmp_path / "erf.onnx")
    code, _, err = run_cli(["import", str(tmp_path / "erf.onnx"), "--out", str(tmp_path / "m.npz")], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "unsupported ONNX operator Erf" in err
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("kind", ["onnx", "safetensors"])
def test_truncated_file_is_one_line_and_nothing_is_written(kind, tmp_path, capsys):
    model = load_model(DIGITS)
    if kind == "onnx":
        export_model(model, "onnx", tmp_path / "full.onnx")
        full = (tmp_path / "full.onnx").read_bytes()
    else:
        export_model(model, "torch", tmp_path / "t")
        full = (tmp_path / "t" / "model.safetensors").read_bytes()
    for cut in (len(full) // 2, 5, 0):
        bad = tmp_path / f"cut.{kind}"
        bad.write_bytes(full[:cut])
        code, _, err = run_cli(["import", str(bad), "--out", str(tmp_path / "m.npz")], capsys)
        assert code == 2, cut
        assert len(err.strip().splitlines()) == 1 and "damaged" in err, err
        assert not (tmp_path / "m.npz").exists()


def test_safetensors_that_do_not_fit_the_design(tmp_path, capsys):
    from safetensors.numpy import load_file, save_file

    model = load_model(DIGITS)
    export_model(model, "torch", tmp_path / "t")
    tensors = load_file(tmp_path / "t" / "model.safetensors")
    # the weights of another design
    other = json.loads((ROOT / "resources/networks/mnist_cnn_small.json").read_text())
    _write(tmp_path / "small.json", other)
    out = tmp_path / "m.npz"
    code, _, err = run_cli(
        [
            "import",
            str(tmp_path / "t/model.safetensors"),
            "--arch",
            str(tmp_path / "small.json"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "does not fit the design" in err and len(err.strip().splitlines()) == 1
    # a weight of the wrong shape
    tensors["fc6.weight"] = tensors["fc6.weight"][:, :100].copy()
    save_file(tensors, tmp_path / "wrong.safetensors")
    code, _, err = run_cli(
        [
            "import",
            str(tmp_path / "wrong.safetensors"),
            "--arch",
            str(ROOT / "resources/networks/digits_cnn.json"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "fc6.weight has shape (128, 100)" in err
    # no design at all: neither embedded nor given
    code, _, err = run_cli(["import", str(tmp_path / "wrong.safetensors"), "--out", str(out)], capsys)
    assert code == 2 and "--arch" in err
    with pytest.raises(NeedsDesign):  # what the window catches to ask for a spec file
        import_model(tmp_path / "wrong.safetensors")
    assert not out.exists()


def test_safetensors_with_the_design_given(tmp_path):
    from safetensors.numpy import load_file, save_file

    model = load_model(DIGITS)
    export_model(model, "torch", tmp_path / "t")
    save_file(load_file(tmp_path / "t" / "model.safetensors"), tmp_path / "plain.safetensors")  # no metadata
    back = import_model(tmp_path / "plain.safetensors", arch=ROOT / "resources/networks/digits_cnn.json")
    x = inputs(model, 16)
    np.testing.assert_array_equal(back.network.predict(x), model.network.predict(x))
    assert back.class_names == [str(k) for k in range(10)]


def test_export_cli_and_its_errors(tmp_path, capsys):
    code, out, _ = run_cli(
        ["export", str(DIGITS), "--format", "onnx", "--out", str(tmp_path / "d.onnx")], capsys
    )
    assert code == 0 and "Netron" in out and (tmp_path / "d.onnx").is_file()
    code, out, _ = run_cli(
        ["export", str(TEMPLATES[0]), "--format", "torch", "--out", str(tmp_path / "t")], capsys
    )
    assert code == 0 and {p.name for p in (tmp_path / "t").iterdir()} >= {
        "model.py",
        "model.safetensors",
        "train.py",
    }
    code, _, err = run_cli(
        ["export", str(DIGITS), "--format", "onnx", "--out", str(tmp_path / "no" / "d.onnx")], capsys
    )
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(
        ["import", str(tmp_path / "d.onnx"), "--out", str(tmp_path / "no" / "m.npz")], capsys
    )
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(["import", str(DIGITS), "--out", str(tmp_path / "m.npz")], capsys)
    assert code == 2 and ".onnx and .safetensors" in err


def test_missing_packages_names_the_pip_command(monkeypatch):
    import importlib.util as util

    assert missing_packages("numpy") == ([], "")
    assert missing_packages("onnx") == ([], "")
    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    assert missing_packages("onnx") == (["onnxruntime"], "pip install onnxruntime")
    with pytest.raises(InteropError, match="pip install onnxruntime"):
        export_model(load_model(DIGITS), "onnx", "unused.onnx")
    with pytest.raises(InteropError, match="unknown format"):
        missing_packages("tflite")


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


@pytest.mark.parametrize("variant", sorted(LOSS_VARIANTS))
def test_every_loss_exports_its_scores_and_probabilities(variant, tmp_path):
    loss, k, extra = LOSS_VARIANTS[variant]
    spec = {
        "name": variant,
        "input_shape": [5],
        "loss": loss,
        **extra,
        "layers": [{"type": "dense", "units": 6, "activation": "tanh"}, {"type": "dense", "units": k}],
    }
    model = randomised(SavedModel(Network(spec, seed=4)))
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


def test_importing_the_entry_points_loads_no_heavy_or_qt_module():
    """The window and the command line import netcore.interop freely: onnx, torch and Qt stay out."""
    code = (
        "import sys, netcore.interop, netcore.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'onnx', 'onnxruntime', 'torch', 'safetensors', 'PySide6'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
