"""One entry point from a dataset name (as typed on the command line) to a ``Dataset``.

Names: ``mnist``, ``xor``, ``spirals``, ``circles``, ``moons``, ``blobs``, ``idx:FOLDER``
(four MNIST-style IDX files), ``csv:FILE`` and ``folder:PATH`` (pictures, one subfolder per
class; ``data_dir`` holds their decoded-pixel cache unless ``cache_dir`` is given).
"""

from __future__ import annotations

import os
from typing import Any

from netcore.data.csv import load_csv
from netcore.data.dataset import DataError, Dataset
from netcore.data.folder import FOLDER_OPTIONS, load_folder
from netcore.data.mnist import Progress, load_idx_folder, load_mnist
from netcore.data.synthetic import MAKERS, load_synthetic

SYNTHETIC_NAMES = tuple(MAKERS)
DATASET_NAMES: tuple[str, ...] = ("mnist", *SYNTHETIC_NAMES)
FILE_PREFIXES: tuple[str, ...] = ("idx", "csv", "folder")  # "idx:FOLDER", "csv:FILE", "folder:PATH"

# The options each kind of dataset understands (None values are ignored).
OPTIONS: dict[str, tuple[str, ...]] = {
    "mnist": ("download", "should_stop"),
    "synthetic": ("n", "noise", "seed", "test_ratio", "classes"),
    "idx": (),
    "csv": ("label", "task", "test_ratio", "seed", "standardize"),
    "folder": FOLDER_OPTIONS,
}


def dataset_choices() -> tuple[str, ...]:
    """Every dataset name as a person types it: the named sets, then "idx:PATH", "csv:PATH"."""
    return (*DATASET_NAMES, *(f"{p}:PATH" for p in FILE_PREFIXES))


def _choices() -> str:
    return ", ".join(dataset_choices())


def _options(kind: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
    given = {key: value for key, value in options.items() if value is not None}
    unknown = sorted(set(given) - set(OPTIONS[kind]))
    if unknown:
        accepted = ", ".join(OPTIONS[kind]) or "none"
        raise DataError(f"option {', '.join(unknown)} does not apply to {name} (accepted: {accepted})")
    return given


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> Dataset:
    """Load the dataset ``name`` refers to; ``options`` pass through to its loader.

    ``data_dir`` concerns MNIST (see ``load_mnist``); ``progress(done, total, file_name)`` reports
    MNIST downloads and the reading of a CSV file. Options set to None are
    ignored, so a command line can pass all its flags; any other option that does not apply
    raises ``DataError``, as does an unknown name (the message lists the choices).
    """
    kind, sep, path = name.strip().partition(":")
    kind = kind.lower()
    if sep:
        if kind not in FILE_PREFIXES:
            raise DataError(f"unknown dataset {name!r}; choose one of {_choices()}")
        if not path:
            raise DataError(f"{kind}: needs a path after the colon, e.g. {kind}:data/my_{kind}")
        if kind == "folder":  # progress: decoded pictures; cache under data_dir
            given = {"cache_dir": data_dir, **_options("folder", name, options)}
            return load_folder(path, progress=progress, **given)
        if kind == "idx":
            _options("idx", name, options)
            return load_idx_folder(path)
        return load_csv(path, progress=progress, **_options("csv", name, options))
    if kind == "mnist":
        return load_mnist(data_dir, progress=progress, **_options("mnist", name, options))
    if kind in SYNTHETIC_NAMES:
        return load_synthetic(kind, **_options("synthetic", name, options))
    raise DataError(f"unknown dataset {name!r}; choose one of {_choices()}")
