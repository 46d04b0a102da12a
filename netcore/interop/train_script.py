"""The generated ``train.py``: netcore's recipe and data, written out for PyTorch and torchrun.

``training_config`` gathers what the script needs from a model (its recorded settings and
dataset) or, for a design that was never trained, from the spec's ``"train"`` block and the
engine's defaults; ``render`` puts it into the script (``train_template``), which imports
only torch, numpy and safetensors.
"""

from __future__ import annotations

import math
import pprint
from pathlib import Path
from typing import Any

from netcore.interop.metadata import model_header
from netcore.interop.train_template import TEMPLATE
from netcore.serialization import SavedModel
from netcore.train import TrainSettings

SYNTHETIC_DATA = "data.npz"  # written beside train.py for datasets made by netcore itself


def recipe(model: SavedModel) -> dict[str, Any]:
    """The training settings: the model's own, else the spec's "train" block, else the defaults."""
    if model.settings:
        settings = TrainSettings.from_dict(model.settings)
    else:
        block = model.network.spec.get("train") or {}
        known = {k: v for k, v in block.items() if k in TrainSettings.__dataclass_fields__}
        epochs = int(known.get("epochs", TrainSettings.epochs))
        schedule = known.get("schedule", "constant")
        if isinstance(schedule, str):
            known["schedule"] = {"name": schedule, "epochs": float(epochs)}
        settings = TrainSettings(**known)
    return settings.to_dict()


def dataset_name(model: SavedModel) -> str | None:
    """What the model was (or is meant to be) trained on: "mnist", "idx:...", "csv:...", "xor" ..."""
    name = model.dataset.get("name") or (model.network.spec.get("train") or {}).get("dataset")
    if name:
        return str(name)
    if math.prod(model.network.input_shape) == 784 and model.network.output_shape == (10,):
        return "mnist"
    return None


def data_config(model: SavedModel, name: str | None) -> dict[str, Any]:
    """How train.py finds and prepares the data, as netcore did.

    A model file records a CSV table or IDX folder by its name only (``table``), not its path:
    then ``path`` is empty and train.py asks for ``--data`` (or give ``data=`` to the export).
    """
    from netcore.data.registry import SYNTHETIC_NAMES

    if name is None:
        return {"kind": "none"}
    kind, sep, path = name.partition(":")
    kind = kind.lower() if sep else kind
    pre = model.preprocessing
    if not sep and "features" in pre:
        kind, path = "csv", ""
    elif not sep and kind not in ("mnist", *SYNTHETIC_NAMES) and len(model.network.input_shape) == 3:
        kind, path = "idx", ""
    config: dict[str, Any] = {"kind": kind, "name": name, "path": str(Path(path).resolve()) if path else ""}
    if kind == "mnist":
        config["scale"] = pre.get("scale", 1 / 255)
    elif kind == "idx":
        config["scale"] = pre.get("scale")
    elif kind == "csv":
        n = len(pre.get("features") or [])
        config.update(
            features=pre.get("features"),
            label=pre.get("label"),
            test_ratio=model.dataset.get("test_ratio", 0.3),
            seed=model.dataset.get("seed", 0),
            mean=pre.get("mean", [0.0] * n),
            std=pre.get("std", [1.0] * n),
        )
    elif kind in SYNTHETIC_NAMES:  # made by netcore: train.py reads the same arrays from data.npz
        config.update(kind="npz", path=SYNTHETIC_DATA)
    else:
        config["kind"] = "none"  # train.py asks for --data
    return config


def training_config(model: SavedModel, data: str | None = None) -> dict[str, Any]:
    """Everything train.py needs; ``data`` ("csv:FILE", "idx:FOLDER", "mnist") overrides the
    dataset the model records (a CSV or IDX source is recorded by name only)."""
    net = model.network
    name = _with_path(dataset_name(model), data)
    header = model_header(model)
    header["dataset"] = header["dataset"] or ({"name": name} if name else {})
    return {
        "name": str(net.spec.get("name") or "model"),
        "loss": net.loss.name,
        "task": "classification" if net.is_classifier else "regression",
        "classes": list(model.class_names),
        "input_shape": list(net.input_shape),
        "recipe": recipe(model),
        "augment": str(model.extra.get("augment") or (net.spec.get("train") or {}).get("augment") or "off"),
        "data": data_config(model, name),
        "header": header,
    }


def _with_path(recorded: str | None, given: str | None) -> str | None:
    if not given:
        return recorded
    if given.startswith(("csv:", "idx:")) or given == "mnist":
        return given
    raise ValueError(f"data must be mnist, csv:FILE or idx:FOLDER, got {given!r}")


def render(config: dict[str, Any]) -> str:
    """The text of train.py for ``config``."""
    literal = pprint.pformat(config, width=100, sort_dicts=False)
    return TEMPLATE.replace("__NAME__", repr(config["name"])).replace("__CONFIG__", literal)
