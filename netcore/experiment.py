"""Putting a design, a dataset and settings together: what the CLI and the window share."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from netcore.data.dataset import Dataset
from netcore.network import Network
from netcore.serialization import SavedModel
from netcore.shapes import format_shape
from netcore.train import Trainer, TrainSettings


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


def make_trainer(network: Network, data: Dataset, settings: TrainSettings, augment: Any = None) -> Trainer:
    """A trainer for ``network`` on ``data``'s training split (validation per the settings)."""
    check_fit(network, data)
    x = data.x_train.reshape((len(data.x_train),) + network.input_shape)
    if augment is not None and len(network.input_shape) != 3:
        augment = None  # shifts and rotations only mean something for images
    return Trainer(network, settings, x, data.y_train, augment=augment)


def evaluate_on_test(network: Network, data: Dataset) -> dict[str, float]:
    """Loss (and accuracy for classifiers) on the dataset's test split."""
    x = data.x_test.reshape((len(data.x_test),) + network.input_shape)
    if network.is_classifier:
        return network.evaluate(x, data.y_test)
    out = network.predict(x)
    return {"loss": network.loss.forward(out, np.asarray(data.y_test, network.dtype))}


def saved_model(trainer: Trainer, data: Dataset, dataset_options: dict[str, Any] | None = None) -> SavedModel:
    """What to save after training: the network, its history and where it came from."""
    return SavedModel(
        network=trainer.network,
        history=[e.to_dict() for e in trainer.history],
        settings=trainer.settings.to_dict(),
        dataset={"name": data.name, **(dataset_options or {})},
        preprocessing=dict(data.preprocessing),
        class_names=list(data.class_names),
    )
