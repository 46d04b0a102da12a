"""Decoding many picture files, in worker processes when that pays, with progress and cancel.

Workers come from a "forkserver" context (else "spawn"): forking the process itself could
deadlock when it runs other threads (the window's), and a fork server starts cleanly once.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from netcore.data.images import DecodedChunk, decode_files, grey_from_rgb

Progress = Callable[[int, int | None, str], None]
CHUNK = 128  # files per task: progress and cancel granularity
MIN_FILES_FOR_POOL = 1500  # below this, starting worker processes costs more than it saves


class LoadCancelled(Exception):
    """``should_stop`` asked the load to stop; nothing was cached."""


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(n_files: int) -> int:
    return min(cpu_count(), 8) if n_files >= MIN_FILES_FOR_POOL else 1


def _context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["netcore.data.images"])
    return ctx


def decode_all(
    paths: list[str],
    size: tuple[int, int],
    mode: str,
    fit: str,
    workers: int = 1,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    label: str = "decoding images",
) -> DecodedChunk:
    """Decode ``paths`` (in order) into one chunk; see ``images.decode_files``.

    ``progress(done_files, total_files, label)`` after each chunk; ``should_stop()`` between
    chunks raises ``LoadCancelled``. ``workers > 1`` uses a process pool (falling back to this
    process if one cannot be started).
    """
    pieces = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    results: list[DecodedChunk] = []

    def step(chunk: DecodedChunk) -> None:
        results.append(chunk)
        if progress is not None:
            progress(min(len(results) * CHUNK, len(paths)), len(paths), label)

    def stopped() -> bool:
        return should_stop is not None and should_stop()

    if progress is not None:
        progress(0, len(paths), label)
    if workers > 1 and len(pieces) > 1:
        try:
            _run_pool(pieces, size, mode, fit, workers, step, stopped)
        except (BrokenProcessPool, OSError):
            pass  # e.g. processes not allowed here: finish below, in this process
    for piece in pieces[len(results) :]:
        if stopped():
            raise LoadCancelled("loading the image folder was cancelled")
        step(decode_files(piece, size, mode, fit))
    return _join(results, size, mode)


def _run_pool(pieces, size, mode, fit, workers, step, stopped) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    try:
        futures = [pool.submit(decode_files, piece, size, mode, fit) for piece in pieces]
        for future in futures:
            while True:
                if stopped():
                    raise LoadCancelled("loading the image folder was cancelled")
                try:
                    step(future.result(timeout=0.1))
                    break
                except FutureTimeout:
                    continue
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _join(results: list[DecodedChunk], size: tuple[int, int], mode: str) -> DecodedChunk:
    """One chunk from many: RGB if any piece is, grey pieces then repeat their channel."""
    colour = any(r.colour for r in results)
    channels = 3 if mode == "rgb" or colour else 1
    total = sum(len(r.images) for r in results)
    images = np.empty((total, channels, *size), np.uint8)
    ok = np.concatenate([r.ok for r in results]) if results else np.zeros(0, bool)
    errors, start, offset = [], 0, 0
    for r in results:
        part = r.images
        if part.shape[1] == 3 and channels == 1:
            part = grey_from_rgb(part)
        images[start : start + len(part)] = part  # grey (M, 1, H, W) broadcasts to 3 channels
        errors.extend((offset + i, why) for i, why in r.errors)
        start += len(part)
        offset += len(r.ok)
        r.images = None  # free each piece as soon as it is copied
    return DecodedChunk(images, ok, colour, errors)
