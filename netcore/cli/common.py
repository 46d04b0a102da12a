"""What several commands share: loading a dataset with download progress, one-line errors."""

from __future__ import annotations

import sys
from typing import Any


class CommandError(Exception):
    """A problem to report in one line, with exit status 2."""


EXIT_BAD_INPUT = 2


def dataset_options(args) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "noise", None) is not None:
        options["noise"] = args.noise
    if getattr(args, "samples", None) is not None:
        options["n"] = args.samples
    return options


def load_data(name: str, data_dir: str | None, options: dict[str, Any] | None = None):
    from netcore.data.registry import load_dataset

    return load_dataset(name, data_dir=data_dir, progress=download_progress, **(options or {}))


def download_progress(done: int, total: int | None, filename: str) -> None:
    if total:
        print(f"\rdownloading {filename}: {done / total:6.1%}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)
