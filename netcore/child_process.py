"""Starting ``python -m netcore.<module>`` children: this Python, this netcore, one BLAS thread.

Plain subprocesses, not multiprocessing's: spawn and forkserver import the parent's main module
in each child (an unguarded script or ``python -m netcore`` would run again), and fork is unsafe
in a process with other threads (the window's). Used by the picture decoders
(``netcore.data.folder_decode``) and by split training steps (``netcore.part_process``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory holding netcore/


def command(module: str, *args: str) -> list[str]:
    """The command line that runs ``module`` (e.g. "netcore.part_process") in this Python."""
    return [sys.executable, "-m", module, *args]


def environment() -> dict[str, str]:
    """This process's environment with this netcore first on the path and BLAS (and OpenMP) held
    to one thread: each child is one core's worth of work beside the others."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env
