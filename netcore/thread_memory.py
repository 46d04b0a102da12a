"""Keep freed memory in glibc's thread arenas, so the worker's NumPy temporaries do not fault.

A thread other than the main one allocates from an arena of its own, and glibc hands that
arena's freed top memory back to the system as it goes (``heap_trim``): NumPy's large
temporaries then fault their pages in again at every batch. Measured on a 2-core AMD EPYC,
250 batches of the MNIST CNN: 107,000-113,000 minor page faults on a thread, 10,400-10,800 on
the main thread (most of both: the data copied once); with the three settings below
10,970-11,090 on a thread. The top pad alone does not do it (112,800). The thread keeps its own
arena (no lock shared with the UI thread); an arena then holds up to 256 MB of freed memory
before it gives any back, and blocks of 32 MB or more are still mapped and unmapped each time.
``desktop.worker`` calls ``keep_freed_memory()`` when it is imported, and so does a training
step split over threads (``netcore.parallel``) before its helper threads start."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
TRIM_THRESHOLD = 256 * 2**20  # return freed top memory only beyond this (fixed, not adaptive)
TOP_PAD = 64 * 2**20  # what a thread arena keeps when it trims
MMAP_THRESHOLD = 32 * 2**20  # blocks below this come from the arena, not a fresh mmap each time


def keep_freed_memory() -> bool:
    """Set glibc's trim, top-pad and mmap thresholds (see the module docstring); True if set.

    Not glibc (macOS, Windows, musl): nothing to do, False.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        settings = (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
        return all(libc.mallopt(key, value) == 1 for key, value in settings)
    except (OSError, AttributeError):
        return False
