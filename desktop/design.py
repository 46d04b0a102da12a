"""The network design being edited, without widgets: templates, new layers, what the engine says.

``analyse`` runs the engine's ``check_spec`` (pure shape inference, no arrays) and walks
the layers for the shapes and parameter counts the designer draws, up to the first problem.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, replace
from typing import Any

from netcore.layers import LAYER_TYPES
from netcore.resources import resource_path
from netcore.spec import LayerInfo, SpecError, check_spec, make_layer, normalise_shape

TEMPLATES_DIR = resource_path("networks")

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

    ``dataset``, ``schedule``, ``augment`` None: leave the training panel's choice as it is.
    """

    dataset: str | None
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str | None = "constant"
    batch_size: int = 32
    epochs: int = 5
    augment: str | None = None
    data_options: dict[str, Any] | None = None


MLP_RECIPE = Recipe(None)
CNN_RECIPE = Recipe(None, lr=2e-3, schedule="cosine", batch_size=64, epochs=3, augment="off")
# The shipped templates, in menu order, each with the recipe its description quotes.
TEMPLATE_RECIPES: dict[str, Recipe] = {
    "xor": Recipe("xor", "sgd", 2.0, None, batch_size=4, epochs=3000, data_options={"n": 4, "noise": 0.0}),
    "mnist_mlp": Recipe("mnist"),
    "mnist_cnn_small": replace(CNN_RECIPE, dataset="mnist"),
    "mnist_cnn": replace(CNN_RECIPE, dataset="mnist"),
    "mnist_cnn_large": replace(CNN_RECIPE, dataset="mnist", epochs=10, augment="light"),
}
KNOWN_TEMPLATES = tuple(TEMPLATE_RECIPES)


def recipe_for(template: str) -> Recipe:
    """The template's recipe; for one a user added, the CNN or MLP defaults by its name."""
    return TEMPLATE_RECIPES.get(template) or (CNN_RECIPE if "cnn" in template else MLP_RECIPE)


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


def format_shape(shape: Any) -> str:
    if isinstance(shape, (list, tuple)):
        return "x".join(str(d) for d in shape)
    return "" if shape is None else str(shape)


@dataclass(frozen=True)
class Analysis:
    """What ``check_spec`` says about a spec, plus the shapes up to the first problem."""

    infos: list[LayerInfo | None]  # one per layer entry; None where the shape is unknown
    message: str  # "" when valid
    error_layer: int | None  # 0-based; None when the problem is not one layer's
    input_ok: bool

    @property
    def valid(self) -> bool:
        return not self.message


def analyse(spec: dict[str, Any]) -> Analysis:
    layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
    message, where, stray = "", None, False
    try:
        check_spec(spec)
    except SpecError as exc:
        message, where = str(exc), exc.layer_index
    except (ValueError, TypeError) as exc:  # a layer that failed without a SpecError
        message, stray = f"{type(exc).__name__}: {exc}", True
    # Walk the layers again for the list and the drawing: check_spec stops at the first error.
    infos: list[LayerInfo | None] = []
    try:
        shape: tuple[int, ...] | None = normalise_shape(spec.get("input_shape"))
    except SpecError:
        shape = None
    input_ok = shape is not None
    for index, entry in enumerate(layers if shape is not None else []):
        try:
            layer = make_layer(entry, index)
            out = tuple(layer.output_shape(shape))
            count = int(layer.count_params(shape))
        except (ValueError, TypeError):
            where = index if stray else where
            break
        layer.in_shape, layer.out_shape = shape, out  # lets describe() print "Dense(2 -> 4, ...)"
        infos.append(LayerInfo(index, layer, shape, out, count))
        shape = out
    infos += [None] * (len(layers) - len(infos))
    return Analysis(infos, message, where, input_ok)


def describe_entry(entry: Any, info: LayerInfo | None, index: int) -> str:
    if info is not None:
        return info.layer.describe()
    try:
        return make_layer(entry, index).describe()
    except (ValueError, TypeError):
        return str(entry.get("type", "?")) if isinstance(entry, dict) else "?"


def kind_of(entry: Any) -> str:
    return str(entry.get("type", "layer")) if isinstance(entry, dict) else "layer"
