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
    for flag, option in (("image_size", "size"), ("image_mode", "mode"), ("image_fit", "fit")):
        if getattr(args, flag, None) is not None:
            options[option] = getattr(args, flag)
    return options


def add_folder_arguments(parser) -> None:
    """The options of a ``folder:PATH`` dataset (pictures in one subfolder per class)."""
    group = parser.add_argument_group("picture folders (--dataset folder:PATH)")
    group.add_argument("--image-size", help="side or HEIGHTxWIDTH (default: the median size, at most 64)")
    group.add_argument(
        "--image-mode", choices=["auto", "grey", "rgb"], help="default auto: RGB if any colour"
    )
    group.add_argument("--image-fit", choices=["pad", "crop"], help="keep the whole picture (pad) or crop")


def load_data(name: str, data_dir: str | None, options: dict[str, Any] | None = None):
    from netcore.data.registry import load_dataset

    progress = folder_progress if name.startswith("folder:") else download_progress
    return load_dataset(name, data_dir=data_dir, progress=progress, **(options or {}))


def folder_progress(done: int, total: int | None, label: str) -> None:
    if total and sys.stderr.isatty():
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)


def download_progress(done: int, total: int | None, filename: str) -> None:
    if total:
        print(f"\rdownloading {filename}: {done / total:6.1%}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)
