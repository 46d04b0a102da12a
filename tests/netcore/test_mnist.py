"""MNIST: the real files against known facts, and the downloader against a real local HTTP server.

The server (127.0.0.1, ephemeral port) serves small fake IDX files; the first path segment picks
how it misbehaves: good, corrupt (valid gzip, wrong content), garbage (not gzip), truncate
(Content-Length promised, half sent), cut (no Content-Length, half sent), stall (sends a few
bytes, then nothing), flaky (truncates the first request only), missing (404).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from netcore.data import mnist
from netcore.data.dataset import DataError
from netcore.data.idx import encode_idx, write_idx
from netcore.data.mnist import DownloadCancelled, ensure_mnist, load_idx_folder, load_mnist

# ------------------------------------------------------------------------------------ fake files

RNG = np.random.default_rng(0)
FAKE = {
    mnist.TRAIN_IMAGES: RNG.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
    mnist.TRAIN_LABELS: (np.arange(20) % 10).astype(np.uint8),
    mnist.TEST_IMAGES: RNG.integers(0, 256, size=(10, 28, 28), dtype=np.uint8),
    mnist.TEST_LABELS: np.arange(10, dtype=np.uint8)[::-1].copy(),
}
RAW = {name: encode_idx(a) for name, a in FAKE.items()}
GZ = {f"{name}.gz": gzip.compress(data, mtime=0) for name, data in RAW.items()}
# Same size, valid gzip, one flipped byte in the content: only the checksum can tell.
CORRUPT = {f"{name}.gz": gzip.compress(data[:-1] + bytes([data[-1] ^ 0xFF])) for name, data in RAW.items()}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        _, mode, name = self.path.split("/", 2)
        server.hits[mode] += 1
        server.hits[mode, name] += 1
        data = server.files.get(name)
        if data is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "corrupt":
            data = CORRUPT[name]
        elif mode == "garbage":
            data = b"<html>Service unavailable</html>" * 20
        elif mode == "flaky" and server.hits[mode, name] == 1:
            mode = "truncate"
        self.send_response(200)
        if mode != "cut":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode in ("truncate", "cut"):
            self.wfile.write(data[: len(data) // 2])
        elif mode == "stall":
            self.wfile.write(data[:10])
            self.wfile.flush()
            server.stalling.set()
            server.stop.wait(5)
            server.stalling.clear()
        else:
            server.hits["good while stalling"] += server.stalling.is_set()
            self.wfile.write(data)


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that time out leave broken pipes behind; that is the point


def start_server(files: dict[str, bytes]):
    server = Server(("127.0.0.1", 0), Handler)
    server.files, server.hits, server.stop = files, Counter(), threading.Event()
    server.stalling = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    server.url = lambda mode: f"http://127.0.0.1:{server.server_address[1]}/{mode}"
    return server, thread


def stop_server(server, thread):
    server.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(2)


@pytest.fixture(scope="module")
def http_server():
    server, thread = start_server(GZ)
    yield server
    stop_server(server, thread)


@pytest.fixture
def site(http_server, monkeypatch):
    """The server with fresh hit counts, and the checksum table of the fake files."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    checksums = {name: hashlib.sha256(data).hexdigest() for name, data in RAW.items()}
    monkeypatch.setattr(mnist, "SHA256", checksums)
    http_server.hits.clear()
    return http_server


@pytest.fixture
def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist"  # nothing listens here any more


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_loads_fake(root: Path):
    ds = load_mnist(root, download=False)
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(ds.x_train[:, 0], FAKE[mnist.TRAIN_IMAGES] / np.float32(255))
    np.testing.assert_array_equal(ds.y_test, FAKE[mnist.TEST_LABELS])


# -------------------------------------------------------------------------------------- download


def test_download_verifies_stores_and_reports_progress(site, tmp_path):
    calls = []
    folder = ensure_mnist(tmp_path, progress=lambda *a: calls.append(a), mirrors=[site.url("good")])
    assert folder == tmp_path / "mnist"
    assert files_in(folder) == sorted(GZ)
    for name, data in GZ.items():
        assert (folder / name).read_bytes() == data
        mine = [(done, total) for done, total, filename in calls if filename == name]
        assert mine[0] == (0, len(data)) and mine[-1] == (len(data), len(data))
        assert all(a[0] <= b[0] for a, b in zip(mine, mine[1:], strict=False))
    assert_loads_fake(tmp_path)


def test_present_files_are_not_downloaded_again(site, tmp_path):
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / mnist.TRAIN_IMAGES, FAKE[mnist.TRAIN_IMAGES])
    write_idx(tmp_path / "mnist" / f"{mnist.TEST_LABELS}.gz", FAKE[mnist.TEST_LABELS])
    ensure_mnist(tmp_path, mirrors=[site.url("good")])
    assert site.hits["good"] == 2
    assert (tmp_path / "mnist" / mnist.TRAIN_IMAGES).exists(), "the raw file stays as it is"
    assert not (tmp_path / "mnist" / f"{mnist.TRAIN_IMAGES}.gz").exists()
    assert_loads_fake(tmp_path)
    ensure_mnist(tmp_path, mirrors=["http://127.0.0.1:9/never-asked"])  # all there: no network


def test_unreachable_mirror_falls_through_and_is_skipped(site, tmp_path, closed_port_url, monkeypatch):
    opened = Counter()
    urlopen = mnist.urllib.request.urlopen

    def counting_urlopen(request, *args, **kwargs):
        opened[request.full_url.startswith(closed_port_url)] += 1
        return urlopen(request, *args, **kwargs)

    monkeypatch.setattr(mnist.urllib.request, "urlopen", counting_urlopen)
    ensure_mnist(tmp_path, mirrors=[closed_port_url, site.url("good")])
    assert opened[True] == 1, "a refused mirror is tried once, not retried, and skipped for the other files"
    assert site.hits["good"] == 4
    assert_loads_fake(tmp_path)


def test_checksum_mismatch_falls_back_to_next_mirror(site, tmp_path):
    ensure_mnist(tmp_path, mirrors=[site.url("corrupt"), site.url("good")])
    assert site.hits["corrupt"] == 4, "a wrong checksum is not retried on the same mirror"
    assert site.hits["good"] == 4
    assert_loads_fake(tmp_path)


@pytest.mark.parametrize(
    "mode, reason", [("corrupt", "checksum mismatch"), ("garbage", "not valid gzip"), ("missing", "HTTP 404")]
)
def test_bad_content_everywhere_raises_and_leaves_nothing(site, tmp_path, mode, reason):
    with pytest.raises(DataError) as info:
        ensure_mnist(tmp_path, mirrors=[site.url(mode)])
    message = str(info.value)
    assert reason in message and "offline" in message
    assert str(tmp_path / "mnist") in message, "says where to put the files"
    assert all(name in message for name in mnist.FILES)
    assert files_in(tmp_path / "mnist") == [], "no final name and no temporary file left"


@pytest.mark.parametrize("mode", ["truncate", "cut"])
def test_truncated_transfer_is_retried_then_refused(site, tmp_path, mode):
    with pytest.raises(DataError, match="truncated"):
        ensure_mnist(tmp_path, mirrors=[site.url(mode)], retries=2)
    assert site.hits[mode, f"{mnist.TRAIN_IMAGES}.gz"] == 3, "1 try + 2 retries"
    assert files_in(tmp_path / "mnist") == []


def test_retry_recovers_from_one_broken_transfer(site, tmp_path):
    ensure_mnist(tmp_path, mirrors=[site.url("flaky")], retries=1)
    assert site.hits["flaky"] == 8
    assert_loads_fake(tmp_path)


def test_truncating_mirror_falls_through_to_good_one(site, tmp_path):
    ensure_mnist(tmp_path, mirrors=[site.url("truncate"), site.url("good")], retries=1)
    assert site.hits["truncate"] == 8 and site.hits["good"] == 4
    assert_loads_fake(tmp_path)


def test_stalled_transfer_times_out(site, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, mnist.TEST_IMAGES):
        write_idx(folder / name, FAKE[name])
    ensure_mnist(tmp_path, mirrors=[site.url("stall"), site.url("good")], timeout=0.2, retries=0)
    assert site.hits["stall"] == 1 and site.hits["good"] == 1
    # the client gave up and asked the next mirror while the stalled response was still stalling
    assert site.hits["good while stalling"] == 1
    assert_loads_fake(tmp_path)


def test_cancel_between_chunks(site, tmp_path):
    calls = []
    with pytest.raises(DownloadCancelled):
        ensure_mnist(
            tmp_path,
            mirrors=[site.url("good")],
            progress=lambda *args: calls.append(args),
            should_stop=lambda: bool(calls),  # stop once the first file has started
        )
    assert site.hits["good"] == 1
    assert files_in(tmp_path / "mnist") == []


def test_no_mirrors(tmp_path):
    with pytest.raises(DataError, match="no mirrors given"):
        ensure_mnist(tmp_path, mirrors=[])


# ------------------------------------------------------------------------------- finding, loading


def test_data_dir_from_env_or_user_cache(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.setenv("NETCORE_DATA_DIR", str(tmp_path))
    assert mnist.data_dir() == tmp_path
    monkeypatch.delenv("NETCORE_DATA_DIR")
    assert mnist.data_dir() == Path(platformdirs.user_cache_dir("netcore"))


def test_load_without_download_says_where_to_put_files(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist") in message and "NETCORE_DATA_DIR" in message
    assert all(name in message for name in mnist.FILES)
    assert not (tmp_path / "mnist").exists(), "nothing created"


def write_folder(folder: Path, images: np.ndarray, labels: np.ndarray, n_train: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"{mnist.TRAIN_IMAGES}.gz", images[:n_train])
    write_idx(folder / mnist.TRAIN_LABELS, labels[:n_train])
    write_idx(folder / mnist.TEST_IMAGES, images[n_train:])
    write_idx(folder / f"{mnist.TEST_LABELS}.gz", labels[n_train:])


def test_load_idx_folder_mnist_like(tmp_path):
    images = RNG.integers(0, 256, size=(12, 5, 7), dtype=np.uint8)
    labels = np.array([0, 1, 2] * 4, dtype=np.uint8)
    write_folder(tmp_path / "fashion", images, labels, n_train=9)
    ds = load_idx_folder(tmp_path / "fashion")
    assert ds.name == "fashion" and ds.task == "classification"
    assert ds.x_train.shape == (9, 1, 5, 7) and ds.x_test.shape == (3, 1, 5, 7)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.class_names == ["0", "1", "2"]
    assert ds.preprocessing == {"scale": 1 / 255}
    np.testing.assert_allclose(ds.x_test[:, 0] * 255, images[9:], atol=1e-4)
    np.testing.assert_array_equal(ds.y_train, labels[:9])


def test_load_idx_folder_refuses_mismatched_parts(tmp_path):
    with pytest.raises(DataError, match="missing"):
        load_idx_folder(tmp_path)
    images = RNG.integers(0, 256, size=(6, 4, 4), dtype=np.uint8)
    write_folder(tmp_path, images, np.zeros(6, dtype=np.uint8), n_train=4)
    write_idx(tmp_path / mnist.TRAIN_LABELS, np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=f"{mnist.TRAIN_LABELS} has shape"):
        load_idx_folder(tmp_path)


# ------------------------------------------------------------------------------------- real MNIST

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.mnist
def test_real_mnist_matches_known_facts(mnist_dir):
    ds = load_mnist(mnist_dir, download=False)
    assert ds.name == "mnist" and ds.class_names == [str(k) for k in range(10)]
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert np.bincount(ds.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == TEST_COUNTS
    assert ds.x_train.mean(dtype=np.float64) == pytest.approx(0.1307, abs=5e-5)
    assert ds.x_train.std(dtype=np.float64) == pytest.approx(0.3081, abs=5e-5)
    assert ds.preprocessing == {"scale": 1 / 255}


@pytest.mark.mnist
def test_real_files_pass_the_shipped_checksums(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    source = mnist_dir / "mnist"
    files = {name: path.read_bytes() for name in mnist.FILES if (path := source / f"{name}.gz").exists()}
    if len(files) < 4:
        pytest.skip("the shared MNIST copy is not gzipped")
    server, thread = start_server({f"{name}.gz": data for name, data in files.items()})
    try:
        ensure_mnist(tmp_path, mirrors=[server.url("good")])
    finally:
        stop_server(server, thread)
    assert files_in(tmp_path / "mnist") == sorted(f"{name}.gz" for name in mnist.FILES)
