"""The command line: ``netcore train|evaluate|summary|predict|bench`` (also ``python -m netcore``).

Bad input of any kind exits with status 2 and one line on stderr; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """A problem to report in one line, with exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("netcore: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every failure becomes one line unless --debug
        if args.debug:
            raise
        print(f"netcore {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if isinstance(exc, (MemoryError, RecursionError)) or not message:
        message = f"{type(exc).__name__}: {message}"
    return message


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = argparse.ArgumentParser(prog="netcore", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command")

    train = sub.add_parser("train", parents=[common], help="train a network from a spec")
    train.add_argument("--arch", required=True, help="network spec (JSON)")
    train.add_argument(
        "--dataset", required=True, help="mnist, xor, spirals, circles, moons, blobs, idx:FOLDER or csv:FILE"
    )
    train.add_argument(
        "--data-dir",
        help="where MNIST lives or is downloaded to (default: $NETCORE_DATA_DIR or the user cache)",
    )
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument(
        "--optimizer", default="adam", choices=["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
    )
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--momentum", type=float, default=0.9)
    train.add_argument("--weight-decay", type=float, default=0.01, help="AdamW's decoupled decay")
    train.add_argument("--l2", type=float, default=0.0)
    train.add_argument("--clip-norm", type=float)
    train.add_argument(
        "--schedule", default="constant", choices=["constant", "step", "exponential", "cosine"]
    )
    train.add_argument("--warmup", type=float, default=0.0, help="epochs of linear learning-rate warm-up")
    train.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--val-split", type=float, default=0.0)
    train.add_argument("--augment", default="off", help="image augmentation: off, light or strong")
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    train.add_argument("--noise", type=float, help="noise of a synthetic dataset")
    train.add_argument("--samples", type=int, help="size of a synthetic dataset")
    train.add_argument("--out", required=True, help="model file to write (.npz)")
    train.add_argument("--metrics-out", help="write the history and test figures as JSON")
    train.set_defaults(run=cmd_train)

    evaluate = sub.add_parser("evaluate", parents=[common], help="accuracy and loss on a test split")
    evaluate.add_argument("model")
    evaluate.add_argument("--dataset", required=True)
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)

    summary = sub.add_parser("summary", parents=[common], help="layers, shapes and parameter counts")
    summary.add_argument("path", help="a model (.npz) or a spec (.json)")
    summary.set_defaults(run=cmd_summary)

    predict = sub.add_parser("predict", parents=[common], help="read the digit in an image")
    predict.add_argument("model")
    predict.add_argument("image")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(run=cmd_predict)

    bench = sub.add_parser("bench", parents=[common], help="time training against PyTorch when installed")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--epochs", type=int, default=1, help="epochs per measurement (best is reported)")
    bench.add_argument("--only", choices=["mlp", "cnn"], help="run one of the benchmarks")
    bench.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    bench.add_argument("--data-dir")
    bench.add_argument("--spec", action="append", help="time this network instead (28x28 inputs; repeatable)")
    bench.add_argument(
        "--batch-size", type=int, help="batch size (default: 32/128/512 for the MLP, 64 for CNNs)"
    )
    bench.add_argument("--samples", type=int, help="samples per epoch (default: all 60,000)")
    bench.set_defaults(run=cmd_bench)
    return parser


# -- train ---------------------------------------------------------------------------
def dataset_options(args) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if getattr(args, "noise", None) is not None:
        options["noise"] = args.noise
    if getattr(args, "samples", None) is not None:
        options["n"] = args.samples
    return options


def load_data(name: str, data_dir: str | None, options: dict[str, Any] | None = None):
    from netcore.data.registry import load_dataset

    return load_dataset(name, data_dir=data_dir, progress=download_progress, **(options or {}))


def download_progress(done: int, total: int | None, filename: str) -> None:
    if total:
        print(f"\rdownloading {filename}: {done / total:6.1%}", end="", file=sys.stderr, flush=True)
        if done >= total:
            print(file=sys.stderr)


def make_augmentation(name: str):
    if name in ("off", "none", ""):
        return None
    from netcore.augment import STRENGTHS

    if name not in STRENGTHS:
        raise CommandError(f"unknown augmentation {name!r}; choose one of {', '.join(STRENGTHS)}")
    return STRENGTHS[name]


def cmd_train(args) -> int:
    from netcore.experiment import evaluate_on_test, make_trainer, saved_model
    from netcore.network import Network
    from netcore.serialization import save_model
    from netcore.spec import load_spec
    from netcore.train import TrainSettings

    spec = load_spec(args.arch)
    out_path = Path(args.out)
    if not out_path.parent.exists():
        raise CommandError(f"cannot write {out_path}: folder {out_path.parent} does not exist")
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        l2=args.l2,
        clip_norm=args.clip_norm,
        schedule={"name": args.schedule, "epochs": float(args.epochs), "warmup": args.warmup},
        val_split=args.val_split,
        patience=args.patience,
        seed=args.seed,
    )
    augment = make_augmentation(args.augment)
    options = dataset_options(args)
    data = load_data(args.dataset, args.data_dir, options)
    network = Network(spec, seed=args.seed, dtype=np.dtype(args.dtype))
    trainer = make_trainer(network, data, settings, augment=augment)
    print(f"{data.describe()}; {network.num_params:,} parameters", flush=True)

    stop = {"requested": False}

    def on_interrupt(signum, frame):
        stop["requested"] = True

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        progress = BatchProgress(sys.stderr, args.epochs) if sys.stderr.isatty() else None
        result = trainer.run(on_batch=progress, on_epoch=print_epoch, should_stop=lambda: stop["requested"])
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status != "finished":
        print(result.message, file=sys.stderr)
    test = evaluate_on_test(network, data)
    model = saved_model(trainer, data, {**options, "spec_file": str(args.arch)})
    model.extra["test"] = test
    model.extra["augment"] = args.augment
    save_model(model, out_path)
    figures = f"test loss {test['loss']:.4f}" + (
        f"  test accuracy {test['accuracy']:.4f}" if "accuracy" in test else ""
    )
    print(f"{figures}; saved {out_path}")
    if args.metrics_out:
        metrics = {
            "history": [history_row(e) for e in trainer.history],
            "test_accuracy": test.get("accuracy"),
            "test_loss": test["loss"],
            "status": result.status,
        }
        Path(args.metrics_out).write_text(json.dumps(metrics, indent=2) + "\n")
    return (
        0
        if result.status in ("finished", "early_stopped")
        else EXIT_BAD_INPUT
        if result.status == "diverged"
        else 130
    )


def history_row(e) -> dict[str, Any]:
    return {
        "epoch": e.epoch,
        "loss": e.loss,
        "accuracy": e.accuracy,
        "val_loss": e.val_loss,
        "val_accuracy": e.val_accuracy,
        "seconds": e.seconds,
    }


class BatchProgress:
    """A one-line progress display within an epoch (for terminals), at most 4 updates a second."""

    def __init__(self, stream, epochs: int) -> None:
        self.stream, self.epochs, self.shown = stream, epochs, 0.0

    def __call__(self, b) -> None:
        now = time.monotonic()
        if now - self.shown < 0.25 and b.batch < b.batches:
            return
        self.shown = now
        line = (
            f"epoch {b.epoch}/{self.epochs}  batch {b.batch:,}/{b.batches:,}  loss {b.loss:.4f}"
            f"  {b.samples_per_second:,.0f} samples/s"
        )
        end = "\r" if b.batch < b.batches else "\r\033[K"  # the epoch line replaces it
        self.stream.write(f"\r\033[K{line}{end}")
        self.stream.flush()


def print_epoch(e) -> None:
    parts = [f"epoch {e.epoch:3d}", f"loss {e.loss:.4f}"]
    if e.accuracy is not None:
        parts.append(f"accuracy {e.accuracy:.4f}")
    if e.val_loss is not None:
        parts.append(f"val_loss {e.val_loss:.4f}")
    if e.val_accuracy is not None:
        parts.append(f"val_accuracy {e.val_accuracy:.4f}")
    parts.append(f"{e.seconds:.2f}s")
    print("  ".join(parts), flush=True)


# -- evaluate / summary --------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from netcore.experiment import check_fit, evaluate_on_test
    from netcore.serialization import load_model

    model = load_model(args.model)
    data = load_data(
        args.dataset,
        args.data_dir,
        {k: v for k, v in model.dataset.items() if k in ("noise", "n")}
        if args.dataset == model.dataset.get("name")
        else {},
    )
    check_fit(model.network, data)
    figures = evaluate_on_test(model.network, data)
    figures["samples"] = len(data.x_test)
    if args.json:
        print(json.dumps(figures))
    else:
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    return 0


def cmd_summary(args) -> int:
    from netcore.network import format_summary
    from netcore.serialization import load_model
    from netcore.spec import load_spec

    path = Path(args.path)
    if path.suffix.lower() == ".json":
        print(format_summary(load_spec(path)))
        return 0
    model = load_model(path)
    print(format_summary(model.network.spec))
    if model.history:
        last = model.history[-1]
        print(
            f"trained {len(model.history)} epochs on {model.dataset.get('name', '?')}; last loss "
            f"{last.get('loss', float('nan')):.4f}"
        )
    return 0


# -- predict ---------------------------------------------------------------------------
def cmd_predict(args) -> int:
    from netcore.digits import classify_image
    from netcore.preprocess import load_image
    from netcore.serialization import load_model

    model = load_model(args.model)
    reading = classify_image(model.network, load_image(args.image))
    if reading.reason is not None:
        raise CommandError(reading.reason)
    if args.json:
        print(
            json.dumps({"label": reading.label, "probabilities": [float(p) for p in reading.probabilities]})
        )
    else:
        names = model.class_names or [str(i) for i in range(len(reading.probabilities))]
        print(f"{names[reading.label]}  ({reading.probabilities[reading.label]:.1%})")
    return 0


# -- bench ---------------------------------------------------------------------------
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
    )
    report["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
