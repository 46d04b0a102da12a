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


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (download it again)") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into a native-endian, writable array; ``source`` names the file in errors."""
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
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise DataError(
            f"{source}: truncated IDX file: shape {dims} needs {expected} payload bytes, found {found}"
        )
    if found > expected:
        raise DataError(
            f"{source}: IDX file has {found - expected} unexpected bytes after the {dims} payload"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    # astype copies: the result is native-endian and writable (frombuffer over bytes is read-only).
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a NumPy array of its declared type and shape."""
    return parse_idx(read_bytes(path), str(path))


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
