"""``netcore train``: train a network from a spec and save it."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from netcore.cli.common import EXIT_BAD_INPUT, CommandError, dataset_options, load_data
from netcore.recipe import augment_for, describe_recipe, recipe_of, settings_for
from netcore.train import TrainSettings


def add_parser(sub, common) -> None:
    from netcore.augment import STRENGTHS
    from netcore.data.registry import dataset_choices
    from netcore.optimizers import OPTIMIZERS
    from netcore.schedules import SCHEDULE_NAMES

    engine = TrainSettings()
    recipe = 'the spec\'s "train" recipe, else'
    train = sub.add_parser(
        "train",
        parents=[common],
        help="train a network from a spec",
        description="Train a network from a spec. Settings the flags leave out come from the spec's "
        '"train" recipe, then from the engine\'s defaults.',
    )
    train.add_argument("--arch", required=True, help="network spec (JSON)")
    train.add_argument("--dataset", help=f"{', '.join(dataset_choices())} (default: {recipe} required)")
    train.add_argument(
        "--data-dir",
        help="where MNIST lives or is downloaded to (default: $NETCORE_DATA_DIR or the user cache)",
    )
    train.add_argument("--epochs", type=int, help=f"(default: {recipe} {engine.epochs})")
    train.add_argument("--batch-size", type=int, help=f"(default: {recipe} {engine.batch_size})")
    train.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), help=f"(default: {recipe} {engine.optimizer})"
    )
    train.add_argument("--lr", type=float, help=f"learning rate (default: {recipe} {engine.lr:g})")
    train.add_argument("--momentum", type=float, default=engine.momentum)
    train.add_argument(
        "--weight-decay", type=float, default=engine.weight_decay, help="AdamW's decoupled decay"
    )
    train.add_argument("--l2", type=float, default=engine.l2)
    train.add_argument("--clip-norm", type=float)
    train.add_argument("--schedule", choices=list(SCHEDULE_NAMES), help=f"(default: {recipe} constant)")
    train.add_argument("--warmup", type=float, default=0.0, help="epochs of linear learning-rate warm-up")
    train.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    train.add_argument("--seed", type=int, default=engine.seed)
    train.add_argument("--val-split", type=float, help=f"(default: {recipe} {engine.val_split:g})")
    train.add_argument(
        "--augment", choices=list(STRENGTHS), help=f"image augmentation (default: {recipe} off)"
    )
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    train.add_argument("--noise", type=float, help="noise of a synthetic dataset")
    train.add_argument("--samples", type=int, help="size of a synthetic dataset")
    train.add_argument("--out", help="model file to write (default: <spec file name>.npz here)")
    train.add_argument("--metrics-out", help="write the history, settings and test figures as JSON")
    train.set_defaults(run=cmd_train)


def resolve_settings(args, spec: dict[str, Any]) -> tuple[str, dict[str, Any], TrainSettings, str]:
    """(dataset, dataset options, settings, augmentation name): each from its flag when given,
    else from the spec's recipe, else the engine's default."""
    recipe = recipe_of(spec)
    dataset = args.dataset or recipe.get("dataset")
    if not dataset:
        raise CommandError(f'--dataset is needed: {args.arch} names no dataset in a "train" recipe')
    same_data = dataset == recipe.get("dataset")
    options = {**(recipe.get("dataset_options", {}) if same_data else {}), **dataset_options(args)}
    flags = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "l2", "clip_norm")
    flags += ("schedule", "warmup", "val_split", "patience", "seed")
    settings = settings_for(recipe, **{name: getattr(args, name) for name in flags})
    return dataset, options, settings, augment_for(recipe, args.augment)


def cmd_train(args) -> int:
    from netcore.augment import augmentation_for
    from netcore.experiment import evaluate_on_test, make_trainer, saved_model
    from netcore.network import Network
    from netcore.serialization import save_model
    from netcore.spec import load_spec

    spec = load_spec(args.arch)
    out_path = Path(args.out) if args.out else Path(Path(args.arch).stem + ".npz")
    if not out_path.parent.exists():
        raise CommandError(f"cannot write {out_path}: folder {out_path.parent} does not exist")
    dataset, options, settings, augment_name = resolve_settings(args, spec)
    augment = augmentation_for(augment_name)
    data = load_data(dataset, args.data_dir, options)
    network = Network(spec, seed=args.seed, dtype=np.dtype(args.dtype))
    trainer = make_trainer(network, data, settings, augment=augment)
    print(f"{data.describe()}; {network.num_params:,} parameters", flush=True)
    used = {**settings.to_dict(), "schedule": settings.schedule["name"], "augment": augment_name}
    print(f"settings: {describe_recipe(used)}", flush=True)

    stop = {"requested": False}

    def on_interrupt(signum, frame):
        stop["requested"] = True

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        progress = BatchProgress(sys.stderr, settings.epochs) if sys.stderr.isatty() else None
        result = trainer.run(on_batch=progress, on_epoch=print_epoch, should_stop=lambda: stop["requested"])
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.status != "finished":
        print(result.message, file=sys.stderr)
    test = evaluate_on_test(network, data)
    model = saved_model(trainer, data, {**options, "spec_file": str(args.arch)})
    model.extra["test"] = test
    model.extra["augment"] = augment_name
    save_model(model, out_path)
    figures = f"test loss {test['loss']:.4f}" + (
        f"  test accuracy {test['accuracy']:.4f}" if "accuracy" in test else ""
    )
    print(f"{figures}; saved {out_path}")
    if args.metrics_out:
        metrics = {
            "history": [e.to_dict() for e in trainer.history],
            "settings": {**settings.to_dict(), "augment": augment_name, "dataset": dataset},
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
