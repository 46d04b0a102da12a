"""NumPy and safetensors exports, bad input and the command line (cases from test_interop)."""

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
from netcore.resources import resource_path
from netcore.serialization import SavedModel, load_model
from tests.netcore.test_interop import (
    CASES,
    DIGITS,
    EVERY_LAYER,
    ROOT,
    TEMPLATES,
    _write,
    close,
    inputs,
    load_case,
    randomised,
)

pytest.importorskip("onnx")
pytest.importorskip("safetensors")


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
    other = json.loads((resource_path("networks", "mnist_cnn_small.json")).read_text())
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
            str(resource_path("networks", "digits_cnn.json")),
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
    back = import_model(tmp_path / "plain.safetensors", arch=resource_path("networks", "digits_cnn.json"))
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
