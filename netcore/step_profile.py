"""Where a training step's time goes: each layer's forward and backward, the loss, the optimizer, the rest.

``netcore bench --layers`` prints it. The pieces are timed as the trainer runs them: the layers and
the loss on one part of the batch (``netcore.parallel.batch_parts``: the part one core takes when the
batch is split, with BLAS held to one thread as the split step holds it), the trainer's gather of a
whole batch from the data set, the optimizer once over every parameter. Each piece is the median of
``rounds`` passes; the whole step is the median of the trainer's own steps (the gather, the parts on
both cores, the hand-over, the checks and snapshot, the optimizer), timed in blocks that alternate
with the pieces' so that a machine whose speed drifts slows both alike. What a step spends beyond the
pieces is the other part's lateness, the hand-over, the trainer's checks and snapshot, and the
data a step finds out of cache where the pieces, repeated on one batch, found it in cache; a part
beside the other one on the second core also runs slower than alone where the two contend for the
memory bus and the last-level cache.

To tell those apart, the first part's layers (the trainer's own network, on the calling thread) are
also clocked inside the whole steps: a layer slower there than alone runs slower beside the other
part (or, a batchnorm layer, waits there for the other part's sums); what the step spends
beyond those and the loss, gather and optimizer is the hand-over, the wait for the other part, and
the trainer's own work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from netcore.network import Network
from netcore.optimizers import make_optimizer
from netcore.parallel import batch_parts, parts_run_in
from netcore.train import Trainer, TrainSettings

BLOCKS = 4  # pieces and whole steps alternate in this many blocks: a drifting machine slows both alike


def profile_step(
    spec: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    batch: int = 64,
    threads: int = 0,
    rounds: int = 40,
    optimizer: str = "adam",
    beside: Callable[[int], list[float]] | None = None,
    beside_layers: Callable[..., tuple[list[list[float]], list[list[float]]]] | None = None,
) -> dict[str, Any]:
    """Milliseconds of each piece of a training step of ``spec`` at ``batch`` (JSON-able).

    Shapes: x (n, *input_shape) float32 with n >= batch, y (n,) labels.
    Returns {"parts", "part_size", "runs_in", "layers": [{"layer", "forward_ms", "backward_ms",
    "step_forward_ms", "step_backward_ms"}], "loss_ms", "gather_ms", "optimizer_ms", "pieces_ms",
    "layers_ms", "step_ms", "steps", "step_layers_ms", "beside_step_ms", "beside_layers_ms"}:
    ``layers_ms`` is the layers' sum alone, the ``step_`` layer times are the first part's inside
    the whole steps, ``step_layers_ms`` their sum. ``beside(k)``, if given, runs k steps of
    another engine and returns their seconds: it takes its turn in every block, and its median is
    ``beside_step_ms`` (else None). ``beside_layers(x, labels, k, one_thread)``, if given, runs k
    training passes of another engine's layers over the same part and returns their seconds
    ([pass][layer] forward, the same backward; ``bench.torch_layer_passes``): it takes its turn
    beside the pieces in every block, on one thread when the batch is split, and its medians are
    each layer row's ``beside_forward_ms`` and ``beside_backward_ms``, their sum
    ``beside_layers_ms`` (else None).
    """
    if batch < 1 or rounds < 1:
        raise ValueError(f"batch and rounds must be at least 1, got {batch} and {rounds}")
    if len(x) < batch:
        raise ValueError(f"a step of {batch} samples needs at least {batch}, got {len(x)}")
    net = Network(spec, seed=0)
    parts = batch_parts(net, batch, threads)
    part_size = math.ceil(batch / parts)
    settings = TrainSettings(epochs=1, batch_size=batch, threads=threads, optimizer=optimizer, lr=1e-3)
    trainer = Trainer(Network(spec, seed=0), settings, x, y)
    part_x, part_target = trainer.x[:part_size], trainer.targets[:part_size]  # as the trainer feeds them
    per_block = math.ceil(rounds / BLOCKS)
    forward, backward, loss, gathers, gaps, step_forward, step_backward = [], [], [], [], [], [], []
    beside_gaps: list[float] = []
    beside_forward: list[list[float]] = []
    beside_backward: list[list[float]] = []
    for block in range(BLOCKS):
        with threadpool_limits(1) if parts > 1 else nullcontext():  # a whole batch: all threads
            f, b, l_ = _layer_rounds(net, part_x, part_target, per_block, warm=block == 0)
        forward += f
        backward += b
        loss += l_
        if beside_layers is not None:
            f, b = beside_layers(part_x, y[:part_size], per_block, parts > 1)
            beside_forward += f
            beside_backward += b
        gathers += _gather_rounds(trainer, len(trainer.x), batch, per_block)
        g, f, b = _step_gaps(trainer, len(trainer.x), batch, max(per_block, 5))
        gaps += g
        step_forward += f
        step_backward += b
        if beside is not None:
            beside_gaps += beside(max(per_block, 5))
    f_ms, b_ms = np.median(forward, axis=0) * 1e3, np.median(backward, axis=0) * 1e3
    step_f_ms, step_b_ms = np.median(step_forward, axis=0) * 1e3, np.median(step_backward, axis=0) * 1e3
    none = [None] * len(net.layers)
    other_f_ms = np.median(beside_forward, axis=0) * 1e3 if beside_forward else none
    other_b_ms = np.median(beside_backward, axis=0) * 1e3 if beside_backward else none
    layers = [
        {
            "layer": layer.describe(),
            "forward_ms": float(fw),
            "backward_ms": float(bw),
            "step_forward_ms": float(sf),
            "step_backward_ms": float(sb),
            "beside_forward_ms": None if of is None else float(of),
            "beside_backward_ms": None if ob is None else float(ob),
        }
        for layer, fw, bw, sf, sb, of, ob in zip(
            net.layers, f_ms, b_ms, step_f_ms, step_b_ms, other_f_ms, other_b_ms, strict=True
        )
    ]
    loss_ms, gather_ms = float(np.median(loss) * 1e3), float(np.median(gathers) * 1e3)
    optimizer_ms = _optimizer_ms(net, optimizer, rounds)
    layers_ms = float(f_ms.sum() + b_ms.sum())
    pieces = layers_ms + loss_ms + gather_ms + optimizer_ms
    return {
        "parts": parts,
        "part_size": part_size,
        "runs_in": parts_run_in(net) if parts > 1 else "whole",
        "layers": layers,
        "loss_ms": loss_ms,
        "gather_ms": gather_ms,
        "optimizer_ms": optimizer_ms,
        "pieces_ms": pieces,
        "layers_ms": layers_ms,
        "step_ms": float(np.median(gaps) * 1e3),
        "steps": len(gaps),
        "step_layers_ms": float(step_f_ms.sum() + step_b_ms.sum()),
        "beside_step_ms": float(np.median(beside_gaps) * 1e3) if beside_gaps else None,
        "beside_layers_ms": float(np.sum(other_f_ms) + np.sum(other_b_ms)) if beside_forward else None,
    }


def _layer_rounds(net: Network, x: np.ndarray, target: np.ndarray, rounds: int, warm: bool):
    """Seconds of each layer's forward and backward, and of the loss, in ``rounds`` training passes
    over the batch x with its loss targets (after one to warm up when ``warm``):
    ([per layer] * rounds, the same, [loss])."""
    loss = []
    with _layer_clocks(net) as (forward, backward):
        for _ in range(rounds + warm):  # a first pass builds the buffers and views
            out = net.forward(x, training=True)
            start = time.perf_counter()
            net.loss.forward(out, target)
            d_out = net.loss.backward()
            loss.append(time.perf_counter() - start)
            net.backward(d_out)
    counted = slice(int(warm), None)
    return _per_pass(forward, counted), _per_pass(backward, counted), loss[counted]


def _optimizer_ms(net: Network, name: str, rounds: int) -> float:
    """Median milliseconds of one optimizer step over all of the network's parameters."""
    optimizer = make_optimizer(name, 1e-3)
    gradient = np.random.default_rng(0).standard_normal(net.flat_params.size).astype(net.dtype) * 1e-3
    params, grads = {"all": net.flat_params.copy()}, {"all": gradient}
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        optimizer.step(params, grads)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]) * 1e3)


def _gather_rounds(trainer: Trainer, n: int, batch: int, rounds: int) -> list[float]:
    """Seconds of the trainer's own gather of ``batch`` random samples of n, ``rounds`` times."""
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(rounds):
        idx = rng.permutation(n)[:batch]
        start = time.perf_counter()
        trainer._gather(idx)  # as each step runs it
        seconds.append(time.perf_counter() - start)
    return seconds


def _step_gaps(trainer: Trainer, n: int, batch: int, steps: int, warm: int = 10):
    """Seconds of ``steps`` whole training steps (the gaps between batches' ends) after ``warm``
    (a run starts its split step afresh: a part process takes a few steps to settle), and the first
    part's layers' seconds in them: (gaps, forward [per layer] per step, backward the same)."""
    need = warm + 1 + steps
    stamps: list[float] = []
    with _layer_clocks(trainer.network) as (forward, backward):
        trainer.run(
            epochs=math.ceil(need / (n // batch)),
            on_batch=lambda stats: stamps.append(time.perf_counter()),
            should_stop=lambda: len(stamps) >= need,
        )
    # one training pass per layer and step; the first warm + 1 steps' are left out with their gaps
    counted = slice(warm + 1, need)
    return list(np.diff(stamps[warm:need])), _per_pass(forward, counted), _per_pass(backward, counted)


def _per_pass(times: list[list[float]], counted: slice) -> list[list[float]]:
    """Per-layer lists of seconds ([layer][pass]) as per-pass lists ([pass][layer]), the passes
    ``counted`` only."""
    return [list(one_pass) for one_pass in zip(*(layer[counted] for layer in times), strict=True)]


@contextmanager
def _layer_clocks(network: Network) -> Iterator[tuple[list[list[float]], list[list[float]]]]:
    """Seconds of each training forward and each backward of ``network``'s layers while inside:
    (forward, backward), a list per layer. The layers' own methods are wrapped on the instances
    and unwrapped on leaving (replicas and part processes build layers of their own)."""
    forward: list[list[float]] = [[] for _ in network.layers]
    backward: list[list[float]] = [[] for _ in network.layers]
    for layer, f_times, b_times in zip(network.layers, forward, backward, strict=True):
        layer.forward = _clocked_forward(layer.forward, f_times)
        layer.backward = _clocked(layer.backward, b_times)
    try:
        yield forward, backward
    finally:
        for layer in network.layers:
            del layer.forward, layer.backward  # the class's methods again


def _clocked_forward(method: Callable, seconds: list[float]) -> Callable:
    """``method`` (a layer's forward) that appends its seconds to ``seconds`` in training passes."""

    def forward(x, training=False):
        start = time.perf_counter()
        out = method(x, training)
        if training:
            seconds.append(time.perf_counter() - start)
        return out

    return forward


def _clocked(method: Callable, seconds: list[float]) -> Callable:
    """``method`` (a layer's backward) that appends its seconds to ``seconds``."""

    def backward(d_out):
        start = time.perf_counter()
        d_in = method(d_out)
        seconds.append(time.perf_counter() - start)
        return d_in

    return backward


def format_profile(name: str, batch: int, p: dict[str, Any], other: str = "other engine") -> str:
    """The profile as a table, one line per layer (milliseconds): alone, then in the whole step,
    then (when the profile has them) the ``other`` engine's same layer alone and the ratio of
    netcore's forward + backward alone to its."""
    split = (
        f"{p['parts']} parts of {p['part_size']} in {p['runs_in']}, pieces timed on one part, 1 BLAS thread"
        if p["parts"] > 1
        else "whole batches"
    )
    width = max([len(row["layer"]) + 3 for row in p["layers"]] + [24])
    beside = all(row.get("beside_forward_ms") is not None for row in p["layers"])
    lines = [
        f"{name} batch {batch}: {split} (medians, ms)",
        f"  {'':<{width}}  {'alone':^17}   {'in the step':^17}"
        + (f"   {other + ', alone':^17}  netcore /" if beside else ""),
        f"  {'layer':<{width}}  forward  backward   forward  backward"
        + ("   forward  backward  " + other if beside else ""),
    ]
    for k, row in enumerate(p["layers"], 1):
        label = f"{k} {row['layer']}"
        line = (
            f"  {label:<{width}}  {row['forward_ms']:7.3f}  {row['backward_ms']:8.3f}"
            f"   {row['step_forward_ms']:7.3f}  {row['step_backward_ms']:8.3f}"
        )
        if beside:
            theirs = row["beside_forward_ms"] + row["beside_backward_ms"]
            ratio = (row["forward_ms"] + row["backward_ms"]) / theirs if theirs > 0 else math.inf
            line += f"   {row['beside_forward_ms']:7.3f}  {row['beside_backward_ms']:8.3f}  {ratio:7.2f}x"
        lines.append(line)
    others = p["loss_ms"] + p["gather_ms"] + p["optimizer_ms"]
    alone = p["layers_ms"]
    lines += [
        f"  {'loss, forward + backward':<{width}}  {p['loss_ms']:7.3f}",
        f"  {'batch gather':<{width}}  {p['gather_ms']:7.3f}",
        f"  {'optimizer step':<{width}}  {p['optimizer_ms']:7.3f}",
        f"  {'sum of the pieces':<{width}}  {p['pieces_ms']:7.3f}",
        f"  {'whole step (trainer)':<{width}}  {p['step_ms']:7.3f}   median of {p['steps']} steps;"
        f" {p['step_ms'] - p['pieces_ms']:+.3f} beyond the pieces:",
        f"  {'':<{width}}  {p['step_layers_ms'] - alone:+7.3f}   the layers in the step, against alone",
        f"  {'':<{width}}  {p['step_ms'] - p['step_layers_ms'] - others:+7.3f}   the rest: "
        + (
            "the other part's lateness, hand-over, checks"
            if p["parts"] > 1
            else "checks, snapshot, cold data"
        ),
    ]
    return "\n".join(lines)
