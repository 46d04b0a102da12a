"""A spec's training recipe: the dataset and settings its quoted figures were measured with.

    "train": {"dataset": "mnist", "optimizer": "adam", "lr": 0.002, "schedule": "cosine",
              "batch_size": 64, "epochs": 3, "augment": "off", "val_split": 0.0}

Every key is optional. ``dataset_options`` (e.g. ``{"n": 4, "noise": 0.0}`` for xor) go to the
dataset loader with the recipe's dataset. ``netcore train`` takes the recipe as its defaults
(flags override) and the window's templates set the training panel from it, so both train a
template the same way. A spec may also carry ``"description"`` (one sentence for a menu) and
``"expected"`` (what the recipe gives, e.g. "99.3 % test accuracy after 3 epochs").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netcore.augment import STRENGTHS
from netcore.optimizers import OPTIMIZERS
from netcore.schedules import SCHEDULE_NAMES

if TYPE_CHECKING:
    from netcore.train import TrainSettings

TEXT_FIELDS = ("description", "expected")  # top-level spec keys that hold one sentence each


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _dataset_kind(v: Any) -> bool:
    from netcore.data.registry import DATASET_NAMES, FILE_PREFIXES

    if not isinstance(v, str):
        return False
    kind, sep, path = v.partition(":")
    return (kind in FILE_PREFIXES and bool(path)) if sep else v in DATASET_NAMES


def _dataset_choices() -> str:
    from netcore.data.registry import dataset_choices

    return "one of " + ", ".join(dataset_choices())


# key -> (is the value acceptable, what it must be)
RECIPE_FIELDS: dict[str, tuple[Callable[[Any], bool], Callable[[], str]]] = {
    "dataset": (_dataset_kind, _dataset_choices),
    "dataset_options": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
        lambda: "an object of loader options",
    ),
    "optimizer": (lambda v: v in OPTIMIZERS, lambda: "one of " + ", ".join(OPTIMIZERS)),
    "lr": (lambda v: _is_number(v) and v > 0, lambda: "a positive number"),
    "schedule": (lambda v: v in SCHEDULE_NAMES, lambda: "one of " + ", ".join(SCHEDULE_NAMES)),
    "batch_size": (lambda v: _is_int(v) and v >= 1, lambda: "a positive integer"),
    "epochs": (lambda v: _is_int(v) and v >= 1, lambda: "a positive integer"),
    "augment": (lambda v: v in STRENGTHS, lambda: "one of " + ", ".join(STRENGTHS)),
    "val_split": (lambda v: _is_number(v) and 0 <= v < 1, lambda: "a number in [0, 1)"),
}


def recipe_problem(spec: dict[str, Any]) -> str | None:
    """What is wrong with the spec's "train" block, "description" or "expected"; None if nothing."""
    for key in TEXT_FIELDS:
        if key in spec and not isinstance(spec[key], str):
            return f"{key} must be text, got {spec[key]!r}"
    train = spec.get("train")
    if train is None:
        return None
    if not isinstance(train, dict):
        return f'train must be an object like {{"optimizer": "adam", "lr": 0.001}}, got {train!r}'
    for key, value in train.items():
        if key not in RECIPE_FIELDS:
            return f"train has unknown setting {key!r}; known: {', '.join(RECIPE_FIELDS)}"
        ok, what = RECIPE_FIELDS[key]
        try:
            accepted = ok(value)
        except TypeError:  # an unhashable value where a name belongs
            accepted = False
        if not accepted:
            return f"train.{key} must be {what()}, got {value!r}"
    return None


def recipe_of(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec's "train" block ({} without one); ``check_spec`` validates it."""
    train = spec.get("train")
    if not isinstance(train, dict):
        return {}
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in train.items()}


def settings_for(train: dict[str, Any], **given: Any) -> TrainSettings:
    """The TrainSettings a recipe gives: each setting from ``given`` unless it is None, else from
    the recipe, else the engine's default. ``schedule`` is a name here; the schedule runs over
    all the epochs, after ``warmup`` epochs of linear ramp."""
    from netcore.train import TrainSettings  # netcore.train builds on the spec, which reads recipes

    fields = TrainSettings.__dataclass_fields__
    chosen = {k: v for k, v in train.items() if k in fields}
    chosen.update({k: v for k, v in given.items() if v is not None})
    schedule = chosen.pop("schedule", SCHEDULE_NAMES[0])
    warmup = chosen.pop("warmup", 0.0)
    for key in ("lr", "val_split"):
        if key in chosen:
            chosen[key] = float(chosen[key])
    epochs = chosen.get("epochs", fields["epochs"].default)
    return TrainSettings(**chosen, schedule={"name": schedule, "epochs": float(epochs), "warmup": warmup})


def augment_for(train: dict[str, Any], given: str | None = None) -> str:
    """The augmentation strength to train with: ``given``, else the recipe's, else "off"."""
    return given if given is not None else train.get("augment", "off")


# How describe_recipe words each setting after the dataset and the optimizer.
_WORDING = (
    ("schedule", "{} schedule"),
    ("batch_size", "batch {}"),
    ("epochs", "{} epochs"),
    ("augment", "augment {}"),
)


def describe_recipe(train: dict[str, Any]) -> str:
    """One line for the keys present: "mnist, adam lr 0.002, cosine schedule, batch 64, 3 epochs, augment off"."""
    lr = f"lr {train['lr']:g}" if "lr" in train else ""
    parts = [str(train.get("dataset") or ""), " ".join(p for p in (train.get("optimizer", ""), lr) if p)]
    parts += [wording.format(train[key]) for key, wording in _WORDING if key in train]
    if train.get("val_split"):
        parts.append(f"validation {train['val_split']:g}")
    return ", ".join(p for p in parts if p)
