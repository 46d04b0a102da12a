"""The network design being edited, without widgets: templates, new layers, what the engine says.

``analyse`` is the engine's ``netcore.spec.analyse`` (pure shape inference, no arrays): the
shapes and parameter counts the designer draws, up to the first problem. Templates and their
training recipes are the spec files in resources/networks.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from netcore.layers import LAYER_TYPES
from netcore.recipe import recipe_of, recipe_problem
from netcore.resources import resource_path
from netcore.shapes import format_shape  # noqa: F401 (the designer's shape text)
from netcore.spec import Analysis, LayerInfo, analyse, make_layer  # noqa: F401 (the designer's analysis)

TEMPLATES_DIR = resource_path("networks")

# File > New design: an input and one output layer, ready to grow on the drawing.
BLANK_SPEC: dict[str, Any] = {
    "name": "untitled",
    "input_shape": [2],
    "layers": [{"type": "dense", "units": 2}],
    "loss": "softmax_cross_entropy",
}

DEFAULT_SPEC: dict[str, Any] = {
    "name": "xor",
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 4, "activation": "sigmoid"},
        {"type": "dense", "units": 1, "activation": "sigmoid"},
    ],
    "loss": "mse",
}


@dataclass(frozen=True)
class Recipe:
    """How a template is trained: the dataset and settings its figures were measured with.

    Read from the template's ``"train"`` block (netcore/recipe.py). ``dataset``, ``schedule``,
    ``augment`` None: leave the training panel's choice as it is.
    """

    dataset: str | None
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str | None = "constant"
    batch_size: int = 32
    epochs: int = 5
    augment: str | None = None
    data_options: dict[str, Any] | None = None

    @classmethod
    def from_train(cls, train: dict[str, Any]) -> Recipe:
        """The recipe a spec's "train" block gives; what the block leaves out, the panel keeps."""
        return cls(
            dataset=train.get("dataset"),
            optimizer=train.get("optimizer", cls.optimizer),
            lr=float(train.get("lr", cls.lr)),
            schedule=train.get("schedule"),
            batch_size=train.get("batch_size", cls.batch_size),
            epochs=train.get("epochs", cls.epochs),
            augment=train.get("augment"),
            data_options=train.get("dataset_options"),
        )


# For a design without a "train" block: the CNN or MLP defaults, chosen by its name.
MLP_RECIPE = Recipe(None)
CNN_RECIPE = Recipe(None, lr=2e-3, schedule="cosine", batch_size=64, epochs=3, augment="off")
# The shipped templates in menu order; each carries its recipe in resources/networks/<name>.json.
KNOWN_TEMPLATES = ("xor", "mnist_mlp", "mnist_cnn_small", "mnist_cnn", "mnist_cnn_large")


def template_spec(name: str) -> dict[str, Any] | None:
    """resources/networks/<name>.json as a dict; None when it is missing or not JSON."""
    try:
        spec = json.loads((TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) else None


def recipe_for(template: str) -> Recipe:
    """The template's recipe from its spec file; without one, the CNN or MLP defaults by its name."""
    spec = template_spec(template)
    if spec is not None and recipe_problem(spec) is None and isinstance(spec.get("train"), dict):
        return Recipe.from_train(recipe_of(spec))
    return CNN_RECIPE if "cnn" in template else MLP_RECIPE


# What each shipped template's file says (the table lives in the spec files).
TEMPLATE_RECIPES: dict[str, Recipe] = {name: recipe_for(name) for name in KNOWN_TEMPLATES}


# The order of the type combos; types the engine gains later are appended sorted.
TYPE_ORDER = (
    "dense", "conv2d", "maxpool2d", "avgpool2d", "batchnorm", "flatten", "dropout",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "linear", "reshape",
)  # fmt: skip
# Settings a freshly added layer starts with (the required ones, and a sensible stride/padding).
NEW_LAYER: dict[str, dict[str, Any]] = {
    "dense": {"units": 16, "activation": "relu"},
    "conv2d": {"filters": 8, "kernel_size": 3, "stride": 1, "padding": "same", "activation": "relu"},
    "maxpool2d": {"pool_size": 2},
    "avgpool2d": {"pool_size": 2},
    "dropout": {"rate": 0.5},
    "reshape": {"shape": [1, 28, 28]},
}


def available_templates() -> list[str]:
    """Template names found in resources/networks, the known ones first."""
    found = {p.stem for p in TEMPLATES_DIR.glob("*.json")} if TEMPLATES_DIR.is_dir() else set()
    return [n for n in KNOWN_TEMPLATES if n in found] + sorted(found - set(KNOWN_TEMPLATES))


def template_entry(name: str) -> tuple[str, str, str]:
    """(name, menu text, tooltip) of a template: its figure in the text, its description in the tip."""
    spec = template_spec(name) or {}
    label = name.replace("_", " ")
    expected = spec.get("expected") if isinstance(spec.get("expected"), str) else ""
    description = spec.get("description") if isinstance(spec.get("description"), str) else ""
    short = expected.split(" (")[0].split(" with ")[0].split(", about")[0]
    tip = " ".join(part for part in (description, f"Expected: {expected}." if expected else "") if part)
    return name, f"{label} — {short}" if short else label, tip


def layer_types() -> list[str]:
    return [t for t in TYPE_ORDER if t in LAYER_TYPES] + sorted(set(LAYER_TYPES) - set(TYPE_ORDER))


def settings_of(kind: str) -> list[tuple[str, Any]]:
    """(name, default) for each constructor argument of a layer type; default None if required."""
    if kind not in LAYER_TYPES:
        return []
    params = inspect.signature(LAYER_TYPES[kind]).parameters.values()
    return [
        (p.name, None if p.default is inspect.Parameter.empty else p.default)
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def new_layer(kind: str, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """A spec entry for ``kind``; settings of ``keep`` that the type accepts carry over."""
    entry: dict[str, Any] = {"type": kind, **copy.deepcopy(NEW_LAYER.get(kind, {}))}
    names = {name for name, _ in settings_of(kind)}
    for name, value in (keep or {}).items():
        if name in names:
            entry[name] = copy.deepcopy(value)
    return entry


def parse_shape(text: str) -> list[int] | str:
    """ "1x28x28", "784", "(1, 28, 28)" -> a list of ints; anything else stays text for the engine."""
    tokens = [t for t in re.split(r"[x×,\s()\[\]]+", text.strip().lower()) if t]
    if tokens and all(re.fullmatch(r"[+-]?\d+", t) for t in tokens):
        return [int(t) for t in tokens]
    return text


def describe_entry(entry: Any, info: LayerInfo | None, index: int) -> str:
    if info is not None:
        return info.layer.describe()
    try:
        return make_layer(entry, index).describe()
    except (ValueError, TypeError):
        return str(entry.get("type", "?")) if isinstance(entry, dict) else "?"


def kind_of(entry: Any) -> str:
    return str(entry.get("type", "layer")) if isinstance(entry, dict) else "layer"
