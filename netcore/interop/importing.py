"""Weights made elsewhere -> a netcore model: ONNX graphs and safetensors files.

Everything is read and checked before anything is written: a file that is damaged, holds an
unsupported operator, or whose shapes do not fit the design raises InteropError (one line).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from netcore.interop.metadata import HEADER_KEY, InteropError, NeedsDesign, parse_header, saved_model_from
from netcore.network import Network
from netcore.serialization import SavedModel
from netcore.spec import SpecError, check_spec

PARAM_KINDS = ("dense", "conv2d", "batchnorm")


def import_onnx(path: Path, arch: dict[str, Any] | None = None) -> SavedModel:
    import onnx
    from google.protobuf.message import DecodeError

    from netcore.interop.onnx_import import check_same_padding, read_graph

    try:
        proto = onnx.load_from_string(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InteropError(f"{path} is damaged or not an ONNX model ({_first_line(exc)})") from None
    if not proto.graph.node:
        raise InteropError(f"{path} is damaged or not an ONNX model (no graph)")
    meta = {p.key: p.value for p in proto.metadata_props}
    header = parse_header(meta.get(HEADER_KEY))
    derived, arrays, pre = read_graph(proto)
    derived = _with_loss(derived, header)
    derived["name"] = (header or {}).get("spec", {}).get("name") or proto.graph.name or path.stem
    try:
        check_same_padding(derived)
        network = Network(derived)
        network.load_state_dict(arrays)
    except (SpecError, ValueError) as exc:
        raise InteropError(f"{path}: the graph does not make a netcore network: {_first_line(exc)}") from None
    wanted = arch if arch is not None else (header or {}).get("spec")
    if wanted is not None:
        adopted = _adopt(wanted, network)
        if adopted is None and arch is not None:
            raise InteropError(f"{path}: the graph does not compute what the design in --arch describes")
        network = adopted or network
    model = saved_model_from(network, header, {"imported_from": path.name})
    if pre and not model.preprocessing.get("mean"):
        model.preprocessing.update(pre)
    if not model.class_names and network.is_classifier and len(network.output_shape) == 1:
        model.class_names = [str(k) for k in range(max(network.output_shape[0], 2))]
    return model


def import_safetensors(path: Path, arch: dict[str, Any] | None = None) -> SavedModel:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from netcore.interop.torch_export import netcore_arrays

    try:
        raw = path.read_bytes()
        tensors = load(raw)
        meta = _safetensors_metadata(raw)
    except (SafetensorError, ValueError, OSError) as exc:
        raise InteropError(f"{path} is damaged or not a safetensors file ({_first_line(exc)})") from None
    header = parse_header(meta.get(HEADER_KEY))
    spec = arch if arch is not None else (header or {}).get("spec")
    if spec is None:
        raise NeedsDesign(
            f"{path} does not say which design its weights belong to: give its spec (netcore import --arch SPEC.json)"
        )
    try:
        network = Network(spec)
    except SpecError as exc:
        raise InteropError(f"the design is not valid: {exc}") from None
    try:
        arrays = netcore_arrays(network, tensors)
    except ValueError as exc:
        raise InteropError(f"{path} does not fit the design: {exc}") from None
    network.load_state_dict(arrays)
    if not all(np.all(np.isfinite(v)) for v in arrays.values()):
        raise InteropError(f"{path} holds weights that are not finite numbers")
    model = saved_model_from(network, header, {"imported_from": path.name})
    if not model.class_names and network.is_classifier and len(network.output_shape) == 1:
        model.class_names = [str(k) for k in range(max(network.output_shape[0], 2))]
    return model


def _safetensors_metadata(raw: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (an 8-byte length, then a JSON header)."""
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size].decode("utf-8"))
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def _with_loss(spec: dict[str, Any], header: dict[str, Any] | None) -> dict[str, Any]:
    """The loss and task of the exported design, else a guess from the last layer."""
    spec = copy.deepcopy(spec)
    if header is not None:
        original = header.get("spec", {})
        spec["loss"] = original.get("loss", "softmax_cross_entropy")
        if "task" in original:
            spec["task"] = original["task"]
        return spec
    layers = spec["layers"]
    last = layers[-1]
    act = last.get("activation") if last["type"] in ("dense", "conv2d") else last["type"]
    if act == "softmax":  # the loss applies the softmax: scores are what comes before it
        if last["type"] == "softmax":
            layers.pop()
        else:
            last.pop("activation")
        spec["loss"] = "softmax_cross_entropy"
    elif act == "sigmoid":
        spec["loss"] = "mse"
    else:
        infos = check_spec({**spec, "loss": "mse"})
        spec["loss"] = "softmax_cross_entropy" if infos[-1].out_shape[0] > 1 else "binary_cross_entropy"
    return spec


def _adopt(spec: dict[str, Any], derived: Network) -> Network | None:
    """``spec`` with ``derived``'s weights, if it has the same weighted layers in the same order
    and computes the same scores on a random batch; else None."""
    try:
        network = Network(spec)
    except SpecError:
        return None
    ours = [layer for layer in network.layers if layer.kind in PARAM_KINDS]
    theirs = [layer for layer in derived.layers if layer.kind in PARAM_KINDS]
    if len(ours) != len(theirs) or network.input_shape != derived.input_shape:
        return None
    for mine, other in zip(ours, theirs, strict=True):
        if mine.kind != other.kind:
            return None
        for key, value in {**other.params, **other.state}.items():
            target = {**mine.params, **mine.state}.get(key)
            if target is None or target.shape != value.shape:
                return None
            target[...] = value
    x = np.random.default_rng(0).standard_normal((4, *network.input_shape)).astype(np.float32)
    a, b = network.predict(x), derived.predict(x)
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        return None
    return network


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
