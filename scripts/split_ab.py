"""Time a batch split over threads against the whole batch, in one process, taking turns.

netcore's own choice of which batches to split (``netcore.parallel.AUTO_MIN_PART`` and
``AUTO_MIN_PART_WORK``) rests on this measurement; run it on another machine before changing
them, e.g.

    python scripts/split_ab.py --spec mnist_cnn_small --batch-size 64 --batches 60 --pairs 12

Two trainers of the same network on the same random data (the time of a step does not depend
on the pixel values), one with ``threads=1`` (whole batches) and one with ``threads=2`` (every
batch split in two, whatever its size), each train one epoch of ``--batches`` batches in
turn, ``--pairs`` times after a warm-up; prints both medians in ms a batch and the median and
quartiles of the pairs' split/whole ratios (below 1: splitting pays).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from netcore.network import Network
    from netcore.parallel import work_per_sample
    from netcore.resources import resource_path
    from netcore.spec import load_spec
    from netcore.train import Trainer, TrainSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="mnist_cnn", help="a template name or a design .json")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=60, help="batches in each timed epoch")
    parser.add_argument("--pairs", type=int, default=12, help="whole/split epochs taken in turn")
    args = parser.parse_args()
    path = Path(args.spec) if args.spec.endswith(".json") else resource_path("networks", f"{args.spec}.json")
    spec = load_spec(path)
    shape = tuple(spec["input_shape"])
    rng = np.random.default_rng(0)
    n = args.batch_size * args.batches
    x = rng.random((n, *shape), dtype=np.float32)
    classes = Network(spec).output_shape[0]
    y = rng.integers(0, classes, n)
    trainers = {
        threads: Trainer(
            Network(spec), TrainSettings(epochs=1, batch_size=args.batch_size, threads=threads), x, y
        )
        for threads in (1, 2)
    }
    for trainer in trainers.values():  # warm-up: buffers, replicas, first-touch page faults
        trainer.run()
    ms: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.pairs):
        for threads, trainer in trainers.items():
            trainer.run()
            ms[threads].append(trainer.history[-1].seconds / args.batches * 1e3)
    ratios = np.array(ms[2]) / np.array(ms[1])
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    work = work_per_sample(trainers[1].network) * args.batch_size / 2 / 1e6
    print(
        f"{path.stem} at batch {args.batch_size} ({args.batch_size // 2} samples, {work:.1f} M multiply-adds "
        f"a half): whole {np.median(ms[1]):.2f} ms, split {np.median(ms[2]):.2f} ms a batch; "
        f"split/whole median {median:.3f} (quartiles {q1:.3f}-{q3:.3f}, {args.pairs} pairs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
