"""A training step on every core: the batch split between replicas of the network.

NumPy does its elementwise work (pooling, activations, patch copies: about half of a CNN step)
on one core, and only the matrix products use the second. Here a batch of n samples is cut into
``parts`` contiguous slices of n_k samples; each goes forward and backward through its own
*replica* (the calling thread takes the first, through the network itself) while BLAS is held
to one thread per product, so both cores do every kind of work. A replica is the same layers
built again -- their own caches, gradient buffer and dropout generator. The other parts run:

- in processes of their own (``netcore.part_process``), the default where the platform allows:
  no interpreter lock shared with the first part, whose many short NumPy calls otherwise take
  turns with theirs. The parameters are copied to the child before each batch (~1 MB for the
  MNIST CNN), its gradient read from memory both map.
- on threads (``NETCORE_PARTS=threads``): a thread replica's parameters are views of the
  network's ``flat_params``, so nothing is copied. NumPy and BLAS release the GIL while they
  compute.

Measured on a 2-core AMD EPYC (Zen 4), batch 64, in-process alternation of 12 blocks of 30
split steps, processes / threads: the small CNN 0.86-0.87, the MNIST CNN 0.97-1.0.

Every loss is a mean over its batch, so the batch's loss and gradient are the parts' own,
weighted by their sizes:

    L = sum_k (n_k / n) L_k,        dL/dtheta = sum_k (n_k / n) dL_k/dtheta

the same mathematics as the whole batch at once, up to float rounding (sums in another order).
Batch normalisation keeps the whole batch's statistics: the parts' batchnorm layers at one depth
meet and add up their per-channel sums (three meetings per layer and step: the mean, the
variance, and backward's two sums), on threads in a ``BatchGroup``, with processes through the
parent's ``part_process.MeetingGroup``. ``parts_for`` keeps networks without
convolutions, whose steps are too short to share, in one piece.

Measured on a 2-core AMD EPYC (OpenBLAS SkylakeX), batch 64, the split time over the whole
batch's, in-process alternation of short runs (medians of 12-30 pairs): the MNIST CNN
0.91-0.95, the large CNN (batchnorm, its parts meeting six times a step) 0.83, the small CNN
0.91; whole processes of `netcore bench --only cnn --samples 19200 --threads 0` against
`--threads 1`: 0.82-0.85. A half step alone on one core takes ~11-12 ms of the MNIST CNN's
15-20 ms whole step; beside its twin on the other core 5-10 % more, whether the twin is a thread
(sharing the GIL) or another process (sharing memory and the last-level cache). The small CNN's
many short NumPy calls pay more for the GIL: its half step 5.1-6.1 ms alone, 7.8-8.0 ms beside a
twin thread, 5.3-7.1 ms beside a twin process.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from netcore import part_process
from netcore.layers import Conv2D, Dense
from netcore.layers.batchnorm import BatchGroup, BatchNorm
from netcore.network import Network
from netcore.thread_memory import keep_freed_memory

MIN_PART = 8  # samples: a smaller slice costs more in hand-over than it saves
# netcore's own choice (threads 0) splits a batch only when every slice gets at least
# AUTO_MIN_PART samples and AUTO_MIN_PART_WORK multiply-adds (convolutions and dense layers,
# forward). Measured on 2 cores (AMD EPYC, 2026-12-02; in-process alternation of 12-16 pairs of
# 40-100-batch trainer runs, split / whole time, per slice): small CNN at batch 32 (16 samples,
# 12.7 M) 1.00-1.04, MNIST CNN at 16 (8 samples, 24 M) 1.05; small CNN at 48 (24 samples, 19 M)
# 0.91, at 64 (25 M) 0.91, at 128 (51 M) 0.80; MNIST CNN at 32 (48 M) 0.905. Below that the
# hand-overs and each slice's fixed cost (its Python, about 0.9 ms a step for the MNIST CNN)
# take what the second core gives. `scripts/split_ab.py` measures it on another machine.
AUTO_MIN_PART = 16
AUTO_MIN_PART_WORK = 16_000_000
MAX_PARTS = 4


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parts_for(network: Network, threads: int = 0) -> int:
    """How many slices a batch is trained in at most: ``threads`` if set (>= 1), else one per
    usable core (at most ``MAX_PARTS``) for a convolutional network and 1 for others. A batch
    is cut in fewer when a slice would get fewer than ``MIN_PART`` samples, or (netcore's own
    choice) fewer than ``AUTO_MIN_PART`` samples or ``AUTO_MIN_PART_WORK`` multiply-adds: see
    ``SplitStep``."""
    if threads:
        return threads
    if not any(isinstance(layer, Conv2D) for layer in network.layers):
        return 1
    return min(usable_cores(), MAX_PARTS)


def in_processes(network: Network) -> bool:
    """Whether a split step trains its other parts in processes (``netcore.part_process``):
    where the platform allows it, unless ``NETCORE_PARTS=threads`` is set."""
    return os.environ.get("NETCORE_PARTS", "").lower() != "threads" and part_process.available()


def parts_run_in(network: Network) -> str:
    """Where a split batch's parts run, for messages: "processes" or "threads"."""
    return "processes" if in_processes(network) else "threads"


def split_step(network: Network, threads: int = 0) -> SplitStep | None:
    """The split step a training run with ``TrainSettings.threads`` uses, or None (every batch
    whole on the calling thread)."""
    parts = parts_for(network, threads)
    return SplitStep(network, parts, *_minimum_part(threads)) if parts > 1 else None


def batch_parts(network: Network, batch_size: int, threads: int = 0) -> int:
    """How many slices the trainer cuts a batch of ``batch_size`` into (1: it stays whole)."""
    return _cut(parts_for(network, threads), batch_size, work_per_sample(network), *_minimum_part(threads))


def _minimum_part(threads: int) -> tuple[float, int]:
    """(multiply-adds, samples) a slice needs: asked-for threads split every batch that has
    ``MIN_PART`` samples a slice; netcore's own choice (0) only those with the AUTO_ minimums."""
    return (0, MIN_PART) if threads else (AUTO_MIN_PART_WORK, AUTO_MIN_PART)


def _cut(parts: int, n: int, work: int, min_part_work: float, min_part: int = MIN_PART) -> int:
    """At most ``parts`` slices of n samples, each of >= min_part samples and min_part_work."""
    parts = min(parts, n // min_part)
    if min_part_work:
        parts = min(parts, int(n * work // min_part_work))
    return max(1, parts)


def work_per_sample(network: Network) -> int:
    """Multiply-adds of one sample's forward through the convolutions and dense layers."""
    total = 0
    for layer in network.layers:
        if isinstance(layer, Conv2D):
            kh, kw = layer.kernel
            total += math.prod(layer.out_shape) * layer.in_shape[0] * kh * kw
        elif isinstance(layer, Dense):
            total += math.prod(layer.in_shape) * layer.units
    return total


class SplitStep:
    """Forward and backward of one batch in up to ``parts`` slices at once; ``close()`` when done.

    A batch is cut in fewer slices (down to one, the whole batch on the calling thread) when a
    slice would get fewer than ``min_part`` samples or fewer than ``min_part_work`` multiply-adds.
    BLAS is held to one thread from the first split batch until a whole one or ``close()``.
    """

    def __init__(
        self,
        network: Network,
        parts: int,
        min_part_work: float = 0,
        min_part: int = MIN_PART,
        processes: bool | None = None,
    ) -> None:
        if parts < 2:
            raise ValueError(f"a split step needs at least 2 parts, got {parts}")
        keep_freed_memory()  # else each helper thread faults its temporaries in at every batch
        self.network = network
        self.in_processes = in_processes(network) if processes is None else processes
        self.groups: list[BatchGroup | part_process.MeetingGroup] = []
        if self.in_processes:
            try:
                self.replicas = [network, *self._part_processes(parts - 1)]
            except (OSError, part_process.PartProcessError) as exc:  # no child starts: threads
                part_process.disable(str(exc))  # from now on, without trying again
                warnings.warn(f"training parts run on threads: {exc}", RuntimeWarning, stacklevel=2)
                self.in_processes = False
        if not self.in_processes:
            self.replicas = [network] + [network.replica(seed=k) for k in range(1, parts)]
        for depth, layer in enumerate(network.layers):
            if not isinstance(layer, BatchNorm):
                continue
            if self.in_processes:  # the children's layers meet the parent's through their block
                layer.group = part_process.MeetingGroup(self.replicas[1:])
                self.groups.append(layer.group)
                continue
            group = BatchGroup()
            self.groups.append(group)
            for part, replica in enumerate(self.replicas):
                replica.layers[depth].group, replica.layers[depth].part = group, part
        self._pool = (
            None if self.in_processes else ThreadPoolExecutor(parts - 1, thread_name_prefix="netcore-part")
        )
        self._work = work_per_sample(network)
        self._min_part_work = min_part_work
        self._min_part = max(1, min_part)
        self._blas_held = False  # held across split batches: a change costs two hand-overs
        # {layer index: units} whose firing the parts in processes report (the trainer's health)
        self.watch: Callable[[], dict] = dict

    def _part_processes(self, count: int) -> list[part_process.PartProcess]:
        """``count`` children, each holding what ``network.replica(seed)`` builds (seeds 1, 2...)."""
        parts = part_process.acquire(count)
        try:
            for seed, part in enumerate(parts, start=1):
                part.configure(self.network, seed)
        except BaseException:
            part_process.release(parts)
            raise
        return parts

    @property
    def parts(self) -> int:
        return len(self.replicas)

    def forward_backward(self, x: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
        """The network's output (N, ...) and mean loss for the batch; ``flat_grads`` filled.

        Like ``out = net.forward(x, True); loss = net.loss.forward(out, t); net.backward(...)``.
        """
        n = len(x)
        parts = _cut(self.parts, n, self._work, self._min_part_work, self._min_part)
        self._hold_one_blas_thread(parts > 1)
        if parts < 2:  # batchnorm groups are at 1 part outside a split step
            return forward_backward(self.network, x, target)
        cuts = [round(k * n / parts) for k in range(parts + 1)]
        slices = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        weights = [(s.stop - s.start) / n for s in slices]
        for group in self.groups:
            group.start(parts)
        try:
            first, others = self._run_parts(x, target, slices, weights)
        finally:
            for group in self.groups:  # a training forward outside a split step waits for nobody
                group.start(1)
        grads = self.network.flat_grads
        for replica in self.replicas[1:parts]:  # each part's gradient came weighted by n_k / n
            grads += replica.grads if self.in_processes else replica.flat_grads
        results = [first] + others
        loss = sum(weight * part_loss for weight, (_, part_loss) in zip(weights, results, strict=True))
        return np.concatenate([out for out, _ in results]), float(loss)

    def _run_parts(self, x, target, slices, weights):
        """The first part on this thread, the others on the pool or in their processes:
        (first's result, the others')."""
        others = list(zip(self.replicas[1 : len(slices)], slices[1:], weights[1:], strict=True))
        if self.in_processes:
            watch = self.watch()
            for part, s, weight in others:
                part.start(x[s], target[s], weight, watch)
            try:
                first = forward_backward(self.network, x[slices[0]], target[slices[0]], weights[0])
            except BaseException:  # never leave a part unanswered (or waiting at a meeting)
                for part, _, _ in others:
                    part.abandon()
                raise
            return first, [part.finish() for part, _, _ in others]
        futures = [
            self._pool.submit(self._part, replica, x[s], target[s], weight) for replica, s, weight in others
        ]
        try:
            first = self._part(self.network, x[slices[0]], target[slices[0]], weights[0])
        except BaseException as exc:
            wait(futures)  # never leave a replica running past this step
            if isinstance(exc, threading.BrokenBarrierError):  # woken: another part failed first
                for future in futures:
                    cause = future.exception()
                    if cause is not None and not isinstance(cause, threading.BrokenBarrierError):
                        raise cause from None
            raise
        return first, [future.result() for future in futures]

    def _part(self, network: Network, x: np.ndarray, target: np.ndarray, weight: float):
        try:
            return forward_backward(network, x, target, weight)
        except BaseException:
            for group in self.groups:  # the other parts may be waiting for this one's sums
                group.abort()
            raise

    def release_blas(self) -> None:
        """BLAS back at its own thread count until the next split batch: for other work between
        batches (the validation at an epoch's end)."""
        self._hold_one_blas_thread(False)

    def _hold_one_blas_thread(self, hold: bool) -> None:
        if hold and not self._blas_held:
            one_blas_thread.__enter__()
        elif not hold and self._blas_held:
            one_blas_thread.__exit__(None, None, None)
        self._blas_held = hold

    def close(self) -> None:
        self._hold_one_blas_thread(False)
        for layer in self.network.layers:
            if isinstance(layer, BatchNorm):
                layer.group = None
        if self.in_processes:
            part_process.release(self.replicas[1:])
        else:
            self._pool.shutdown(wait=True)


def forward_backward(
    network: Network, x: np.ndarray, target: np.ndarray, weight: float = 1.0
) -> tuple[np.ndarray, float]:
    """Output and mean loss of a batch (or a part of one) through ``network``, ``flat_grads``
    filled with ``weight`` times its gradient (dL/d(output) scaled before backward: no pass
    over the parameters)."""
    out = network.forward(x, training=True)
    loss = network.loss.forward(out, target)
    d_out = network.loss.backward()
    if weight != 1.0:
        d_out = d_out * weight
    network.backward(d_out)
    return out, loss


class _OneBlasThread:
    """BLAS held to one thread while any split step runs, from however many threads: the first
    to enter sets it, the last to leave restores what it was (threadpoolctl; the library list
    is looked up once, ~1.5 ms).

    Every change is made on one long-lived thread of its own: OpenBLAS 0.3.31 ignores a change
    of its thread count made while another living thread made the last one (measured: a worker
    thread's change is ignored once the main thread has made one, and the main thread's while a
    worker that made one is alive). The hand-over costs ~0.05 ms per change.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._controller = None
        self._limiter = None
        self._owner: ThreadPoolExecutor | None = None

    def _on_owner(self, change):
        if self._owner is None:
            self._owner = ThreadPoolExecutor(1, thread_name_prefix="netcore-blas-threads")
        return self._owner.submit(change).result()

    def _limit(self):
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController().select(user_api="blas")
        return self._controller.limit(limits=1)

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._limiter = self._on_owner(self._limit)
            self._holders += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                self._on_owner(self._limiter.restore_original_limits)
                self._limiter = None


one_blas_thread = _OneBlasThread()
