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
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netcore.files import atomic_write_bytes, finite_or_none
from netcore.network import Network
from netcore.spec import SpecError, check_spec

FORMAT_NAME = "netcore-model"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"
MAX_HEADER_BYTES = 64 * 2**20  # JSON: spec, history, settings, preprocessing, class names
NPY_HEADER_ROOM = 65536  # what a .npy member may hold beyond its array's bytes
MAX_MODEL_ENV = "NETCORE_MAX_MODEL_MB"
DEFAULT_MAX_MODEL_MB = 2048
TASKS = ("classification", "regression")
HEADER_FIELDS = {
    "history": list,
    "settings": dict,
    "dataset": dict,
    "preprocessing": dict,
    "class_names": list,
    "extra": dict,
}
_KIND_NAMES = {list: "list", dict: "JSON object"}


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
    text = json.dumps(finite_or_none(header), allow_nan=False)  # always valid JSON: NaN -> null
    arrays[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise ModelFileError(
            f"could not save {path}: {exc.strerror or exc}; the previous file is unchanged"
        ) from None


def load_model(path: str | Path) -> SavedModel:
    """Read and validate a model file; ModelFileError with one clear line if anything is wrong.

    Reading is bounded before anything is inflated: the header member's declared size, the
    design's parameter count (against ``NETCORE_MAX_MODEL_MB``) and every weight member's
    declared size, dtype and shape against what the design needs.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        return _load(path)
    except ModelFileError:
        raise
    except MemoryError:
        raise ModelFileError(f"{path}: not enough memory to load this model") from None
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    except Exception as exc:  # zlib.error, EOFError, NotImplementedError (zip methods), ...
        raise ModelFileError(
            f"{path} is damaged or not a netcore model file ({type(exc).__name__}: {exc})"
        ) from None


def _load(path: Path) -> SavedModel:
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a netcore model file (not an .npz archive)")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is damaged or not a netcore model file ({exc})") from None
    with zf:
        members = {info.filename: info for info in zf.infolist()}
        info = members.pop(HEADER_KEY + ".npy", None)
        if info is None:
            raise ModelFileError(f"{path} is an .npz file but not a netcore model (no header)")
        if info.file_size > MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{path}: the header declares {info.file_size:,} bytes, more than the "
                f"{MAX_HEADER_BYTES:,} a model header may hold"
            )
        header = _read_header(path, _read_member(path, zf, info, None))
        declared = sum(member.file_size for member in members.values())
        network = _build(path, header, declared)
        expected = _expected_arrays(network)
        arrays = {}
        for name, info in members.items():
            key = name[:-4] if name.endswith(".npy") else name
            target = expected.get(key)
            if target is None:
                raise ModelFileError(f"{path} holds an array {key!r} the design does not have")
            arrays[key] = _read_member(path, zf, info, target)
    try:
        network.load_state_dict(arrays)
    except ValueError as exc:
        raise ModelFileError(f"{path} does not hold a valid model: {exc}") from None
    for key, value in arrays.items():
        if not np.isfinite(value).all():
            raise ModelFileError(f"{path} holds weights that are not finite numbers (in {key})")
    classes = header["class_names"]
    if network.is_classifier and classes and len(classes) != _num_classes(network):
        raise ModelFileError(
            f"{path}: class_names has {len(classes)} names but the network has {_num_classes(network)} classes"
        )
    return SavedModel(
        network=network,
        history=header["history"],
        settings=header["settings"],
        dataset=header["dataset"],
        preprocessing=header["preprocessing"],
        class_names=classes,
        extra=header["extra"],
    )


def _num_classes(network: Network) -> int:
    out = network.output_shape[0]
    return 2 if out == 1 else out


def max_model_bytes() -> int:
    """The largest weight payload ``load_model`` accepts (``NETCORE_MAX_MODEL_MB``, default 2048)."""
    return int(float(os.environ.get(MAX_MODEL_ENV) or DEFAULT_MAX_MODEL_MB) * 2**20)


def _build(path: Path, header: dict[str, Any], declared: int) -> Network:
    """The network of the header's spec, after checking its size (against the limit and the
    ``declared`` bytes of the file's weight members) without allocating it."""
    spec = header["spec"]
    dtype = np.dtype(header["dtype"])
    try:
        if isinstance(spec, dict) and spec.get("task", "classification") not in TASKS:
            raise SpecError(f"unknown task {spec.get('task')!r}; choose classification or regression")
        count = sum(info.num_params for info in check_spec(spec))
        if count * dtype.itemsize > max_model_bytes():
            raise ModelFileError(
                f"{path}: the design has {count:,} parameters ({count * dtype.itemsize / 2**20:,.0f} MB), "
                f"more than the {max_model_bytes() / 2**20:,.0f} MB limit (set {MAX_MODEL_ENV} to raise it)"
            )
        if count * dtype.itemsize > declared:
            raise ModelFileError(
                f"{path}: the design has {count:,} parameters but the file holds {declared:,} bytes of weights"
            )
        return Network(spec, dtype=dtype)
    except (SpecError, ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path} does not hold a valid model: spec: {exc}") from None


def _expected_arrays(network: Network) -> dict[str, np.ndarray]:
    return {
        f"{i}.{k}": v
        for i, layer in enumerate(network.layers)
        for k, v in {**layer.params, **layer.state}.items()
    }


def _read_member(
    path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: np.ndarray | None
) -> np.ndarray:
    """One .npy member, its declared size, dtype and shape checked before its data is read.

    ``target`` is the array the design has for it (None for the header: uint8, 1-D).
    """
    key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
    if target is not None and info.file_size > target.nbytes + NPY_HEADER_ROOM:
        raise ModelFileError(
            f"{path}: array {key!r} declares {info.file_size:,} bytes, the design needs {target.nbytes:,}"
        )
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read(f, max_header_size=NPY_HEADER_ROOM)
        except ValueError as exc:
            raise ModelFileError(f"{path}: array {key!r} is not a plain array ({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(f"{path} holds pickled objects, which netcore never loads")
        if target is None:
            ok = dtype == np.uint8 and len(shape) == 1
        else:
            ok = dtype.kind == "f" and dtype.itemsize in (4, 8) and tuple(shape) == target.shape
        if not ok:
            wanted = "uint8 bytes" if target is None else f"float of shape {target.shape}"
            raise ModelFileError(
                f"{path}: array {key!r} is {dtype} of shape {tuple(shape)}; expected {wanted}"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        data = f.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{path}: array {key!r} is truncated")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype.newbyteorder("="))  # a writable, native-endian copy


def _read_header(path: Path, raw: np.ndarray) -> dict[str, Any]:
    try:
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(f"{path} has a damaged header (not valid JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a netcore model file")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved by a newer netcore (format {version}); this version reads format "
            f"{FORMAT_VERSION}: please upgrade"
        )
    if "spec" not in header:
        raise ModelFileError(f"{path} has no network design in its header")
    if (where := non_finite_field(header)) is not None:
        raise ModelFileError(f"{path}: header field {where} is not a finite number")
    header.setdefault("dtype", "float32")
    if header["dtype"] not in ("float32", "float64"):
        raise ModelFileError(
            f"{path}: header field dtype is {header['dtype']!r}; expected float32 or float64"
        )
    for name, kind in HEADER_FIELDS.items():
        value = header.get(name)
        header[name] = value = kind() if value is None else value
        if not isinstance(value, kind):
            raise ModelFileError(
                f"{path}: header field {name} must be a {_KIND_NAMES[kind]}, got {type(value).__name__}"
            )
    if not all(isinstance(row, dict) for row in header["history"]):
        raise ModelFileError(f"{path}: header field history must be a list of objects (one per epoch)")
    if not all(isinstance(name, str) for name in header["class_names"]):
        raise ModelFileError(f"{path}: header field class_names must be a list of strings")
    return header


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def non_finite_field(value: Any, where: str = "") -> str | None:
    """The path ("spec.layers[1].eps") of the first non-finite float in ``value``, or None."""
    if isinstance(value, float):
        return where if not math.isfinite(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        sub = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else str(key)
        if (found := non_finite_field(item, sub)) is not None:
            return found
    return None
