"""``netcore train``: train a network from a spec and save it."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from netcore.cli.common import EXIT_BAD_INPUT, CommandError, dataset_options, load_data, make_augmentation


def add_parser(sub, common) -> None:
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
    from netcore.cli.common import add_folder_arguments  # --image-* for folder:PATH (issue 17)

    add_folder_arguments(train)
    train.add_argument("--noise", type=float, help="noise of a synthetic dataset")
    train.add_argument("--samples", type=int, help="size of a synthetic dataset")
    train.add_argument("--out", required=True, help="model file to write (.npz)")
    train.add_argument("--metrics-out", help="write the history and test figures as JSON")
    train.set_defaults(run=cmd_train)


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
