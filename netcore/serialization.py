"""Model files: one ``.npz`` holding the weights and a JSON header.

The header (stored as UTF-8 bytes under ``__header__``) carries the format
version, the spec, the training history and settings, the dataset and its
preprocessing, and the class names. Files are read with ``allow_pickle=False``
and written atomically (a temporary file in the same folder, then a rename),
so a failed save never damages the file it would have replaced.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netcore.files import atomic_write_bytes
from netcore.network import Network
from netcore.spec import SpecError

FORMAT_NAME = "netcore-model"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"


class ModelFileError(ValueError):
    """A model file that cannot be read or written; the message is for a person."""


@dataclass
class SavedModel:
    """A network with everything saved beside it."""

    network: Network
    history: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)  # {"name": ..., options}
    preprocessing: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def save_model(model: SavedModel, path: str | Path) -> None:
    """Save atomically; ModelFileError (old file untouched) if it cannot be written."""
    path = Path(path)
    net = model.network
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "spec": net.spec,
        "dtype": net.dtype.name,
        "history": model.history,
        "settings": model.settings,
        "dataset": model.dataset,
        "preprocessing": model.preprocessing,
        "class_names": model.class_names,
        "extra": model.extra,
    }
    arrays = net.state_dict()
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise ModelFileError(
            f"could not save {path}: {exc.strerror or exc}; the previous file is unchanged"
        ) from None


def load_model(path: str | Path) -> SavedModel:
    """Read and validate a model file; ModelFileError with one clear line if anything is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{path} is damaged or not a netcore model file ({exc})") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelFileError(f"{path} holds pickled objects, which netcore never loads") from None
        raise ModelFileError(f"{path} is not a netcore model file ({exc})") from None
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    header = _read_header(path, arrays.pop(HEADER_KEY, None))
    try:
        network = Network(header["spec"], dtype=np.dtype(header.get("dtype", "float32")))
        network.load_state_dict(arrays)
    except (SpecError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path} does not hold a valid model: {exc}") from None
    if not all(np.all(np.isfinite(a)) for a in arrays.values() if a.dtype.kind == "f"):
        raise ModelFileError(f"{path} holds weights that are not finite numbers")
    return SavedModel(
        network=network,
        history=list(header.get("history") or []),
        settings=dict(header.get("settings") or {}),
        dataset=dict(header.get("dataset") or {}),
        preprocessing=dict(header.get("preprocessing") or {}),
        class_names=[str(c) for c in header.get("class_names") or []],
        extra=dict(header.get("extra") or {}),
    )


def _read_header(path: Path, raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path} is an .npz file but not a netcore model (no header)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path} has a damaged header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a netcore model file")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved by a newer netcore (format {version}); this version reads format "
            f"{FORMAT_VERSION}: please upgrade"
        )
    if "spec" not in header:
        raise ModelFileError(f"{path} has no network design in its header")
    return header
