"""Mutated model files, specs, CSV tables and IDX files thrown at the loaders.

Each input either loads or raises the library's own error (ModelFileError, DataError), within
a memory budget. Hypothesis runs derandomized (the same examples every run, so nothing flakes)
with a bounded number of examples.
"""

from __future__ import annotations

import io
import json
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netcore.data.csv import load_csv
from netcore.data.dataset import DataError
from netcore.data.idx import encode_idx, read_idx
from netcore.network import Network
from netcore.serialization import ModelFileError, SavedModel, load_model, save_model

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
MEMORY_BUDGET = 64 * 2**20  # bytes any one example may allocate at its peak

SPEC = {
    "input_shape": [1, 6, 6],
    "layers": [
        {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "batchnorm"},
        {"type": "maxpool2d", "pool_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
}
_FOLDER = Path(tempfile.mkdtemp(prefix="netcore-fuzz-"))


def _model_bytes() -> bytes:
    path = _FOLDER / "base.npz"
    save_model(
        SavedModel(Network(SPEC, seed=1), history=[{"epoch": 1, "loss": 0.5}], class_names=list("abc")), path
    )
    return path.read_bytes()


BASE = _model_bytes()


def teardown_module():
    for path in _FOLDER.iterdir():
        path.unlink()
    _FOLDER.rmdir()


def within_budget(load, *errors):
    """Run ``load()``; it must return or raise one of ``errors``, and stay in the memory budget."""
    tracemalloc.start()
    try:
        load()
    except errors:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET, f"peak {peak:,} bytes"


def _load_bytes(data: bytes):
    path = _FOLDER / "fuzzed.npz"
    path.write_bytes(data)
    return lambda: load_model(path)


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, len(BASE))),
    insert=st.one_of(st.none(), st.tuples(st.integers(0, len(BASE)), st.binary(max_size=64))),
)
def test_mutated_model_bytes_load_or_raise_model_file_error(flips, cut, insert):
    data = bytearray(BASE)
    for position, mask in flips:
        data[position] ^= mask
    if insert is not None:
        data[insert[0] : insert[0]] = insert[1]
    if cut is not None:
        data = data[:cut]
    within_budget(_load_bytes(bytes(data)), ModelFileError)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
HEADER_KEYS = [
    "format",
    "version",
    "spec",
    "dtype",
    "history",
    "settings",
    "dataset",
    "preprocessing",
    "class_names",
    "extra",
]
SPEC_PATHS = [
    ("input_shape",),
    ("layers",),
    ("loss",),
    ("task",),
    ("layers", 0, "filters"),
    ("layers", 0, "kernel_size"),
    ("layers", 0, "padding"),
    ("layers", 1, "eps"),
    ("layers", 1, "momentum"),
    ("layers", 2, "pool_size"),
    ("layers", 4, "units"),
    ("layers", 4, "activation"),
    ("layers", 4, "type"),
]


def _repack(header: dict, arrays: dict[str, bytes] | None = None) -> bytes:
    with zipfile.ZipFile(io.BytesIO(BASE)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members.update(arrays or {})
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), np.uint8))
    members["__header__.npy"] = buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _base_header() -> dict:
    with np.load(io.BytesIO(BASE)) as npz:
        return json.loads(npz["__header__"].tobytes())


@FUZZ
@given(key=st.sampled_from(HEADER_KEYS), value=JSON)
def test_mutated_header_fields_load_or_raise_model_file_error(key, value):
    header = _base_header()
    header[key] = value
    within_budget(_load_bytes(_repack(header)), ModelFileError)


@FUZZ
@given(
    path=st.sampled_from(SPEC_PATHS),
    value=JSON | st.integers(-5, 10**9) | st.sampled_from(["dense", "conv2d", "relu", "same", "valid"]),
)
def test_mutated_specs_load_or_raise_model_file_error(path, value):
    header = _base_header()
    node = header["spec"]
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    within_budget(_load_bytes(_repack(header)), ModelFileError)


@FUZZ
@given(
    name=st.sampled_from(["0.W", "0.b", "1.running_var", "4.W", "9.W"]),
    shape=st.lists(st.integers(0, 70), min_size=0, max_size=3),
    dtype=st.sampled_from(["<f4", ">f8", "<f2", "<i4", "|u1", "|b1", "<c8"]),
)
def test_weight_members_of_any_shape_and_dtype_load_or_raise(name, shape, dtype):
    buffer = io.BytesIO()
    np.save(buffer, np.ones(shape, dtype=dtype))
    within_budget(_load_bytes(_repack(_base_header(), {f"{name}.npy": buffer.getvalue()})), ModelFileError)


CELLS = st.one_of(
    st.sampled_from(["0", "1", "-2.5", "1e3", "1e39", "nan", "inf", "", " ", "x", '"a,b"', "2.0", "3"]),
    st.text(alphabet='0123456789.,;-+e "\tabn', max_size=6),
)


@FUZZ
@given(
    header=st.lists(st.sampled_from(["a", "b", "c", "label", "a", "1"]), min_size=0, max_size=4),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=12),
    blank=st.booleans(),
)
def test_mutated_csv_tables_load_or_raise_data_error(header, rows, blank):
    lines = [",".join(header)] + [",".join(row) for row in rows]
    if blank:
        lines.insert(len(lines) // 2, "")
    path = _FOLDER / "fuzzed.csv"
    path.write_text("\n".join(lines) + "\n")
    within_budget(lambda: load_csv(path), DataError)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_as_csv_load_or_raise_data_error(data):
    path = _FOLDER / "bytes.csv"
    path.write_bytes(b"a,b,label\n" + data)
    within_budget(lambda: load_csv(path), DataError)


IDX_BASE = encode_idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, len(IDX_BASE) - 1), st.integers(1, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, len(IDX_BASE))),
    gz=st.booleans(),
)
def test_mutated_idx_files_load_or_raise_data_error(flips, cut, gz):
    import gzip

    data = bytearray(IDX_BASE)
    for position, mask in flips:
        data[position] ^= mask
    if cut is not None:
        data = data[:cut]
    path = _FOLDER / "fuzzed-idx3-ubyte"
    path.write_bytes(gzip.compress(bytes(data)) if gz else bytes(data))
    within_budget(lambda: read_idx(path), DataError)


@pytest.fixture(autouse=True, scope="module")
def _small_limits():
    """Limits below the memory budget, so that what they admit fits in it."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("NETCORE_MAX_MODEL_MB", "NETCORE_MAX_IDX_MB", "NETCORE_MAX_CSV_MB"):
            mp.setenv(name, "8")
        yield
