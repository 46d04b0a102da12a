"""Where a training step's time goes: each layer's forward and backward, the loss, the optimizer, the rest.

``netcore bench --layers`` prints it. The pieces are timed as the trainer runs them: the layers and
the loss on one part of the batch (``netcore.parallel.batch_parts``: the part one core takes when the
batch is split, with BLAS held to one thread as the split step holds it), the trainer's gather of a
whole batch from the data set, the optimizer once over every parameter. Each piece is the median of
``rounds`` steps; the whole step is the median of the trainer's own steps (the gather, the parts on
both cores, the hand-over, the checks and snapshot, the optimizer). What a step spends beyond the
pieces is the other part's lateness, the hand-over, the trainer's checks and snapshot, and the
data a step finds out of cache where the pieces, repeated on one batch, found it in cache; a part
beside the other one on the second core also runs slower than alone where the two contend for the
memory bus and the last-level cache (a memory-bound network more than a product-bound one).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from netcore.network import Network
from netcore.optimizers import make_optimizer
from netcore.parallel import batch_parts, parts_run_in
from netcore.train import Trainer, TrainSettings


def profile_step(
    spec: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    batch: int = 64,
    threads: int = 0,
    rounds: int = 40,
    optimizer: str = "adam",
) -> dict[str, Any]:
    """Milliseconds of each piece of a training step of ``spec`` at ``batch`` (JSON-able).

    Shapes: x (n, *input_shape) float32 with n >= batch, y (n,) labels.
    Returns {"parts", "part_size", "runs_in", "layers": [{"layer", "forward_ms", "backward_ms"}],
    "loss_ms", "gather_ms", "optimizer_ms", "pieces_ms", "step_ms", "steps"}.
    """
    if batch < 1 or rounds < 1:
        raise ValueError(f"batch and rounds must be at least 1, got {batch} and {rounds}")
    if len(x) < batch:
        raise ValueError(f"a step of {batch} samples needs at least {batch}, got {len(x)}")
    net = Network(spec, seed=0)
    x = np.ascontiguousarray(x, dtype=net.dtype).reshape((len(x),) + net.input_shape)
    parts = batch_parts(net, batch, threads)
    part_size = math.ceil(batch / parts)
    with threadpool_limits(1) if parts > 1 else nullcontext():  # a whole batch: all threads
        layers, loss_ms = _layer_times(net, x[:part_size], y[:part_size], rounds)
    optimizer_ms = _optimizer_ms(net, optimizer, rounds)
    step_ms, steps, gather_ms = _step_ms(spec, x, y, batch, threads, optimizer, rounds)
    layers_ms = sum(row["forward_ms"] + row["backward_ms"] for row in layers)
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
        "step_ms": step_ms,
        "steps": steps,
    }


def _layer_times(net: Network, x: np.ndarray, labels: np.ndarray, rounds: int) -> tuple[list[dict], float]:
    """Median forward and backward milliseconds of each layer, and of the loss, on the batch x."""
    if net.is_classifier:  # as the trainer builds its targets
        target = net.loss.targets(labels, net.output_shape[0], net.dtype)
    else:
        target = labels.astype(net.dtype).reshape(len(labels), -1)
    forward = np.zeros((rounds + 1, len(net.layers)))
    backward = np.zeros_like(forward)
    loss = np.zeros(rounds + 1)
    for r in range(rounds + 1):  # round 0 warms up (buffers, views, the BLAS kernels)
        out = x
        for k, layer in enumerate(net.layers):
            start = time.perf_counter()
            out = layer.forward(out, training=True)
            forward[r, k] = time.perf_counter() - start
        start = time.perf_counter()
        net.loss.forward(out, target)
        d_out = net.loss.backward()
        loss[r] = time.perf_counter() - start
        for k in reversed(range(len(net.layers))):
            start = time.perf_counter()
            d_out = net.layers[k].backward(d_out)
            backward[r, k] = time.perf_counter() - start
    f_ms = np.median(forward[1:], axis=0) * 1e3
    b_ms = np.median(backward[1:], axis=0) * 1e3
    rows = [
        {"layer": layer.describe(), "forward_ms": float(f), "backward_ms": float(b)}
        for layer, f, b in zip(net.layers, f_ms, b_ms, strict=True)
    ]
    return rows, float(np.median(loss[1:]) * 1e3)


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


def _step_ms(spec, x, y, batch, threads, optimizer, rounds) -> tuple[float, int, float]:
    """Median milliseconds of the trainer's whole steps at ``batch`` over all of x (the first few
    warm up), how many were timed, and the median milliseconds of its gather of one batch."""
    steps, warm = max(rounds, 20), 5
    need = warm + 1 + steps  # a step is the gap between two batches' ends
    settings = TrainSettings(epochs=1, batch_size=batch, threads=threads, optimizer=optimizer, lr=1e-3)
    trainer = Trainer(Network(spec, seed=0), settings, x, y)
    stamps: list[float] = []
    trainer.run(
        epochs=math.ceil(need / (len(x) // batch)),
        on_batch=lambda stats: stamps.append(time.perf_counter()),
        should_stop=lambda: len(stamps) >= need,
    )
    gaps = np.diff(stamps[warm:need])
    rng = np.random.default_rng(0)
    gathers = []
    for _ in range(rounds + 1):
        idx = rng.permutation(len(x))[:batch]
        start = time.perf_counter()
        trainer._gather(idx)  # the trainer's own gather, as each step runs it
        gathers.append(time.perf_counter() - start)
    return float(np.median(gaps) * 1e3), len(gaps), float(np.median(gathers[1:]) * 1e3)


def format_profile(name: str, batch: int, p: dict[str, Any]) -> str:
    """The profile as a table, one line per layer (milliseconds)."""
    split = (
        f"{p['parts']} parts of {p['part_size']} in {p['runs_in']}, pieces timed on one part, 1 BLAS thread"
        if p["parts"] > 1
        else "whole batches"
    )
    width = max([len(row["layer"]) + 3 for row in p["layers"]] + [24])
    lines = [f"{name} batch {batch}: {split} (medians, ms)", f"  {'layer':<{width}}  forward  backward"]
    for k, row in enumerate(p["layers"], 1):
        label = f"{k} {row['layer']}"
        lines.append(f"  {label:<{width}}  {row['forward_ms']:7.3f}  {row['backward_ms']:8.3f}")
    lines += [
        f"  {'loss, forward + backward':<{width}}  {p['loss_ms']:7.3f}",
        f"  {'batch gather':<{width}}  {p['gather_ms']:7.3f}",
        f"  {'optimizer step':<{width}}  {p['optimizer_ms']:7.3f}",
        f"  {'sum of the pieces':<{width}}  {p['pieces_ms']:7.3f}",
        f"  {'whole step (trainer)':<{width}}  {p['step_ms']:7.3f}   median of {p['steps']} steps;"
        f" {p['step_ms'] - p['pieces_ms']:+.3f} beyond the pieces",
    ]
    return "\n".join(lines)
