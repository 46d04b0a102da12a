"""A training thread keeps its freed memory (netcore/thread_memory.py): no page faults per batch.

glibc handed a thread arena's freed memory back to the system as it went, and the MNIST CNN's
temporaries faulted their pages in again at every batch on the worker (about ten times the
faults of the same training on the main thread). The check: minor page faults of a thread
training the MNIST CNN, in a fresh process, with and without the settings; and of the whole
process when the batch is split over threads (netcore/parallel.py sets them itself).
"""

import subprocess
import sys

import pytest

FAULTS = """
import resource, sys, threading
import numpy as np
if sys.argv[1] == "kept":
    from netcore.thread_memory import keep_freed_memory
    assert keep_freed_memory()
from netcore.layers.conv import Conv2D
from netcore.network import Network
from netcore.resources import resource_path
# stacked products whole (8 MB at batch 64): the workload that faulted. With them in blocks of
# samples (the default since 2026-12-02) even a plain thread faults 6 times here, against 10,217.
Conv2D.stack_whole_bytes = 1 << 60
from netcore.spec import load_spec
from netcore.train import Trainer, TrainSettings
spec = load_spec(resource_path("networks") / "mnist_cnn.json")
rng = np.random.default_rng(0)
x, y = rng.random((64 * 60, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64 * 60)
faults = []
threads = 2 if sys.argv[1] == "split" else 1
who = resource.RUSAGE_SELF if threads > 1 else resource.RUSAGE_THREAD  # the helper's count too
def train():  # everything on the thread, as on the worker: its buffers come from its arena
    net = Network(spec)
    # the first convolution on its own output frame, the workload that faulted: with it in
    # phases (the default since 2026-12-03) a plain thread faults 4 times here (measured)
    net.layers[0].pooled_in_phases = False
    trainer = Trainer(net, TrainSettings(epochs=1, batch_size=64, threads=threads), x, y)
    trainer.run()  # every buffer allocated once
    before = resource.getrusage(who).ru_minflt
    trainer.run(epochs=1)
    faults.append(resource.getrusage(who).ru_minflt - before)
thread = threading.Thread(target=train)
thread.start(); thread.join()
print(faults[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's thread arenas")
def test_a_training_thread_stops_faulting_its_temporaries_in_once_freed_memory_is_kept():
    def faults(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout.strip())

    plain, kept, split = faults("plain"), faults("kept"), faults("split")
    assert plain > 60 * 50  # 60 batches: dozens of pages each faulted in again (6,500 measured)
    assert kept < plain / 10  # 7 measured
    assert split < plain / 10  # two threads, a new helper each run
