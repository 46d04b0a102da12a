"""IDX files: the array format of MNIST and its relatives.

Layout (all integers big-endian)::

    0x00 0x00 <type> <ndim>   magic
    ndim x uint32             dimension sizes
    payload                   prod(dims) items of <type>, row-major

A file may be gzipped; that is detected from its first two bytes (1f 8b), not its name.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from netcore.data.dataset import DataError
from netcore.files import atomic_write_bytes

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}


MAX_MB_ENV = "NETCORE_MAX_IDX_MB"
DEFAULT_MAX_MB = 2048  # MNIST's largest file is 45 MB


def max_payload_bytes() -> int:
    """The largest array ``read_idx`` accepts (``NETCORE_MAX_IDX_MB``, default 2048 MB)."""
    return int(float(os.environ.get(MAX_MB_ENV) or DEFAULT_MAX_MB) * 2**20)


def _parse_header(data: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, dims, header length) from the first bytes of an IDX file."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{source}: not an IDX file (starts with {data[:4].hex(' ') or 'nothing'})")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{source}: not an IDX file (unknown type code 0x{code:02X})")
    if ndim == 0:
        raise DataError(f"{source}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated IDX header ({len(data)} bytes, {ndim} dims need {header})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    return IDX_DTYPES[code], dims, header


def _check_payload(source: str, dims: tuple[int, ...], expected: int, found: int, more: bool = False) -> None:
    if found < expected:
        raise DataError(
            f"{source}: truncated IDX file: shape {dims} needs {expected} payload bytes, found {found}"
        )
    if found > expected:
        extra = f"{found - expected}{' or more' if more else ''}"
        raise DataError(f"{source}: IDX file has {extra} unexpected bytes after the {dims} payload")


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into a native-endian, writable array; ``source`` names the file in errors."""
    dtype, dims, header = _parse_header(data, source)
    expected = math.prod(dims) * dtype.itemsize
    _check_payload(source, dims, expected, len(data) - header)
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    # astype copies: the result is native-endian and writable (frombuffer over bytes is read-only).
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a NumPy array of its declared type and shape.

    The header's declared size is checked against ``NETCORE_MAX_IDX_MB`` (and, for a raw
    file, against the file's size) before the payload is read or inflated, so a gzip bomb
    costs what its header claims, not what it would inflate to.
    """
    path, source = Path(path), str(path)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
            head = stream.read(4)
            if len(head) == 4 and head[:2] == b"\0\0" and head[2] in IDX_DTYPES:
                head += stream.read(4 * head[3])
            dtype, dims, header = _parse_header(head, source)
            expected = math.prod(dims) * dtype.itemsize
            if expected > max_payload_bytes():
                raise DataError(
                    f"{source}: the IDX header declares shape {dims} ({expected / 2**20:,.0f} MB), more than "
                    f"the {max_payload_bytes() / 2**20:,.0f} MB limit (set {MAX_MB_ENV} to raise it)"
                )
            if not gzipped:
                _check_payload(source, dims, expected, path.stat().st_size - header)
            payload = stream.read(expected)
            tail = stream.read(65536)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (download it again)") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    _check_payload(source, dims, expected, len(payload) + len(tail), more=len(tail) == 65536)
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (dtype uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(dt.newbyteorder("=").name for dt in IDX_DTYPES.values())
        raise DataError(f"cannot store dtype {array.dtype} in IDX; convert to one of {names}")
    if not 1 <= array.ndim <= 255:
        raise DataError(f"IDX needs an array with 1 to 255 dimensions, got shape {array.shape}")
    if max(array.shape) >= 2**32:
        raise DataError(f"IDX dimension sizes must fit in 32 bits, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, compresslevel: int = 6) -> Path:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``.

    Atomic: the bytes go to a temporary file in the same folder that then replaces ``path``,
    so a reader never sees a half-written file.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        # mtime=0 keeps the output reproducible (same array -> same bytes).
        data = gzip.compress(data, compresslevel=compresslevel, mtime=0)
    atomic_write_bytes(path, data)
    return path
