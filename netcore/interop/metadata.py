"""What travels with exported weights: the spec, class names, preprocessing and training record.

The same JSON header a netcore model file holds (``netcore.serialization``), so a model that
goes out to ONNX or safetensors and comes back keeps its design, history and class names.
"""

from __future__ import annotations

import json
from typing import Any

from netcore.network import Network
from netcore.serialization import FORMAT_NAME, FORMAT_VERSION, SavedModel

HEADER_KEY = "netcore"  # key of the JSON header in ONNX metadata_props and safetensors metadata


class InteropError(ValueError):
    """An export or import that cannot be done; the message is one line for a person."""


class NeedsDesign(InteropError):
    """Weights that do not say which design they belong to: ask for a spec and import again."""


def model_header(model: SavedModel) -> dict[str, Any]:
    net = model.network
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "spec": net.spec,
        "history": model.history,
        "settings": model.settings,
        "dataset": model.dataset,
        "preprocessing": model.preprocessing,
        "class_names": model.class_names,
        "extra": {k: v for k, v in model.extra.items() if _jsonable(v)},
    }


def header_json(model: SavedModel) -> str:
    return json.dumps(model_header(model))


def parse_header(text: str | None) -> dict[str, Any] | None:
    """The header from its JSON text, or None if absent or not ours."""
    if not text:
        return None
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME or "spec" not in header:
        return None
    return header


def saved_model_from(
    network: Network, header: dict[str, Any] | None, extra: dict | None = None
) -> SavedModel:
    """A SavedModel around ``network`` carrying what ``header`` recorded (if anything)."""
    header = header or {}
    return SavedModel(
        network=network,
        history=list(header.get("history") or []),
        settings=dict(header.get("settings") or {}),
        dataset=dict(header.get("dataset") or {}),
        preprocessing=dict(header.get("preprocessing") or {}),
        class_names=[str(c) for c in header.get("class_names") or []],
        extra={**dict(header.get("extra") or {}), **(extra or {})},
    )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
