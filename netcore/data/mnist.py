"""MNIST (and any folder of MNIST-like IDX files): find, download, verify, load.

Files live in ``<data_dir>/mnist/`` under their standard names, each gzipped (``.gz``) or raw.
``data_dir()`` is ``$NETCORE_DATA_DIR`` if set, else the user cache folder for "netcore".
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import platformdirs

from netcore.data.dataset import DataError, Dataset
from netcore.data.idx import read_idx
from netcore.files import atomic_writer

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
)
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
# sha256 of the *uncompressed* files: mirrors recompress, the content stays the same.
SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
CHUNK = 64 * 1024
USER_AGENT = "netcore-studio (MNIST downloader)"

Progress = Callable[[int, int | None, str], None]


class DownloadCancelled(Exception):
    """``should_stop`` asked the download to stop; nothing was left under a final name."""


def data_dir() -> Path:
    """``$NETCORE_DATA_DIR`` if set, else the per-user cache folder of netcore."""
    env = os.environ.get("NETCORE_DATA_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("netcore"))


def _root(folder: str | os.PathLike | None) -> Path:
    return Path(folder) if folder is not None else data_dir()


def find_file(folder: str | os.PathLike, name: str) -> Path | None:
    """``folder/name`` if present, else ``folder/name.gz``, else None."""
    for candidate in (Path(folder) / name, Path(folder) / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_files(folder: str | os.PathLike) -> list[str]:
    """The standard IDX names with neither a raw nor a ``.gz`` file in ``folder``."""
    return [name for name in FILES if find_file(folder, name) is None]


def _where_to_put(folder: Path) -> str:
    names = ", ".join(f"{name}.gz" for name in FILES)
    return (
        f"put the four MNIST files ({names}; gzipped or not) in {folder}, "
        "or set NETCORE_DATA_DIR to a folder whose mnist/ subfolder holds them"
    )


# ---------------------------------------------------------------------------------------- download


class _Unreachable(Exception):
    """No connection to the mirror at all: skip it for the rest of this run."""


class _BadContent(Exception):
    """The mirror answered with the wrong bytes: try the next mirror."""


class _Transient(Exception):
    """Broke off mid-transfer: worth another try on the same mirror."""


class _GunzipHasher:
    """sha256 of the uncompressed content of a gzip stream fed chunk by chunk."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        while chunk:
            if self._inflate.eof:  # another gzip member follows
                self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                self.sha.update(self._inflate.decompress(chunk))
            except zlib.error as e:
                raise _BadContent(f"not valid gzip data ({e})") from None
            chunk = self._inflate.unused_data if self._inflate.eof else b""

    @property
    def complete(self) -> bool:
        return self._inflate.eof


def _fetch(
    url: str,
    dest: Path,
    sha256: str,
    timeout: float,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Download ``url`` to ``dest`` atomically if its gunzipped content has hash ``sha256``."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        kind = _Transient if e.code >= 500 or e.code == 429 else _BadContent
        raise kind(f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise _Unreachable(str(getattr(e, "reason", e))) from None

    with response, atomic_writer(dest) as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        hasher, done = _GunzipHasher(), 0
        if progress is not None:
            progress(0, total, dest.name)
        while True:
            if should_stop is not None and should_stop():
                raise DownloadCancelled(f"download of {dest.name} cancelled")
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:  # timeouts, resets, IncompleteRead
                reason = str(e) or type(e).__name__
                raise _Transient(f"connection broke after {done} bytes ({reason})") from None
            if not chunk:
                break
            out.write(chunk)
            hasher.feed(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total, dest.name)
        # checked inside the block: a bad download never replaces anything
        if (total is not None and done < total) or not hasher.complete:
            raise _Transient(f"truncated: got {done} of {total or 'unknown'} bytes")
        if hasher.sha.hexdigest() != sha256:
            raise _BadContent("checksum mismatch (corrupted or different file)")


def _fetch_with_retries(url: str, retries: int, *args) -> None:
    for _ in range(retries):
        try:
            return _fetch(url, *args)
        except _Transient:
            pass
    return _fetch(url, *args)  # the last try lets its error out


def ensure_mnist(
    data_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 30,
    retries: int = 2,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Download whichever of the four MNIST files are missing; return the ``mnist`` folder.

    Each file ``<mirror>/<name>.gz`` is verified (sha256 of its uncompressed content) and
    stored as ``<name>.gz`` through a temporary file, so a broken download never leaves a file
    under the final name. Mirrors are tried in order; a transfer that breaks off is retried
    ``retries`` times on the same mirror, a wrong checksum or HTTP error moves on to the next,
    and a mirror that cannot be reached is skipped for the remaining files.

    ``progress(done_bytes, total_bytes_or_None, filename)`` is called as bytes arrive;
    ``should_stop()`` is checked between chunks and raises ``DownloadCancelled`` when true.
    Raises ``DataError`` (saying where to put the files by hand) when every mirror fails.
    """
    folder = _root(data_dir) / "mnist"
    missing = missing_files(folder)
    if not missing:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {folder} ({e.strerror or e}); {_where_to_put(folder)}") from None
    unreachable: dict[str, str] = {}  # mirror -> why
    for name in missing:
        errors: list[str] = []
        for mirror in mirrors:
            if mirror in unreachable:
                errors.append(f"{mirror}: unreachable ({unreachable[mirror]})")
                continue
            url = f"{mirror.rstrip('/')}/{name}.gz"
            args = (folder / f"{name}.gz", SHA256[name], timeout, progress, should_stop)
            try:
                _fetch_with_retries(url, retries, *args)
                break
            except _Unreachable as e:
                unreachable[mirror] = str(e)
                errors.append(f"{url}: unreachable ({e})")
            except (_BadContent, _Transient) as e:
                errors.append(f"{url}: {e}")
            except OSError as e:  # writing the temporary file, not the network
                raise DataError(f"cannot write to {folder} ({e.strerror or e})") from None
        else:
            raise DataError(
                f"could not download {name}.gz (offline, or no mirror served it intact: "
                f"{'; '.join(errors) or 'no mirrors given'}). To work offline, {_where_to_put(folder)}"
            )
    return folder


# -------------------------------------------------------------------------------------------- load


def load_idx_folder(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """A ``Dataset`` from a folder holding the four standard IDX names (gzipped or raw).

    Suits MNIST-like sets such as Fashion-MNIST. uint8 images are scaled to 0..1 (other types
    kept as they are); class names are "0".."K-1" for labels 0..K-1.

    Shapes: images (N, H, W) -> x (N, 1, H, W) float32; labels (N,) -> y (N,) int64.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    absent = missing_files(folder)
    if absent:
        raise DataError(f"{folder}: missing {', '.join(absent)} (each may be gzipped, ending in .gz)")
    arrays = {key: read_idx(find_file(folder, key)) for key in FILES}
    x_train, x_test = arrays[TRAIN_IMAGES], arrays[TEST_IMAGES]
    y_train, y_test = arrays[TRAIN_LABELS], arrays[TEST_LABELS]
    for images, labels, images_name, labels_name in (
        (x_train, y_train, TRAIN_IMAGES, TRAIN_LABELS),
        (x_test, y_test, TEST_IMAGES, TEST_LABELS),
    ):
        if images.ndim != 3:
            raise DataError(f"{folder}: {images_name} has shape {images.shape}; expected (N, H, W)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"{folder}: {labels_name} has shape {labels.shape}; expected ({len(images)},) "
                f"to match {images_name}"
            )
        if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
            raise DataError(f"{folder}: {labels_name} must hold non-negative integer class labels")
    for images, images_name in ((x_train, TRAIN_IMAGES), (x_test, TEST_IMAGES)):
        if images.dtype.kind == "f" and not np.isfinite(images).all():
            raise DataError(f"{folder}: {images_name} holds values that are not finite numbers (NaN or inf)")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{folder}: train images are {x_train.shape[1:]} but test images {x_test.shape[1:]}")
    scale = 1 / 255 if x_train.dtype == np.uint8 else 1.0
    num_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    return Dataset(
        name=name or folder.name,
        x_train=_to_nchw(x_train, scale),
        y_train=y_train.astype(np.int64),
        x_test=_to_nchw(x_test, scale),
        y_test=y_test.astype(np.int64),
        task="classification",
        class_names=[str(k) for k in range(num_classes)],
        preprocessing={"scale": scale},
    )


def _to_nchw(images: np.ndarray, scale: float) -> np.ndarray:
    """(N, H, W) -> (N, 1, H, W) float32 times ``scale`` (division by 255 keeps 255 -> 1.0 exact)."""
    if scale == 1 / 255:
        x = np.divide(images, np.float32(255), dtype=np.float32)
    else:
        x = images.astype(np.float32)
    return x[:, None, :, :]


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Dataset:
    """MNIST as a ``Dataset``, downloading missing files first when ``download`` is true.

    Shapes: x_train (60000, 1, 28, 28) float32 in 0..1, y_train (60000,) int64;
    x_test (10000, 1, 28, 28), y_test (10000,). A dense network flattens the images.
    """
    root = _root(data_dir)
    folder = root / "mnist"
    if download:
        ensure_mnist(root, progress=progress, should_stop=should_stop)
    elif absent := missing_files(folder):
        raise DataError(f"MNIST not found: missing {', '.join(absent)}; {_where_to_put(folder)}")
    dataset = load_idx_folder(folder, name="mnist")
    if dataset.input_shape != (1, 28, 28) or dataset.num_classes != 10:
        shape, classes = dataset.input_shape, dataset.num_classes
        raise DataError(f"{folder}: does not look like MNIST (images {shape}, {classes} classes)")
    dataset.class_names = [str(k) for k in range(10)]
    return dataset
