"""A folder of pictures, one subfolder per class, as a ``Dataset`` (torchvision's ImageFolder layout).

    photos/cats/001.jpg  photos/cats/002.png  photos/dogs/a.gif ...       seeded split
    photos/train/cats/... photos/test/cats/...                             given split

Folder names are class names (sorted); class folders are searched recursively for PNG, JPEG,
BMP and GIF (first frame) files of any size. Every picture is fitted to one size (``images``),
scaled to [0, 1] and, with ``standardize``, shifted and scaled per channel by the training
part's mean and std; the recipe and the statistics are saved with a model in
``preprocessing["image"]`` and applied again at prediction (``netcore.image_model``).

Files that do not decode are skipped and listed, never fatal. Decoding runs in worker processes
for large folders; the decoded pixels are cached (``folder_cache``) so the next load of an
unchanged folder takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netcore.data import folder_cache
from netcore.data.dataset import DataError, Dataset
from netcore.data.folder_decode import LoadCancelled, Progress, decode_all, default_workers
from netcore.data.images import EXTENSIONS, FITS, MODES, ImageReadError, is_image_name, read_header

__all__ = ["FolderDataset", "FolderListing", "LoadCancelled", "load_folder", "scan_folder"]

MAX_AUTO_SIDE = 64  # the automatic size (the median) is scaled down to at most this side
MIN_SIDE = 4
HEADER_SAMPLE = 1000  # the median size is taken over this many files, spread evenly
DEFAULT_MEMORY_MB = 2048
BYTES_PER_VALUE = 5  # float32 arrays plus the uint8 decoding they are made from
SCALE = 1 / 255
# what load_folder takes besides the path and progress (the dataset registry checks against it)
FOLDER_OPTIONS = (
    "size", "mode", "fit", "test_ratio", "seed", "standardize", "max_memory_mb", "workers", "cache",
    "cache_dir", "stats", "should_stop",
)  # fmt: skip


@dataclass
class FolderListing:
    """The pictures a folder holds, before decoding. ``files`` are relative to ``root``.

    Shapes: labels (N,) int64 class indices; in_test (N,) bool (under test/).
    """

    root: Path
    class_names: list[str]
    files: list[str]
    labels: np.ndarray
    in_test: np.ndarray
    given_split: bool
    fingerprint: str  # sha256 of every file's path, size and mtime
    total_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> np.ndarray:
        """Pictures per class, (K,) int64."""
        return np.bincount(self.labels, minlength=len(self.class_names))


@dataclass
class FolderDataset(Dataset):
    """A ``Dataset`` from a picture folder, with what the loading found.

    ``train_files``/``test_files`` name the picture behind each sample (relative to ``root``);
    ``skipped`` pairs each unreadable file with the reason; ``notes`` are sentences for the
    user (downscaling, empty class folders, the skipped summary).
    """

    root: str = ""
    train_files: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    from_cache: bool = False

    def describe(self) -> str:
        text = super().describe()
        return "; ".join([text, *self.notes])


# -------------------------------------------------------------------------------------- scan


def _class_dirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _pictures(root: Path, rel: str, seen: set[str] | None = None) -> list[tuple[str, int, int]]:
    """(path relative to ``root``, size, mtime_ns) of the pictures under ``root/rel``,
    recursively (following links, once per real folder), sorted by path."""
    seen = set() if seen is None else seen
    real = os.path.realpath(root / rel)
    if real in seen:  # a symlink loop
        return []
    seen.add(real)
    found, subfolders = [], []
    try:
        entries = list(os.scandir(root / rel))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        try:
            if entry.is_dir():
                subfolders.append(name)
            elif name.lower().endswith(EXTENSIONS):
                st = entry.stat()
                found.append((f"{rel}/{name}", st.st_size, st.st_mtime_ns))
        except OSError:
            continue
    for name in subfolders:
        found += _pictures(root, f"{rel}/{name}", seen)
    return sorted(found)


def scan_folder(path: str | os.PathLike) -> FolderListing:
    """List a class-per-subfolder picture folder; DataError if it is not one."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    given_split = (root / "train").is_dir() and (root / "test").is_dir()
    parts = [("train/", False), ("test/", True)] if given_split else [("", False)]
    classes = sorted({c for part, _ in parts for c in _class_dirs(root / part)})
    found: dict[str, list[tuple[bool, list[tuple[str, int, int]]]]] = {c: [] for c in classes}
    for part, is_test in parts:
        for c in classes:
            if (root / part / c).is_dir():
                found[c].append((is_test, _pictures(root, f"{part}{c}")))
    found = {c: [run for run in runs if run[1]] for c, runs in found.items()}
    empty = [c for c in classes if not found[c]]
    classes = [c for c in classes if found[c]]
    if not classes:
        loose = any(is_image_name(e.name) for e in os.scandir(root) if e.is_file())
        hint = "holds pictures but no class subfolders" if loose else "holds no pictures in class subfolders"
        raise DataError(
            f"{root} {hint}: put each class's pictures (PNG, JPEG, BMP, GIF) in a subfolder named "
            f"after the class, e.g. {root / 'cats'} and {root / 'dogs'}"
        )
    if len(classes) < 2:
        raise DataError(
            f"{root}: only one class folder ({classes[0]}) holds pictures; a classifier needs two"
        )
    files, labels, in_test, stamps, total = [], [], [], [], 0
    for k, c in enumerate(classes):
        for is_test, pictures in found[c]:
            for rel, size, mtime in pictures:
                files.append(rel)
                stamps.append(f"{rel}\0{size}\0{mtime}")
                total += size
            labels += [k] * len(pictures)
            in_test += [is_test] * len(pictures)
    return FolderListing(
        root=root,
        class_names=classes,
        files=files,
        labels=np.array(labels, np.int64),
        in_test=np.array(in_test, bool),
        given_split=given_split,
        fingerprint=hashlib.sha256("\n".join(stamps).encode("utf-8", "surrogateescape")).hexdigest(),
        total_bytes=total,
        notes=[f"class folder {c!r} holds no pictures and was left out" for c in empty],
    )


# ----------------------------------------------------------------------------------- options


def parse_size(size: int | str | tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    """32 -> (32, 32); "32x24" or (32, 24) -> (height 32, width 24); None -> None (automatic)."""
    if size is None:
        return None
    try:
        if isinstance(size, str):
            parts = [int(p) for p in size.lower().replace(" ", "").split("x")]
        elif isinstance(size, (tuple, list)):
            parts = [int(p) for p in size]
        else:
            parts = [int(size)]
    except (TypeError, ValueError):
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(MIN_SIDE <= p <= 4096 for p in parts):
        raise DataError(
            f"image size must be a side or HEIGHTxWIDTH between {MIN_SIDE} and 4096, got {size!r}"
        )
    return parts[0], parts[1]


def sample_headers(listing: FolderListing) -> tuple[tuple[int, int], bool]:
    """Median (height, width) of an even sample of files, and whether any may be in colour."""
    n = len(listing.files)
    picks = np.unique(np.linspace(0, n - 1, min(n, HEADER_SAMPLE)).round().astype(int))
    sizes, colour = [], False
    for i in picks:
        try:
            h, w, maybe_colour = read_header(listing.root / listing.files[i])
        except ImageReadError:
            continue
        sizes.append((h, w))
        colour = colour or maybe_colour
    if not sizes:
        return (MIN_SIDE, MIN_SIDE), colour
    h, w = np.median(np.array(sizes, float), axis=0)
    return (max(MIN_SIDE, round(h)), max(MIN_SIDE, round(w))), colour


def auto_size(median: tuple[int, int]) -> tuple[int, int]:
    h, w = median
    scale = min(1.0, MAX_AUTO_SIDE / max(h, w))
    return max(MIN_SIDE, round(h * scale)), max(MIN_SIDE, round(w * scale))


def _fit_budget(n: int, channels: int, size: tuple[int, int], auto: bool, budget_mb: float, notes: list[str]):
    """``size``, or a smaller one (automatic size only) that keeps the decoded set in budget."""
    need_mb = n * channels * size[0] * size[1] * BYTES_PER_VALUE / 2**20
    if need_mb <= budget_mb:
        return size
    shrink = math.sqrt(budget_mb / need_mb)
    smaller = (math.floor(size[0] * shrink), math.floor(size[1] * shrink))
    dims = f"{channels}x{size[0]}x{size[1]}"
    if not auto or min(smaller) < MIN_SIDE:
        side = max(MIN_SIDE - 1, math.floor(min(size) * shrink))
        raise DataError(
            f"{n:,} pictures at {dims} need about {_mb(need_mb)} in memory, over the budget of "
            f"{_mb(budget_mb)}: choose a smaller image size (about {side} or less), the grey mode, "
            "or a larger max_memory_mb"
        )
    notes.append(
        f"pictures downscaled from {size[0]}x{size[1]} to {smaller[0]}x{smaller[1]} to stay within "
        f"the memory budget of {_mb(budget_mb)}"
    )
    return smaller


def _mb(value: float) -> str:
    return f"{value:,.0f} MB" if value >= 10 else f"{value:.1f} MB"


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise DataError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def recipe_options(preprocessing: dict[str, Any]) -> dict[str, Any]:
    """Loader options that prepare pictures as a model's ``preprocessing`` says: its size, mode,
    fit and (when it was standardised) its channel statistics. {} for a model without a recipe."""
    image = preprocessing.get("image") or {}
    if not image:
        return {}
    options = {
        "size": tuple(image["size"]),
        "mode": "grey" if image.get("channels", 3) == 1 else "rgb",
        "fit": image.get("fit", "pad"),
    }
    if "mean" in image and "std" in image:
        options["stats"] = {"mean": image["mean"], "std": image["std"]}
    else:
        options["standardize"] = False
    return options


# -------------------------------------------------------------------------------------- load


def skipped_summary(skipped: list[tuple[str, str]], limit: int = 3) -> str:
    """ "3 files skipped: a.png (reason), b.jpg (reason), c.gif (reason)" (the first ``limit``)."""
    shown = ", ".join(f"{f} ({why})" for f, why in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped: {shown}{more}"


def decode_folder(
    listing: FolderListing,
    size: tuple[int, int] | None = None,
    mode: str = "auto",
    fit: str = "pad",
    max_memory_mb: float = DEFAULT_MEMORY_MB,
    workers: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> folder_cache.Decoded:
    """Decode every picture of ``listing`` (no cache); ``size`` None means the capped median."""
    notes: list[str] = []
    median, maybe_colour = sample_headers(listing)
    auto = size is None
    size = auto_size(median) if auto else size
    channels = 1 if mode == "grey" or (mode == "auto" and not maybe_colour) else 3
    size = _fit_budget(len(listing.files), channels, size, auto, max_memory_mb, notes)
    paths = [str(listing.root / f) for f in listing.files]
    workers = default_workers(len(paths), listing.total_bytes) if workers is None else max(1, int(workers))
    label = f"decoding pictures in {listing.root.name}"
    chunk = decode_all(paths, size, mode, fit, workers, progress, should_stop, label)
    if not len(chunk.images):
        raise DataError(f"{listing.root}: none of the {len(paths):,} pictures could be read")
    channels = chunk.images.shape[1]
    if chunk.images.size * BYTES_PER_VALUE / 2**20 > max_memory_mb:
        # only when colour turned up that the sampled headers did not suggest: refuse
        _fit_budget(len(chunk.images), channels, size, False, max_memory_mb, notes)
    keep = np.flatnonzero(chunk.ok)
    skipped = [(listing.files[i], why) for i, why in chunk.errors]
    return folder_cache.Decoded(
        images=chunk.images,
        labels=listing.labels[keep],
        in_test=listing.in_test[keep],
        files=[listing.files[i] for i in keep],
        class_names=list(listing.class_names),
        skipped=skipped,
        meta={"size": list(size), "channels": int(channels), "fit": fit, "notes": notes},
    )


def load_folder(
    path: str | os.PathLike,
    size: int | str | tuple[int, int] | None = None,
    mode: str = "auto",
    fit: str = "pad",
    test_ratio: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    max_memory_mb: float = DEFAULT_MEMORY_MB,
    workers: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    stats: dict[str, Any] | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FolderDataset:
    """Load a class-per-subfolder picture folder as a ``FolderDataset``.

    size:   side or (height, width) every picture is fitted to; None = the median size of the
            files, scaled down to at most 64 on the longer side.
    mode:   "auto" (RGB when any picture holds colour, else grey), "grey" or "rgb".
    fit:    "pad" (keep the aspect ratio, fill with the border colour) or "crop" (centre crop).
    test_ratio, seed: the stratified split when the folder has no train/ and test/ subfolders.
    standardize: scale each channel by the training part's mean and std (saved in
            ``preprocessing["image"]``); ``stats`` ({"mean": [...], "std": [...]}, a model's)
            are used instead when given.
    max_memory_mb: budget for the decoded set; an automatic size is reduced to fit it, an
            explicit one that does not fit is refused.
    workers: decoding processes (None: every core when decoding would take more than ~1.5 s).
    cache, cache_dir: keep the decoded pixels under ``cache_dir`` (default ``data_dir()``).
    progress(done, total, label) reports decoded files; should_stop() cancels (LoadCancelled).

    Shapes: x_* (N, C, H, W) float32; y_* (N,) int64. Unreadable files are listed in
    ``skipped`` and summed up in ``notes``.
    """
    mode = check_choice("mode", mode, MODES)
    fit = check_choice("fit", fit, FITS)
    wanted = parse_size(size)
    listing = scan_folder(path)
    options = {"size": wanted and list(wanted), "mode": mode, "fit": fit, "max_memory_mb": max_memory_mb}
    key = folder_cache.cache_key(f"{listing.root.resolve()}\0{listing.fingerprint}", options)
    where = None
    if cache:
        from netcore.data.mnist import data_dir

        where = folder_cache.cache_path(cache_dir if cache_dir is not None else data_dir(), key)
    decoded = folder_cache.read_cache(where, key) if where is not None else None
    from_cache = decoded is not None
    if decoded is None:
        decoded = decode_folder(listing, wanted, mode, fit, max_memory_mb, workers, progress, should_stop)
        if where is not None:
            folder_cache.write_cache(where, key, decoded)
    elif progress is not None:
        progress(len(decoded.files), len(decoded.files), f"read {listing.root.name} from the cache")
    return _build(listing, decoded, test_ratio, seed, standardize, stats, from_cache)


def split_indices(labels: np.ndarray, test_ratio: float, seed: int) -> np.ndarray:
    """A stratified seeded test mask (N,) bool: ``round(n * test_ratio)`` of each class with
    n >= 2 pictures (at least one, never all)."""
    if not 0.0 < test_ratio < 1.0:
        raise DataError(f"test_ratio must be between 0 and 1 (exclusive), got {test_ratio!r}")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), bool)
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        if len(members) >= 2:
            n_test = min(max(round(len(members) * test_ratio), 1), len(members) - 1)
            test[rng.permutation(members)[:n_test]] = True
    return test


def channel_stats(images: np.ndarray, index: np.ndarray, chunk: int = 1024) -> dict[str, list[float]]:
    """Per-channel mean and std of ``images[index]`` ((N, C, H, W) uint8) in [0, 1] units,
    exactly (integer sums of values and squares, a chunk at a time: no float copy of the set)."""
    channels = images.shape[1]
    total = np.zeros(channels, np.float64)
    squares = np.zeros(channels, np.float64)
    for i in range(0, len(index), chunk):
        part = images[index[i : i + chunk]]
        for c in range(channels):
            v = part[:, c].ravel()
            total[c] += int(v.sum(dtype=np.uint64))
            squares[c] += int(np.einsum("i,i->", v, v, dtype=np.uint64, casting="unsafe"))
    n = len(index) * images.shape[2] * images.shape[3]
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    std[std < 1e-3] = 255.0  # a constant channel: leave it unscaled
    return {"mean": (mean * SCALE).tolist(), "std": (std * SCALE).tolist()}


def to_float(images: np.ndarray, index: np.ndarray, stats: dict[str, Any] | None, chunk: int = 4096):
    """images[index] as float32 in [0, 1], then (x - mean) / std per channel when ``stats``.

    Shapes: images (N, C, H, W) uint8, index (M,) -> (M, C, H, W) float32.
    """
    channels = images.shape[1]
    mean = np.zeros(channels) if stats is None else np.asarray(stats["mean"], np.float64)
    std = np.ones(channels) if stats is None else np.asarray(stats["std"], np.float64)
    if mean.shape != (channels,) or std.shape != (channels,):
        raise DataError(f"the statistics are for {mean.size} channels but the pictures have {channels}")
    gain = (SCALE / std).astype(np.float32)[:, None, None]
    shift = (mean / std).astype(np.float32)[:, None, None]
    out = np.empty((len(index), *images.shape[1:]), np.float32)
    for i in range(0, len(index), chunk):
        part = out[i : i + chunk]
        np.multiply(images[index[i : i + chunk]], gain, out=part)
        part -= shift
    return out


def _build(listing, decoded, test_ratio, seed, standardize, stats, from_cache) -> FolderDataset:
    if listing.given_split:
        test = decoded.in_test
    else:
        test = split_indices(decoded.labels, test_ratio, seed)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    if not len(train_idx) or not len(test_idx):
        part = "train" if not len(train_idx) else "test"
        raise DataError(f"{listing.root}: the {part} part has no readable pictures")
    if stats is None and standardize:
        stats = channel_stats(decoded.images, train_idx)
    meta = decoded.meta
    image = {"size": list(meta["size"]), "channels": int(meta["channels"]), "fit": meta["fit"]}
    if stats is not None:
        image.update(mean=[float(v) for v in stats["mean"]], std=[float(v) for v in stats["std"]])
    notes = [*listing.notes, *meta.get("notes", [])]
    if decoded.skipped:
        notes.append(skipped_summary(decoded.skipped))
    return FolderDataset(
        name=listing.root.name,
        x_train=to_float(decoded.images, train_idx, stats),
        y_train=decoded.labels[train_idx],
        x_test=to_float(decoded.images, test_idx, stats),
        y_test=decoded.labels[test_idx],
        task="classification",
        class_names=list(decoded.class_names),
        preprocessing={"scale": SCALE, "image": image},
        root=str(listing.root),
        train_files=[decoded.files[i] for i in train_idx],
        test_files=[decoded.files[i] for i in test_idx],
        skipped=list(decoded.skipped),
        notes=notes,
        from_cache=from_cache,
    )
