"""Network specs: the JSON-able description a network is built from.

    {"name": "mnist_mlp",
     "input_shape": [784],
     "layers": [{"type": "dense", "units": 128, "activation": "relu"},
                {"type": "dense", "units": 10}],
     "loss": "softmax_cross_entropy"}

``analyse`` infers every layer's output shape and parameter count without building anything
and finds the first problem; ``check_spec`` raises it as a SpecError naming the layer (1-based,
as a person counts) and what to do. A spec may carry its training recipe (``"train"``, see
netcore/recipe.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netcore.layers import LAYER_TYPES, Layer, ShapeError
from netcore.losses import LOSSES, make_loss
from netcore.recipe import recipe_problem


class SpecError(ValueError):
    """A spec that cannot be built. ``layer_index`` is 0-based, or None for the whole spec."""

    def __init__(self, message: str, layer_index: int | None = None) -> None:
        super().__init__(message)
        self.layer_index = layer_index


@dataclass(frozen=True)
class LayerInfo:
    index: int
    layer: Layer
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    num_params: int


def make_layer(entry: dict[str, Any], index: int) -> Layer:
    """The layer for one spec entry; SpecError names the entry if it is wrong."""
    where = f"layer {index + 1}"
    if not isinstance(entry, dict) or "type" not in entry:
        raise SpecError(f'{where} must be an object with a "type"', index)
    kind = entry["type"]
    if kind not in LAYER_TYPES:
        raise SpecError(
            f"{where} has unknown type {kind!r}; choose one of {', '.join(sorted(LAYER_TYPES))}", index
        )
    settings = {k: v for k, v in entry.items() if k != "type"}
    try:
        return LAYER_TYPES[kind](**settings)
    except TypeError as exc:
        raise SpecError(f"{where} ({kind}): {_explain_type_error(exc)}", index) from None
    except ValueError as exc:
        raise SpecError(f"{where} ({kind}): {exc}", index) from None


def _explain_type_error(exc: TypeError) -> str:
    text = str(exc)
    if "unexpected keyword argument" in text:
        return "unknown setting " + text.split("argument", 1)[1].strip()
    if "missing" in text and "required" in text:
        return "missing setting " + text.split("argument:", 1)[-1].strip()
    return text


def normalise_shape(shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, (list, tuple))
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise SpecError(f"input_shape must be a list of positive integers, got {shape!r}")
    return tuple(shape)


@dataclass(frozen=True)
class Analysis:
    """What a spec amounts to, as far as it can be read: the one walk behind ``check_spec``,
    ``format_summary`` and the designer.

    infos: one per layer entry, None from the first layer whose shape is unknown on.
    message: the first problem, as ``check_spec`` raises it ("" when the spec is valid).
    error_layer: 0-based index of the layer the problem is in; None when it is the whole spec's.
    input_ok: whether input_shape is a list of positive integers.
    """

    infos: list[LayerInfo | None]
    message: str
    error_layer: int | None
    input_ok: bool

    @property
    def valid(self) -> bool:
        return not self.message

    @property
    def num_params(self) -> int:
        return sum(info.num_params for info in self.infos if info is not None)


def analyse(spec: Any) -> Analysis:
    """Shapes and parameter counts of every layer that can be read, and the first problem.

    Pure shape inference: no arrays are allocated. The layers after a bad one have unknown
    shapes (None); a bad loss or recipe still leaves every layer's shape known.
    """
    if not isinstance(spec, dict):
        return Analysis([], "a spec must be a JSON object", None, False)
    entries = spec.get("layers")
    layers = entries if isinstance(entries, list) else []
    problems: list[SpecError] = []  # in the order check_spec has always reported them
    shape: tuple[int, ...] | None = None
    if "input_shape" not in spec:
        problems.append(SpecError("the spec has no input_shape"))
    else:
        try:
            shape = normalise_shape(spec["input_shape"])
        except SpecError as exc:
            problems.append(exc)
    if not layers:
        problems.append(SpecError("the spec needs a non-empty list of layers"))
    loss_name = spec.get("loss", "softmax_cross_entropy")
    loss_ok = isinstance(loss_name, str) and loss_name in LOSSES
    if not loss_ok:
        problems.append(SpecError(f"unknown loss {loss_name!r}; choose one of {', '.join(sorted(LOSSES))}"))
    infos, layer_problem = _walk(layers, shape)
    if layer_problem is not None:
        problems.append(layer_problem)
    elif loss_ok and layers and shape is not None:
        last = infos[-1].layer
        last_act = getattr(getattr(last, "act", None), "kind", None) or last.kind
        problem = make_loss(loss_name).check_output(infos[-1].out_shape, last_act)
        if problem:
            problems.append(SpecError(problem, len(layers) - 1))
    problem = recipe_problem(spec)
    if problem:
        problems.append(SpecError(problem))
    first = problems[0] if problems else None
    infos += [None] * (len(layers) - len(infos))
    return Analysis(
        infos, str(first) if first else "", first.layer_index if first else None, shape is not None
    )


def _walk(entries: list[Any], shape: tuple[int, ...] | None) -> tuple[list[LayerInfo], SpecError | None]:
    """LayerInfo for each entry up to the first that cannot be built or fitted to its input."""
    infos: list[LayerInfo] = []
    if shape is None:
        return infos, None
    for index, entry in enumerate(entries):
        try:
            layer = make_layer(entry, index)
            out = tuple(layer.output_shape(shape))
            count = int(layer.count_params(shape))
        except SpecError as exc:
            return infos, exc
        except ShapeError as exc:
            return infos, SpecError(f"layer {index + 1} ({layer.kind}) {exc}", index)
        except (ValueError, TypeError) as exc:  # a setting the constructor let through
            return infos, SpecError(f"layer {index + 1} ({layer.kind}): {type(exc).__name__}: {exc}", index)
        layer.in_shape, layer.out_shape = shape, out  # lets describe() print "Dense(2 -> 4, ...)"
        infos.append(LayerInfo(index, layer, shape, out, count))
        shape = out
    return infos, None


def check_spec(spec: dict[str, Any]) -> list[LayerInfo]:
    """Shape inference without data: one LayerInfo per layer, or SpecError for the first problem."""
    analysis = analyse(spec)
    if not analysis.valid:
        raise SpecError(analysis.message, analysis.error_layer)
    return list(analysis.infos)


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a spec file; SpecError if it is not JSON or not a valid spec."""
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path} is not a JSON spec: {exc}") from None
    check_spec(spec)
    return spec


def save_spec(spec: dict[str, Any], path: str | Path) -> None:
    from netcore.files import atomic_write_bytes

    check_spec(spec)
    atomic_write_bytes(Path(path), (json.dumps(spec, indent=2) + "\n").encode("utf-8"))
