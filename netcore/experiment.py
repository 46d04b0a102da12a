"""Putting a design, a dataset and settings together: what the CLI and the window share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from netcore.augment import Augmentation, augmentation_for
from netcore.data.dataset import Dataset
from netcore.evaluation import evaluate
from netcore.network import Network
from netcore.serialization import SavedModel
from netcore.shapes import format_shape
from netcore.train import EpochStats, Trainer, TrainSettings

FINE_TUNE = {"epochs": 1, "lr": 1e-4, "batch_size": 64, "val_split": 0.0}  # lr: an upper bound


class MismatchError(ValueError):
    """The design cannot be trained on the dataset; the message says why and what to change."""


def check_fit(network: Network, data: Dataset) -> None:
    """Raise MismatchError unless ``network`` can learn ``data`` as it stands."""
    given, wanted = data.input_shape, network.input_shape
    if math.prod(given) != math.prod(wanted):
        raise MismatchError(
            f"the design takes inputs of shape {format_shape(wanted)} "
            f"but {data.name} gives {format_shape(given)}: "
            f"set the input shape to {list(given)}"
        )
    out = network.output_shape
    if data.task == "regression":
        if network.loss.name != "mse" or network.is_classifier:
            raise MismatchError(f'{data.name} is a regression set: use the mse loss and "task": "regression"')
        targets = 1 if data.y_train.ndim == 1 else data.y_train.shape[1]
        if out != (targets,):
            raise MismatchError(f"{data.name} has {targets} target(s): make the last layer {targets} units")
        return
    if not network.is_classifier:
        raise MismatchError(f"{data.name} is a classification set but the design is for regression")
    k = data.num_classes
    if out == (1,) and k == 2 and network.loss.name in ("mse", "binary_cross_entropy"):
        return
    if out != (k,):
        raise MismatchError(
            f"{data.name} has {k} classes but the last layer has {format_shape(out)} outputs: "
            f"make it {k} units"
        )


def make_trainer(
    network: Network, data: Dataset, settings: TrainSettings, augment: Augmentation | str | None = None
) -> Trainer:
    """A trainer for ``network`` on ``data``'s training split (validation per the settings).

    ``augment`` is an Augmentation or a strength name ("off", "light", "strong").
    """
    check_fit(network, data)
    if isinstance(augment, str):
        augment = augmentation_for(augment)
    x = data.x_train.reshape((len(data.x_train),) + network.input_shape)
    if augment is not None and len(network.input_shape) != 3:
        augment = None  # shifts and rotations only mean something for images
    return Trainer(network, settings, x, data.y_train, augment=augment)


def evaluate_on_test(network: Network, data: Dataset) -> dict[str, float]:
    """Loss (and accuracy for classifiers) on the dataset's test split."""
    return evaluate(network, data.x_test.reshape((len(data.x_test),) + network.input_shape), data.y_test)


def fine_tune_settings(settings: TrainSettings) -> TrainSettings:
    """The fine-tune recipe on top of ``settings``: one epoch, a low rate, batches of 64."""
    recipe = {**FINE_TUNE, "lr": min(settings.lr, FINE_TUNE["lr"])}
    return TrainSettings.from_dict({**settings.to_dict(), **recipe})


@dataclass(frozen=True)
class DataSource:
    """Where a network's data came from; travels with the saved model."""

    dataset: dict[str, Any] = field(default_factory=dict)  # {"name": ..., **loader options}
    preprocessing: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: Dataset, options: dict[str, Any] | None = None) -> DataSource:
        return cls({"name": data.name, **(options or {})}, dict(data.preprocessing), list(data.class_names))

    @classmethod
    def of_model(cls, model: SavedModel) -> DataSource:
        return cls(dict(model.dataset), dict(model.preprocessing), list(model.class_names))


def saved_model(
    trainer: Any,
    data: Dataset | DataSource,
    dataset_options: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> SavedModel:
    """What to save after training: the network, its history and where it came from.

    ``trainer``: anything with ``network``, ``history`` (EpochStats or dicts) and ``settings``
    (a Trainer, or the window's session).
    """
    source = data if isinstance(data, DataSource) else DataSource.of(data, dataset_options)
    return SavedModel(
        network=trainer.network,
        history=[e.to_dict() if isinstance(e, EpochStats) else dict(e) for e in trainer.history],
        settings=trainer.settings.to_dict(),
        dataset=dict(source.dataset),
        preprocessing=dict(source.preprocessing),
        class_names=list(source.class_names),
        extra=dict(extra or {}),
    )


def parse_history(rows: Any) -> list[EpochStats]:
    """A saved history as EpochStats; ValueError naming the row and field that is wrong."""
    if not isinstance(rows, list):
        raise ValueError(f"history must be a list of epoch records, got {type(rows).__name__}")
    names = [f.name for f in fields(EpochStats)]
    optional = {"accuracy", "val_loss", "val_accuracy", "batches", "fraction"}
    records = {"health": dict, "changes": list}  # netcore.inspect.health's record; live changes
    history = []
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ValueError(f"history row {i} must be a record, got {type(row).__name__}")
        for name in names:
            value = row.get(name)
            if name in records:
                if not (value is None or isinstance(value, records[name])):
                    kind = "a record" if name == "health" else "a list"
                    raise ValueError(f"history row {i}: {name} must be {kind}, got {type(value).__name__}")
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number or (value is None and name in optional)):
                raise ValueError(f"history row {i}: {name} must be a number, got {value!r}")
        # rows written before "batches" / "fraction" existed take the defaults (a whole epoch)
        kept = [n for n in names if not (n in ("batches", "fraction") and row.get(n) is None)]
        history.append(EpochStats(**{name: row.get(name) for name in kept}))
    return history


def parse_settings(data: Any) -> TrainSettings | None:
    """Saved training settings (None when the model has none); ValueError naming the field."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"settings must be a record, got {type(data).__name__}")
    try:
        return TrainSettings.from_dict(data)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"settings: {exc}") from None
