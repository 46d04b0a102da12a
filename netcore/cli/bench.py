"""``netcore bench``: time training against PyTorch."""

from __future__ import annotations

import json
import time


def add_parser(sub, common) -> None:
    bench = sub.add_parser("bench", parents=[common], help="time training against PyTorch when installed")
    bench.add_argument("--json", action="store_true")
    bench.add_argument(
        "--epochs", type=int, default=1, help="epochs of each engine, taken in turn (the fastest is reported)"
    )
    bench.add_argument("--only", choices=["mlp", "cnn"], help="run one of the benchmarks")
    bench.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    bench.add_argument("--data-dir")
    bench.add_argument("--spec", action="append", help="time this network instead (28x28 inputs; repeatable)")
    bench.add_argument(
        "--batch-size", type=int, help="batch size (default: 32/128/512 for the MLP, 64 for CNNs)"
    )
    bench.add_argument("--samples", type=int, help="samples per epoch (default: all 60,000)")
    bench.add_argument(
        "--threads",
        type=int,
        default=0,
        help="parts netcore splits each batch over, in processes or threads (default: its own choice)",
    )
    bench.add_argument(
        "--layers",
        action="store_true",
        help="where one training step's time goes: each layer's forward and backward, loss, optimizer",
    )
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args) -> int:
    from netcore.bench import run_bench

    started = time.perf_counter()
    report = run_bench(
        epochs=args.epochs,
        only=args.only,
        use_torch=not args.no_torch,
        data_dir=args.data_dir,
        log=None if args.json else print,
        specs=args.spec,
        batch=args.batch_size,
        samples=args.samples,
        threads=args.threads,
        layers=args.layers,
    )
    report["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2))
    return 0
