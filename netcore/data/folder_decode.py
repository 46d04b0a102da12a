"""Decoding many picture files, in worker processes when that pays, with progress and cancel.

Workers are plain ``python -m netcore.data.folder_worker`` subprocesses fed over pipes
(``netcore.child_process`` says why not multiprocessing's); no pickle crosses the pipes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import numpy as np

from netcore import child_process
from netcore.data.images import DecodedChunk, decode_files, grey_from_rgb

Progress = Callable[[int, int | None, str], None]
CHUNK = 64  # files per task: progress and cancel granularity
AHEAD = 2  # tasks queued per worker, so none waits for the next
# Rough serial decoding cost, to decide whether worker processes (each ~0.3 s to start) pay.
SECONDS_PER_FILE = 60e-6  # a small PNG, measured
SECONDS_PER_BYTE = 1 / 30e6  # compressed bytes of larger pictures
MIN_SECONDS_FOR_POOL = 1.5


class LoadCancelled(Exception):
    """``should_stop`` asked the load to stop; nothing was cached."""


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(n_files: int, n_bytes: int) -> int:
    """Every core (at most 8) when decoding would take more than ~1.5 s in one process, else 1."""
    serial = n_files * SECONDS_PER_FILE + n_bytes * SECONDS_PER_BYTE
    return min(cpu_count(), 8) if serial >= MIN_SECONDS_FOR_POOL else 1


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
    if workers > 1 and len(pieces) > workers:
        try:
            _run_workers(pieces, size, mode, fit, workers, step, stopped)
        except WorkerFailed:
            pass  # finish below, in this process
    for piece in pieces[len(results) :]:
        if stopped():
            raise LoadCancelled("loading the image folder was cancelled")
        step(decode_files(piece, size, mode, fit))
    return _join(results, size, mode)


class WorkerFailed(Exception):
    """A worker could not be started or stopped answering."""


class DecodeWorkers:
    """``n`` decoding subprocesses; task ``i`` of a run goes to worker ``i % n``."""

    def __init__(self, n: int, size: tuple[int, int], mode: str, fit: str) -> None:
        env = child_process.environment()
        command = child_process.command("netcore.data.folder_worker")
        recipe = json.dumps({"size": list(size), "mode": mode, "fit": fit}).encode() + b"\n"
        self.procs: list[subprocess.Popen] = []
        try:
            for _ in range(n):
                proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                self.procs.append(proc)
                proc.stdin.write(recipe)
        except OSError as e:
            self.close()
            raise WorkerFailed(str(e)) from None

    def send(self, i: int, paths: list[str]) -> None:
        proc = self.procs[i % len(self.procs)]
        try:
            proc.stdin.write(json.dumps(paths).encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
        except OSError as e:
            raise WorkerFailed(str(e)) from None

    def receive(self, i: int) -> DecodedChunk:
        out = self.procs[i % len(self.procs)].stdout
        try:
            length = int.from_bytes(_read(out, 8), "little")
            header = json.loads(_read(out, length))
            shape = tuple(header["shape"])
            pixels = np.frombuffer(_read(out, int(np.prod(shape))), np.uint8).reshape(shape)
        except (OSError, ValueError, KeyError) as e:
            raise WorkerFailed(str(e)) from None
        errors = [(int(k), str(why)) for k, why in header["errors"]]
        return DecodedChunk(pixels, np.array(header["ok"], bool), bool(header["colour"]), errors)

    def close(self) -> None:
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def _read(stream, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise ValueError("a worker stopped answering")
    return data


def _run_workers(pieces, size, mode, fit, workers, step, stopped) -> None:
    pool = DecodeWorkers(workers, size, mode, fit)
    cancelled = False
    try:
        for i in range(min(len(pieces), workers * AHEAD)):
            pool.send(i, pieces[i])
        for i in range(len(pieces)):
            if stopped():
                cancelled = True
                raise LoadCancelled("loading the image folder was cancelled")
            chunk = pool.receive(i)
            if i + workers * AHEAD < len(pieces):
                pool.send(i + workers * AHEAD, pieces[i + workers * AHEAD])
            step(chunk)
    finally:
        if cancelled:
            for proc in pool.procs:
                proc.kill()
        pool.close()


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
