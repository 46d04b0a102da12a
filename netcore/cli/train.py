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
from netcore.files import atomic_write_bytes, cannot_write, finite_or_none
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
    train.add_argument(
        "--threads",
        type=int,
        help="parts each batch is split over, in processes (on threads with NETCORE_PARTS=threads) "
        "(default: one per core for convolutional networks' batches with enough work for each, else 1)",
    )
    from netcore.cli.common import add_folder_arguments  # --image-* for folder:PATH (issue 17)

    add_folder_arguments(train)
    train.add_argument("--noise", type=float, help="noise of a synthetic dataset")
    train.add_argument("--samples", type=int, help="size of a synthetic dataset")
    train.add_argument(
        "--task", choices=["auto", "classification", "regression"], help="csv: what the label is"
    )
    train.add_argument("--out", help="model file to write (default: <spec file name>.npz here)")
    train.add_argument("--metrics-out", help="write the history, settings and test figures as JSON")
    train.add_argument(
        "--save-diverged",
        action="store_true",
        help="if training diverges, still write --out (the last weights that gave a finite loss)",
    )
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
    flags += ("schedule", "warmup", "val_split", "patience", "seed", "threads")
    settings = settings_for(recipe, **{name: getattr(args, name) for name in flags})
    return dataset, options, settings, augment_for(recipe, args.augment)


def cmd_train(args) -> int:
    from netcore.augment import augmentation_for
    from netcore.experiment import evaluate_on_test, make_trainer, saved_model
    from netcore.network import Network
    from netcore.parallel import batch_parts, parts_run_in
    from netcore.serialization import non_finite_field, save_model
    from netcore.spec import load_spec

    spec = load_spec(args.arch)
    if (where := non_finite_field(spec)) is not None:
        raise CommandError(f"{args.arch}: {where} is not a finite number")
    if spec.get("task", "classification") not in ("classification", "regression"):
        raise CommandError(
            f'{args.arch}: unknown "task" {spec["task"]!r}; choose classification or regression'
        )
    out = Path(args.arch).stem + ".npz" if args.out is None else args.out  # default: here
    out_path = Path(out)
    for flag, target in (("--out", out), ("--metrics-out", args.metrics_out)):
        if target is not None and (problem := cannot_write(target)):
            raise CommandError(f"{flag}: {problem}")
    dataset, options, settings, augment_name = resolve_settings(args, spec)
    augment = augmentation_for(augment_name)
    if args.task is not None:
        options["task"] = args.task
    if dataset.lower().startswith("csv:"):
        from netcore.data.registry import load_dataset

        data = load_dataset(dataset, progress=reading_progress, **options)
    else:
        data = load_data(dataset, args.data_dir, options)
    network = Network(spec, seed=args.seed, dtype=np.dtype(args.dtype))
    trainer = make_trainer(network, data, settings, augment=augment)
    print(f"{data.describe()}; {network.num_params:,} parameters", flush=True)
    used = {**settings.to_dict(), "schedule": settings.schedule["name"], "augment": augment_name}
    print(f"settings: {describe_recipe(used)}", flush=True)
    if (parts := batch_parts(network, settings.batch_size, settings.threads)) > 1:
        print(f"each batch is split over {parts} {parts_run_in(network)}", flush=True)

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
    if result.status == "cancelled":
        trainer.restore_epoch_start()  # the weights that match the history saved beside them
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model's figures may overflow
        test = evaluate_on_test(network, data)
    figures = f"test loss {test['loss']:.4f}" + (
        f"  test accuracy {test['accuracy']:.4f}" if "accuracy" in test else ""
    )
    if (why_not := _why_not_save(result.status, trainer.epoch, args.save_diverged)) is None:
        model = saved_model(trainer, data, {**options, "spec_file": str(args.arch)})
        model.extra.update(test=test, augment=augment_name, status=result.status)
        save_model(model, out_path)
        print(f"{figures}; saved {out_path}")
    else:
        kept = f"{out_path} still holds the previous model" if out_path.exists() else "nothing saved"
        print(f"{figures}; did not write {out_path} ({why_not}): {kept}", file=sys.stderr)
    if args.metrics_out:
        metrics = {
            "history": [e.to_dict() for e in trainer.history],
            "settings": {**settings.to_dict(), "augment": augment_name, "dataset": dataset},
            "test_accuracy": test.get("accuracy"),
            "test_loss": test["loss"],
            "status": result.status,
        }
        text = json.dumps(finite_or_none(metrics), indent=2, allow_nan=False) + "\n"
        atomic_write_bytes(args.metrics_out, text.encode("utf-8"))
    if result.status in ("finished", "early_stopped"):
        return 0
    return 130 if result.status == "cancelled" else EXIT_BAD_INPUT


def _why_not_save(status: str, epochs_done: int, save_diverged: bool) -> str | None:
    """None if the run's weights should replace --out, else the reason they do not."""
    if status == "diverged" and not save_diverged:
        return "training diverged; --save-diverged writes the last finite weights"
    if status == "cancelled" and epochs_done == 0:
        return "stopped before the first epoch ended"
    return None


def reading_progress(done: int, total: int | None, filename: str) -> None:
    """A progress line while a large table is read."""
    if total:
        end = "\n" if done >= total else ""
        print(f"\rreading {filename}: {done / total:6.1%}", end=end, file=sys.stderr, flush=True)


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
