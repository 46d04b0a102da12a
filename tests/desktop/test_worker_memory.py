"""The training worker's thread allocates from glibc's main arena, as ``netcore train`` does.

A thread's own arena gave NumPy's freed temporaries back to the system, and the MNIST CNN paid
240,000-330,000 page faults per 15 s on the worker (10,000 on the main thread). The check here:
glibc's own report (``malloc_info``) counts the arenas after a thread has allocated.
"""

import subprocess
import sys

import pytest

ARENAS = """
import ctypes, ctypes.util, os, sys, tempfile, threading
import numpy as np
if sys.argv[1] == "worker":
    os.environ["NETCORE_ONE_MALLOC_ARENA"] = "1"
    import desktop.worker  # noqa: F401  (sets the arena limit on import)
t = threading.Thread(target=lambda: [np.ones(2**20) for _ in range(10)])
t.start(); t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
f = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(f)); libc.fclose(ctypes.c_void_p(f))
print(open(path).read().count("<heap nr=")); os.remove(path)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc arenas")
def test_threads_share_the_main_malloc_arena_when_asked_before_the_worker_module_is_imported():
    def arenas(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout.strip())

    assert arenas("plain") >= 2  # the thread got an arena of its own (the default)
    assert arenas("worker") == 1
