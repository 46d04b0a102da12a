"""Network specs: the JSON-able description a network is built from.

    {"name": "mnist_mlp",
     "input_shape": [784],
     "layers": [{"type": "dense", "units": 128, "activation": "relu"},
                {"type": "dense", "units": 10}],
     "loss": "softmax_cross_entropy"}

``check_spec`` infers every layer's output shape without building anything and
raises SpecError naming the layer (1-based, as a person counts) and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netcore.layers import LAYER_TYPES, Layer, ShapeError
from netcore.losses import LOSSES, make_loss


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


def check_spec(spec: dict[str, Any]) -> list[LayerInfo]:
    """Shape inference without data: one LayerInfo per layer, or SpecError."""
    if not isinstance(spec, dict):
        raise SpecError("a spec must be a JSON object")
    if "input_shape" not in spec:
        raise SpecError("the spec has no input_shape")
    shape = normalise_shape(spec["input_shape"])
    entries = spec.get("layers")
    if not isinstance(entries, list) or not entries:
        raise SpecError("the spec needs a non-empty list of layers")
    loss_name = spec.get("loss", "softmax_cross_entropy")
    if loss_name not in LOSSES:
        raise SpecError(f"unknown loss {loss_name!r}; choose one of {', '.join(sorted(LOSSES))}")
    infos = []
    for index, entry in enumerate(entries):
        layer = make_layer(entry, index)
        try:
            out = tuple(layer.output_shape(shape))
        except ShapeError as exc:
            raise SpecError(f"layer {index + 1} ({layer.kind}) {exc}", index) from None
        infos.append(LayerInfo(index, layer, shape, out, int(layer.count_params(shape))))
        shape = out
    last = infos[-1].layer
    last_act = getattr(getattr(last, "act", None), "kind", None) or last.kind
    problem = make_loss(loss_name).check_output(shape, last_act)
    if problem:
        raise SpecError(problem, len(entries) - 1)
    return infos


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
