"""IDX reading and writing: round trips, gzip detection, and refusals of damaged files."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from netcore.data import idx
from netcore.data.dataset import DataError
from netcore.data.idx import encode_idx, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def sample(dtype, shape=(5, 3, 4)) -> np.ndarray:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.normal(0, 1e3, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    a = sample(dtype)
    path = write_idx(tmp_path / f"a-idx3{suffix}", a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative
    assert b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    b[0] = 0  # the result is an ordinary writable array


def test_header_layout_is_big_endian(tmp_path):
    a = np.array([[1, 2, 3], [4, 5, 256]], dtype=np.int16)
    data = encode_idx(a)
    assert data[:4] == bytes([0, 0, 0x0B, 2])
    assert data[4:12] == bytes([0, 0, 0, 2, 0, 0, 0, 3])
    assert data[12:14] == b"\x00\x01" and data[-2:] == b"\x01\x00"
    assert len(data) == 12 + 6 * 2


def test_gzip_is_detected_by_content_not_name(tmp_path):
    a = sample(np.uint8, (7, 28))
    gz_without_suffix = tmp_path / "plain-name"
    gz_without_suffix.write_bytes(gzip.compress(encode_idx(a)))
    raw_with_suffix = tmp_path / "raw.gz"
    raw_with_suffix.write_bytes(encode_idx(a))
    np.testing.assert_array_equal(read_idx(gz_without_suffix), a)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), a)


def test_one_dimensional_labels(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "labels-idx1-ubyte", labels)), labels)


def error_for(tmp_path, data: bytes, name="broken-idx3-ubyte") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert name in message, "the message names the file"
    assert "\n" not in message, "one line"
    return message


def test_truncated_payload(tmp_path):
    data = encode_idx(sample(np.uint8))
    assert "truncated" in error_for(tmp_path, data[:-1])


def test_truncated_header(tmp_path):
    data = encode_idx(sample(np.uint8))
    assert "truncated IDX header" in error_for(tmp_path, data[:9])


def test_oversized_payload(tmp_path):
    data = encode_idx(sample(np.float32))
    assert "4 unexpected bytes" in error_for(tmp_path, data + b"\0\0\0\0")


def test_truncated_gzip(tmp_path):
    data = gzip.compress(encode_idx(sample(np.uint8, (50, 28, 28))))
    assert "truncated gzip" in error_for(tmp_path, data[: len(data) // 2], "x.gz")


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(encode_idx(sample(np.uint8, (50, 28, 28)))))
    data[20:40] = b"\xff" * 20
    assert "gzip" in error_for(tmp_path, bytes(data), "x.gz")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not an IDX file"),
        (b"label,x\n1,2\n", "not an IDX file"),
        (b"", "not an IDX file"),
        (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "unknown type code 0x07"),
        (bytes([0, 0, 0x08, 0]), "0 dimensions"),
    ],
)
def test_foreign_files(tmp_path, data, expected):
    assert expected in error_for(tmp_path, data)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.*not found"):
        read_idx(tmp_path / "nope")


def test_write_rejects_types_idx_cannot_hold(tmp_path):
    with pytest.raises(DataError, match="int64"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))
    with pytest.raises(DataError, match="dimensions"):
        write_idx(tmp_path / "a", np.float32(1.0))
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "digits-idx3-ubyte.gz", np.ones((2, 2), dtype=np.uint8))
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.zeros((3, 3), dtype=np.uint8))
    assert path.read_bytes() == before, "the old file is untouched"
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file is left"


def test_write_overwrites(tmp_path):
    path = tmp_path / "a-idx1-ubyte"
    write_idx(path, np.zeros(4, dtype=np.uint8))
    write_idx(path, np.arange(6, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.arange(6))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_gzip_output_is_reproducible(tmp_path):
    a = sample(np.uint8)
    one = write_idx(tmp_path / "one.gz", a).read_bytes()
    two = write_idx(tmp_path / "two.gz", a).read_bytes()
    assert one == two


def test_dtype_table_matches_the_format():
    assert {code: dt.str for code, dt in idx.IDX_DTYPES.items()} == {
        0x08: "|u1", 0x09: "|i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
    }  # fmt: skip


# -- budgets before the work (issue 10) ------------------------------------------------------


def test_a_gzip_bomb_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    import tracemalloc

    header = bytes([0, 0, 0x08, 3]) + np.asarray([2000, 100, 100], ">u4").tobytes()  # 20 MB of zeros
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header + bytes(20_000_000)))
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("NETCORE_MAX_IDX_MB", "5")
    tracemalloc.start()
    with pytest.raises(DataError, match=r"shape \(2000, 100, 100\).*NETCORE_MAX_IDX_MB"):
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000, f"peak {peak:,} bytes: the payload was inflated"
    monkeypatch.setenv("NETCORE_MAX_IDX_MB", "50")
    assert read_idx(path).shape == (2000, 100, 100), "within the limit it loads"


def test_a_raw_header_declaring_more_than_the_file_holds_is_refused_unread(tmp_path):
    header = bytes([0, 0, 0x0D, 2]) + np.asarray([2**31, 2**20], ">u4").tobytes()
    assert "limit" in error_for(tmp_path, header + b"\0" * 16)
    small = bytes([0, 0, 0x08, 1]) + np.asarray([1000], ">u4").tobytes()
    assert "truncated" in error_for(tmp_path, small + b"\0" * 10)


def test_float_images_with_nan_are_refused(tmp_path):
    from netcore.data.mnist import FILES, load_idx_folder

    images = np.zeros((4, 2, 2), np.float32)
    images[2, 1, 1] = np.nan
    labels = np.arange(4, dtype=np.uint8)
    for name in FILES:
        write_idx(tmp_path / name, images if "images" in name else labels)
    with pytest.raises(DataError, match="not finite"):
        load_idx_folder(tmp_path)
