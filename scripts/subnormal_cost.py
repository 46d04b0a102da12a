"""What subnormal floats cost this CPU in an Adam step, with and without them.

Before a710b60 the optimizers let the moments of weights that stop receiving gradient decay
into subnormal floats: counted in MNIST training, up to 35,651 of the MNIST CNN's 215,370 first
moments at once. Intel CPUs handle such floats through microcode assists, and a 2-core AMD EPYC
(Zen 3) adds and divides them 1.35-1.42x slower than normal floats. This times netcore's Adam
update on a state of ``--size`` values with ``--fraction`` of its first moments subnormal (spread
evenly, the worst case for a vector unit, or in one block with ``--clustered``) against the same
state with those values zero, as the flush now leaves them, taking turns, and prints both
medians and their ratio, e.g.

    python scripts/subnormal_cost.py --size 215370 --fraction 0.166

A ratio near 1 means subnormals cost this CPU nothing; on one with assists it is the factor by
which the old rule slowed the optimizer during the ~150 steps in 500 it let them live.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def adam_with_moments(size: int, fraction: float, clustered: bool, subnormal: bool):
    """An Adam optimizer past its first step on ``size`` float32 weights, its first moments
    subnormal (``subnormal``) or zero where ``fraction`` of them lie, with those weights' gradient
    zero; returns (optimizer, weights, gradient)."""
    from netcore.optimizers import Adam

    rng = np.random.default_rng(0)
    weights = rng.standard_normal(size).astype(np.float32)
    grad = (rng.standard_normal(size) * 1e-3).astype(np.float32)
    count = int(round(fraction * size))
    where = np.arange(count) if clustered else np.linspace(0, size - 1, count).astype(np.int64)
    grad[where] = 0
    opt = Adam(1e-3)
    opt.step({"w": weights}, {"w": grad})
    opt.state["w"]["mu"][where] = np.float32(1e-39) if subnormal else 0
    return opt, weights, grad


def main() -> int:
    from netcore.bench import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=215_370, help="weights (default: the MNIST CNN's)")
    parser.add_argument("--fraction", type=float, default=0.166, help="share of subnormal first moments")
    parser.add_argument("--clustered", action="store_true", help="in one block instead of spread evenly")
    parser.add_argument("--rounds", type=int, default=30, help="alternating rounds of 20 steps")
    args = parser.parse_args()
    if not 0 <= args.fraction <= 1:
        parser.error("--fraction must be between 0 and 1")
    runs = {
        kind: adam_with_moments(args.size, args.fraction, args.clustered, kind == "subnormal")
        for kind in ("subnormal", "zero")
    }
    ms: dict[str, list[float]] = {kind: [] for kind in runs}
    for _ in range(args.rounds):
        for kind, (opt, weights, grad) in runs.items():
            start = time.perf_counter()
            for _ in range(20):
                # past the bias correction's warm-up and never a flush step: the subnormals stay
                # (x 0.9 a step, ~150 steps)
                opt.steps = 1001
                opt.step({"w": weights}, {"w": grad})
            ms[kind].append((time.perf_counter() - start) / 20 * 1e3)
    mu = runs["subnormal"][0].state["w"]["mu"]
    left = int(np.count_nonzero((mu != 0) & (np.abs(mu) < np.finfo(mu.dtype).tiny)))
    slow, fast = (float(np.median(ms[kind])) for kind in ("subnormal", "zero"))
    cpu = machine()["cpu"]
    layout = "in one block" if args.clustered else "spread evenly"
    print(
        f"{cpu}: Adam step on {args.size:,} weights, {args.fraction:.1%} of first moments subnormal "
        f"({layout}; {left:,} still subnormal after the last step): {slow:.3f} ms, "
        f"with them zero {fast:.3f} ms, ratio {slow / fast:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
