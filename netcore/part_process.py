"""A part of a split batch trained in a process of its own: no interpreter shared with the first.

``netcore.parallel`` cuts a batch into parts. On threads, every part's Python and every short
NumPy call take turns at one interpreter lock; measured on a 2-core AMD EPYC (one BLAS thread
each, 32 images per part, medians of 3-second runs, four alternating rounds), a part of the small
CNN took 4.3-4.9 ms alone, 5.1-5.7 ms beside a twin thread and 4.2-4.8 ms beside a twin process;
the MNIST CNN 11.4-12.1, 11.7-13.9 and 10.9-12.5 ms. So parts after the first can run here.

A ``PartProcess`` is a child Python (``python -m netcore.part_process``, started as
``netcore.child_process`` says) that builds the same
network (the spec, the replica's seed, the convolutions' methods) and trains one part of each
batch through it. The two share one memory block (an anonymous file mapped by both):

    [ parameters | the child's gradient | x part | target part | outputs | meeting sums ]

Per batch the parent copies the parameters in (the child's layers are views of them), writes its
part, and sends one short message; the child runs ``forward_backward`` (its gradient, weighted
by its share of the batch, lands in the block), copies its outputs in and answers with the loss. The
parent trains the first part meanwhile and adds the child's gradient to its own. Results equal
a thread replica's bit for bit: the same code on the same values with one BLAS thread.

A batchnorm layer needs the whole batch's per-channel sums, so the parts meet there (three
times a layer and step, as on threads, ``BatchGroup``): the child writes its sums into the
block's meeting slot and says "met"; the parent, at the same layer of its own part
(``MeetingGroup``), adds every part's sums in part order, writes the total into each child's
slot and says "sums". If the parent's part fails meanwhile, ``abandon`` tells a waiting child
to stop instead, and collects its answer, so that no child is left waiting into the next batch.

Children are started once per Python process (the first costs ~0.3 s: importing NumPy and
netcore) and reused by later split steps (``acquire`` / ``release``); they ignore Ctrl-C, and
end when told, when the parent closes its end, or at exit. POSIX only (``available``). Between
batches a child polls for a few milliseconds before it blocks (``SPIN_SECONDS``), and the parent
polls as long for a part's answer (``ANSWER_SPIN_SECONDS``).
"""

from __future__ import annotations

import atexit
import mmap
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path

import numpy as np

from netcore import child_process
from netcore.layers import Conv2D
from netcore.layers.batchnorm import BatchNorm

ALIGN = 64  # bytes: every array of the block starts on a cache line


_unavailable: str | None = None  # why children cannot start here, once one did not


def available() -> bool:
    """Whether parts can run in processes here: POSIX (fd passing over a Unix socket), a Python
    that can run ``-m netcore.part_process`` (not a frozen application), and no child that
    failed to start before (``disable``)."""
    posix = os.name == "posix" and hasattr(socket, "AF_UNIX")
    return posix and not getattr(sys, "frozen", False) and _unavailable is None


def disable(reason: str) -> None:
    """No more children in this process (one could not start: ``reason``)."""
    global _unavailable
    _unavailable = reason


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _anonymous_file(size: int) -> int:
    """A file descriptor of ``size`` zero bytes that only this process (and whoever receives the
    descriptor) can reach: memfd on Linux, else an unlinked temporary file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("netcore-part")
    else:
        fd, path = tempfile.mkstemp(prefix="netcore-part-")
        os.unlink(path)
    os.ftruncate(fd, size)
    return fd


class _Block:
    """A shared memory block and typed views into it at byte offsets."""

    def __init__(self, fd: int, size: int) -> None:
        self.size = size
        self.map = mmap.mmap(fd, size)

    def view(self, offset: int, dtype, shape) -> np.ndarray:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(self.map, dtype, count, offset).reshape(shape)


def _layout(network, n: int, x_dtype, x_shape, t_dtype, t_shape) -> dict[str, int]:
    """Byte offsets of the block's arrays for a part of n samples, and its total size."""
    params = network.flat_params
    sizes = {
        "params": params.nbytes,
        "grads": params.nbytes,
        "x": n * int(np.prod(x_shape, dtype=np.int64)) * np.dtype(x_dtype).itemsize,
        "target": n * int(np.prod(t_shape, dtype=np.int64)) * np.dtype(t_dtype).itemsize,
        "out": n * int(np.prod(network.output_shape, dtype=np.int64)) * network.dtype.itemsize,
        "meet": _meeting_bytes(network),
    }
    offsets, at = {}, 0
    for name, size in sizes.items():
        offsets[name] = at
        at += _aligned(max(size, 1))
    offsets["size"] = at
    return offsets


def _meeting_bytes(network) -> int:
    """Room for the largest sums a batchnorm layer's parts exchange: backward's 2C + 1 values,
    in float64 at most (``BatchNorm``)."""
    channels = [layer.in_shape[0] for layer in network.layers if isinstance(layer, BatchNorm)]
    return (2 * max(channels) + 1) * 8 if channels else 0


class PartProcessError(RuntimeError):
    """The child failed (its traceback is in the message) or ended."""


class PartProcess:
    """One child process training a part of each batch (see the module docstring).

    ``configure(network, seed)`` once per split step, then per batch ``start(x, target, weight)``
    and ``finish()`` -> (outputs, loss), with the child's weighted gradient in ``grads``.
    """

    def __init__(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._process = subprocess.Popen(  # one BLAS thread, as on a split step's threads
            child_process.command("netcore.part_process", str(child.fileno())),
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            env=child_process.environment(),
        )
        child.close()
        self._owner = os.getpid()  # a forked copy of the parent must not close this child
        self._conn = Connection(parent.detach())
        self._network = None
        self._block: _Block | None = None
        self._layout: dict[str, int] = {}
        self._kind: tuple | None = None  # the dtypes and per-sample shapes the block is laid out for
        self._capacity = 0  # samples a part may have in that block
        self._pending: int | None = None  # the samples of the part sent and not yet answered
        self._fired: dict[int, np.ndarray] = {}
        self.grads: np.ndarray | None = None

    # -- set-up ------------------------------------------------------------------------
    def configure(self, network, seed: int) -> None:
        """Build the child's copy of ``network`` (what ``network.replica(seed)`` builds)."""
        self.abandon()  # a part of a step that stopped early
        convolutions = [(i, layer) for i, layer in enumerate(network.layers) if isinstance(layer, Conv2D)]
        methods = [(i, layer.method, layer.exact_rows) for i, layer in convolutions]
        self._network = network
        self._block, self._layout, self._kind, self._capacity = None, {}, None, 0
        self._send(("network", network.spec, network.dtype.str, seed, methods))
        self._answer()

    def _ensure_block(self, x: np.ndarray, target: np.ndarray) -> None:
        """A block that holds a part like this one: kept while parts fit it, else a new one with
        room for twice as many samples."""
        kind = (x.dtype.str, x.shape[1:], target.dtype.str, target.shape[1:])
        if self._block is not None and self._kind == kind and len(x) <= self._capacity:
            return
        capacity = max(len(x), 2 * self._capacity if self._kind == kind else len(x))
        layout = _layout(self._network, capacity, x.dtype, x.shape[1:], target.dtype, target.shape[1:])
        fd = _anonymous_file(layout["size"])
        try:
            self._block = _Block(fd, layout["size"])
            self._send(("block", layout))
            send_handle(self._conn, fd, self._process.pid)
        finally:
            os.close(fd)
        self._answer()
        self._layout, self._kind, self._capacity = layout, kind, capacity
        shape, dtype = self._network.flat_params.shape, self._network.dtype
        self._params = self._block.view(layout["params"], dtype, shape)
        self.grads = self._block.view(layout["grads"], dtype, shape)

    # -- one batch ---------------------------------------------------------------------
    def start(self, x: np.ndarray, target: np.ndarray, weight: float, watch: dict | None = None) -> None:
        """Send one part: the child trains it while this thread does other work.

        ``watch``: {layer index: unit indices} whose firing (``fired_units``) to report back."""
        self.abandon()  # a part of a step that stopped early
        target = np.asarray(target)
        self._ensure_block(x, target)
        layout = self._layout
        np.copyto(self._params, self._network.flat_params)
        xs = self._block.view(layout["x"], x.dtype, x.shape)
        np.copyto(xs, x)
        ts = self._block.view(layout["target"], target.dtype, target.shape)
        np.copyto(ts, target)
        # np.geterr(): the caller's floating-point error handling (a trainer ignores overflow,
        # which its NaN guard reports in words), applied to the child's part too
        shapes = ((x.dtype.str, x.shape), (target.dtype.str, target.shape))
        message = ("step", *shapes, float(weight), watch or {}, np.geterr())
        self._send(message)
        self._pending = len(x)

    def finish(self) -> tuple[np.ndarray, float]:
        """Wait for the part sent by ``start``: (its outputs, a view valid until the next start,
        and its mean loss); ``grads`` holds its weighted gradient."""
        n, self._pending = self._pending, None
        # the answer comes within a fraction of a millisecond of this part's own end: polling
        # for it beats waking from a blocking read (see ANSWER_SPIN_SECONDS)
        _spin_until_readable(self._conn, ANSWER_SPIN_SECONDS)
        loss, fired = self._answer()
        self._fired = fired
        out = self._block.view(self._layout["out"], self._network.dtype, (n, *self._network.output_shape))
        return out, loss

    def meet(self, local: np.ndarray) -> np.ndarray:
        """Wait for the child at a batchnorm meeting: its sums, shaped like ``local`` (a view of
        its slot, which ``answer_meeting`` then fills with the total). PartProcessError if the
        child failed on the way there."""
        _spin_until_readable(self._conn, ANSWER_SPIN_SECONDS)
        try:
            kind, _ = self._receive()
        except PartProcessError:
            self._pending = None  # its answer was the error: nothing more to wait for
            raise
        if kind != "met":
            self._pending = None
            raise PartProcessError(f"a training part's process answered {kind!r} where its part meets")
        return self._meeting_slot(local)

    def answer_meeting(self, total: np.ndarray) -> None:
        """The whole batch's sums to the child waiting at the meeting ``meet`` found it at."""
        np.copyto(self._meeting_slot(total), total)
        self._send(("sums",))

    def _meeting_slot(self, like: np.ndarray) -> np.ndarray:
        return self._block.view(self._layout["meet"], like.dtype, like.shape)

    def abandon(self) -> None:
        """After the parent's part failed: tell the child to stop if it waits at a meeting (or
        will), and collect its answer (an error or its result, both dropped)."""
        if self._pending is None:
            return
        self._pending = None
        try:
            self._send(("stop",))  # a child that has answered already finds it first next batch
            while self._receive()[0] == "met":
                pass
        except PartProcessError:
            pass

    def fired_units(self, index: int) -> np.ndarray | None:
        """Which of layer ``index``'s units asked about in ``start`` fired in the last part (their
        indices), or None if it was not asked."""
        return self._fired.get(index)

    # -- messages ----------------------------------------------------------------------
    def _send(self, message) -> None:
        try:
            self._conn.send(message)
        except OSError as exc:
            raise PartProcessError(f"a training part's process has ended ({exc})") from None

    def _answer(self):
        """The rest of the child's next message (one value, or a tuple of them)."""
        kind, rest = self._receive()
        return rest[0] if len(rest) == 1 else tuple(rest)

    def _receive(self) -> tuple[str, list]:
        """The child's next message: (its kind, the rest); PartProcessError for an error or an end."""
        try:
            kind, *rest = self._conn.recv()
        except (EOFError, OSError):
            try:
                code = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = "none yet"
            raise PartProcessError(
                f"a training part's process ended unexpectedly (exit code {code}; "
                "anything it said went to standard error)"
            ) from None
        if kind == "error":
            raise PartProcessError(f"a training part failed in its process:\n{rest[0]}")
        return kind, rest

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        try:
            self._conn.send(("close",))
        except OSError:
            pass
        self._conn.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class MeetingGroup:
    """A batchnorm layer's ``group`` in the parent when the batch's other parts run in the
    processes ``children``: ``total(0, local)`` waits for each child at the same layer, adds the
    parts' sums in part order (as ``BatchGroup`` does on threads: the same values bit for bit),
    and hands the total back to them. ``start(parts)``: how many parts the next batch has (1:
    nobody waits)."""

    def __init__(self, children: list[PartProcess]) -> None:
        self.children = children
        self.parts = 1

    def start(self, parts: int) -> None:
        self.parts = parts

    def total(self, part: int, local: np.ndarray) -> np.ndarray:
        if self.parts == 1:
            return local
        children = self.children[: self.parts - 1]
        total = local.copy()
        for child in children:
            total += child.meet(local)
        for child in children:
            child.answer_meeting(total)
        return total


# -- the pool of idle children -----------------------------------------------------------
_idle: list[PartProcess] = []
_lock = threading.Lock()


def acquire(count: int) -> list[PartProcess]:
    """``count`` children, reused if idle, else started."""
    with _lock:
        mine = [p for p in _idle if p._owner == os.getpid()]  # never a forked parent's children
        reused = [p for p in mine[:count] if p.alive]
        _idle[:] = [p for p in _idle if p not in mine[:count]]
    parts = reused
    try:
        while len(parts) < count:
            parts.append(PartProcess())
    except BaseException:  # one could not start: the others go back for later
        release(parts)
        raise
    return parts


def release(parts: list[PartProcess]) -> None:
    """Give children back for the next split step (closed at exit)."""
    with _lock:
        _idle.extend(p for p in parts if p.alive and p._pending is None)


def peak_rss_mib() -> list[float]:
    """The peak resident memory (MiB) of each idle child, where /proc tells it (Linux)."""
    peaks = []
    with _lock:
        pids = [p._process.pid for p in _idle if p.alive]
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


@atexit.register
def _close_idle() -> None:
    with _lock:
        parts, _idle[:] = list(_idle), []
    for part in parts:
        if part._owner == os.getpid():
            part.close()


# -- the child ---------------------------------------------------------------------------
def fired_units(network, watch: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """{layer index: those of the given units that fired in the last forward} (see health)."""
    from netcore.inspect.health import fired_units as fired

    found = {}
    for index, units in watch.items():
        units = np.asarray(units, dtype=np.intp)
        result = fired(network.layers[index], units)
        if result is not None:
            found[index] = units[result]
    return found


# After each answer the child polls for the next message for this long before it blocks: the
# next batch comes within a millisecond or two, and waking a blocked process costs more. Measured
# on a 2-core AMD EPYC (a ping-pong of short messages, the parent busy 1 ms between them): the
# round trip 123 us blocked, 65 us polling (medians of 1,900).
SPIN_SECONDS = 0.003
# The parent polls as long for the child's answer before it blocks: the two parts end within a
# fraction of a millisecond of each other. Measured on a 2-core Intel Xeon (SkylakeX, 2026-12-04),
# the MNIST CNN's split steps at 64: from the parent's part's end to the child's answer read
# 0.38-0.43 -> 0.20-0.25 ms (medians of 130 steps, two runs each), ~1.5 % of the step.
ANSWER_SPIN_SECONDS = SPIN_SECONDS


def _spin_until_readable(conn: Connection, seconds: float) -> None:
    """Poll ``conn`` without blocking until a message is there or ``seconds`` have passed."""
    end = time.perf_counter() + seconds
    while not conn.poll(0) and time.perf_counter() < end:
        pass


class PartStopped(RuntimeError):
    """Raised in a child waiting at a batchnorm meeting when the parent's part has failed."""


class _ChildMeeting:
    """The child's side of its batchnorm layers' meetings (their ``group``; see the module
    docstring): its sums into the block's slot, "met", then the total from the same slot."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.block: _Block | None = None
        self.offset = 0

    def total(self, part: int, local: np.ndarray) -> np.ndarray:
        slot = self.block.view(self.offset, local.dtype, local.shape)
        np.copyto(slot, local)
        self.conn.send(("met",))
        _spin_until_readable(self.conn, SPIN_SECONDS)
        if self.conn.recv()[0] != "sums":
            raise PartStopped("the first part of this batch failed: this part stopped at a batchnorm layer")
        return slot.copy()


def _serve(conn: Connection) -> None:
    from netcore.network import Network
    from netcore.parallel import forward_backward
    from netcore.thread_memory import keep_freed_memory

    keep_freed_memory()
    net = block = layout = None
    meeting = _ChildMeeting(conn)
    while True:
        try:
            _spin_until_readable(conn, SPIN_SECONDS)
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent has gone
        kind = message[0]
        if kind == "close":
            return
        if kind == "stop":  # for a part that had answered before the parent's part failed
            continue
        try:
            if kind == "network":
                _, spec, dtype, seed, methods = message
                net = Network(spec, seed=seed, dtype=np.dtype(dtype))
                for index, method, exact_rows in methods:
                    net.layers[index].use_method(method)
                    net.layers[index].exact_rows = exact_rows
                for layer in net.layers:
                    if isinstance(layer, BatchNorm):
                        layer.group = meeting
                block = None
                conn.send(("ready", None))
            elif kind == "block":
                layout = message[1]
                fd = recv_handle(conn)
                block = _Block(fd, layout["size"])
                os.close(fd)
                meeting.block, meeting.offset = block, layout["meet"]
                shape = net.flat_params.shape  # the layers' params and grads become views of the block
                net._pack(
                    block.view(layout["params"], net.dtype, shape),
                    block.view(layout["grads"], net.dtype, shape),
                )
                conn.send(("ready", None))
            elif kind == "step":
                _, (x_dtype, x_shape), (t_dtype, t_shape), weight, watch, errors = message
                x = block.view(layout["x"], x_dtype, x_shape)
                target = block.view(layout["target"], t_dtype, t_shape)
                with np.errstate(**errors):
                    out, loss = forward_backward(net, x, target, weight)  # its gradient: in the block
                np.copyto(block.view(layout["out"], net.dtype, out.shape), out)
                conn.send(("done", float(loss), fired_units(net, watch) if watch else {}))
        except Exception:
            conn.send(("error", traceback.format_exc()))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _serve(Connection(int(sys.argv[1])))
