"""Take a model beyond netcore and bring one back: ONNX, PyTorch (+ a torchrun script), NumPy.

Qt-free entry points for the command line and the window:

    export_model(model, "onnx" | "torch" | "numpy", out_path) -> list of files written
    import_model(path, arch=None) -> SavedModel        # .onnx or .safetensors
    missing_packages(format) -> (names, pip command)   # what to install first, if anything

``onnx`` and ``onnxruntime`` (ONNX) and ``safetensors`` (PyTorch export, safetensors import)
are an optional extra: ``pip install "netcore-studio[export]"``. PyTorch itself is needed only
to *run* the generated model.py and train.py, never to write or read them.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any, NamedTuple

from netcore.interop.metadata import InteropError, NeedsDesign
from netcore.serialization import SavedModel

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_TARGETS",
    "ExportTarget",
    "IMPORT_SUFFIXES",
    "InteropError",
    "NeedsDesign",
    "export_model",
    "import_model",
    "missing_packages",
]

EXPORT_FORMATS = ("onnx", "torch", "numpy")


class ExportTarget(NamedTuple):
    """What a save dialog needs for a format: a menu label, a file or a folder, the suffix."""

    label: str
    kind: str  # "file" or "folder"
    suffix: str


EXPORT_TARGETS: dict[str, ExportTarget] = {
    "onnx": ExportTarget("ONNX (ONNX Runtime, Netron)", "file", ".onnx"),
    "torch": ExportTarget("PyTorch (model.py, weights, train.py for torchrun)", "folder", ""),
    "numpy": ExportTarget("NumPy script (forward pass only)", "file", ".py"),
}
IMPORT_SUFFIXES = (".onnx", ".safetensors")
# format or file suffix -> the importable modules it needs (pip names are the same)
NEEDS: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx", "onnxruntime"),
    "torch": ("safetensors",),
    "numpy": (),
    ".onnx": ("onnx",),
    ".safetensors": ("safetensors",),
}
PIP_EXTRA = 'pip install "netcore-studio[export]"'


def missing_packages(what: str) -> tuple[list[str], str]:
    """(names of the packages ``what`` needs that are not installed, a pip command installing them).

    ``what`` is an export format ("onnx", "torch", "numpy") or an import suffix (".onnx",
    ".safetensors"). The command is empty when nothing is missing.
    """
    needs = NEEDS.get(what)
    if needs is None:
        raise InteropError(
            f"unknown format {what!r}; choose one of {', '.join(EXPORT_FORMATS + IMPORT_SUFFIXES)}"
        )
    missing = [name for name in needs if importlib.util.find_spec(name) is None]
    return missing, (f"pip install {' '.join(missing)}" if missing else "")


def _require(what: str) -> None:
    missing, command = missing_packages(what)
    if missing:
        raise InteropError(
            f"{what.lstrip('.')} needs {', '.join(missing)}: run `{command}` (or `{PIP_EXTRA}`)"
        )


def export_model(model: SavedModel, format: str, out_path: str | Path, data: str | None = None) -> list[Path]:
    """Write ``model`` in ``format``; returns the files written.

    onnx:  one .onnx file at ``out_path``.
    torch: a folder ``out_path`` with model.py, model.safetensors and train.py (and data.npz
           for a dataset netcore generates, such as xor).
    numpy: ``out_path`` (.py) and its weights ``<stem>_weights.npz`` beside it.
    ``data`` ("mnist", "csv:FILE", "idx:FOLDER") tells train.py where the training data is when
    the model records it by name only (CSV tables and IDX folders).
    Raises InteropError (one line) if a package is missing or the folder cannot be written.
    """
    if format not in EXPORT_FORMATS:
        raise InteropError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    _require(format)
    out = Path(out_path)
    parent = out.parent
    if not parent.is_dir():
        raise InteropError(f"cannot write {out}: folder {parent} does not exist")
    try:
        if format == "onnx":
            from netcore.interop.onnx_export import save_onnx

            save_onnx(model, out)
            return [out]
        if format == "numpy":
            from netcore.interop.numpy_export import save_numpy

            return save_numpy(model, out)
        return _export_torch(model, out, data)
    except OSError as exc:
        raise InteropError(f"cannot write {out}: {exc.strerror or exc}") from None


def _export_torch(model: SavedModel, folder: Path, data: str | None) -> list[Path]:
    import numpy as np
    from safetensors.numpy import save

    from netcore.files import atomic_write_bytes
    from netcore.interop.metadata import HEADER_KEY, header_json
    from netcore.interop.torch_export import model_source, torch_state_dict
    from netcore.interop.train_script import SYNTHETIC_DATA, render, training_config

    if folder.exists() and not folder.is_dir():
        raise InteropError(f"{folder} is a file; the torch export writes a folder (model.py, train.py, ...)")
    try:
        config = training_config(model, data)
    except ValueError as exc:
        raise InteropError(str(exc)) from None
    synthetic = None
    if config["data"]["kind"] == "npz":
        synthetic = _synthetic_arrays(config["data"]["name"], model.dataset)
    folder.mkdir(exist_ok=True)
    written = []
    note = " (raw features standardised by train.py)" if "mean" in model.preprocessing else ""
    files: dict[str, bytes] = {
        "model.py": model_source(model.network, model.class_names, note).encode("utf-8"),
        "model.safetensors": save(torch_state_dict(model.network), metadata={HEADER_KEY: header_json(model)}),
        "train.py": render(config).encode("utf-8"),
    }
    if synthetic is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **synthetic)
        files[SYNTHETIC_DATA] = buffer.getvalue()
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
        written.append(folder / name)
    return written


def _synthetic_arrays(name: str, options: dict[str, Any]) -> dict[str, Any]:
    from netcore.data.registry import load_dataset

    kwargs = {k: v for k, v in options.items() if k in ("n", "noise")}
    try:
        data = load_dataset(name, **kwargs)
    except ValueError as exc:
        raise InteropError(f"cannot make the training data {name!r} for train.py: {exc}") from None
    return {"x_train": data.x_train, "y_train": data.y_train, "x_test": data.x_test, "y_test": data.y_test}


def import_model(path: str | Path, arch: dict[str, Any] | str | Path | None = None) -> SavedModel:
    """A netcore model from an .onnx or .safetensors file (InteropError, one line, if it cannot be).

    ``arch`` (a spec dict or the path of a spec JSON) names the design the weights belong to;
    a safetensors file written by netcore or its train.py carries it in its metadata, and an
    ONNX graph describes itself (``arch`` then only confirms or renames it). Weights with no
    design raise ``NeedsDesign`` (an InteropError): ask for a spec file and call again with it.
    """
    from netcore.interop.importing import import_onnx, import_safetensors

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise InteropError(
            f"{path}: netcore imports {' and '.join(IMPORT_SUFFIXES)} files, not {suffix or 'this file'}"
        )
    if not path.is_file():
        raise InteropError(f"{path}: no such file")
    _require(suffix)
    spec = _read_arch(arch)
    if suffix == ".onnx":
        return import_onnx(path, spec)
    return import_safetensors(path, spec)


def _read_arch(arch: dict[str, Any] | str | Path | None) -> dict[str, Any] | None:
    if arch is None or isinstance(arch, dict):
        return arch
    from netcore.spec import SpecError, load_spec

    try:
        return load_spec(arch)
    except SpecError as exc:
        raise InteropError(str(exc)) from None
