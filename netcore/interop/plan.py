"""A network as a flat list of operations: what every exporter walks.

Each spec layer becomes one ``Op`` (a fused activation becomes a second ``Op`` of its own),
with its settings made explicit (conv padding as four numbers, pooling strides) and its arrays
in netcore's layout. Names follow the spec, 1-based as a person counts: layer 3, a dense layer,
is ``fc3``; its fused ReLU is ``fc3_relu``. The PyTorch module, the ONNX graph and the NumPy
file all use these names, so a weight is called the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from netcore.functional.im2col import pad_amounts
from netcore.network import Network

PREFIX = {
    "dense": "fc",
    "conv2d": "conv",
    "batchnorm": "bn",
    "maxpool2d": "maxpool",
    "avgpool2d": "avgpool",
    "flatten": "flatten",
    "reshape": "reshape",
    "dropout": "dropout",
}
ACTIVATION_KINDS = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax")


@dataclass(frozen=True)
class Op:
    """One operation. ``kind`` is a spec layer type or an activation name; ``layer`` the 0-based
    spec index it comes from; ``arrays`` netcore's (e.g. dense "W" (D_in, units))."""

    kind: str
    layer: int
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    fused: bool = False  # an activation that the spec fused into its dense/conv layer

    @property
    def spec_label(self) -> str:
        """'layer 3 (dense)' as the spec counts."""
        return f"layer {self.layer + 1}"


def layer_name(kind: str, index: int) -> str:
    return f"{PREFIX.get(kind, kind)}{index + 1}"


def build_plan(network: Network) -> list[Op]:
    """The operations of ``network`` in order (dropout included; exporters for inference skip it)."""
    ops: list[Op] = []
    shape = tuple(network.input_shape)
    for index, layer in enumerate(network.layers):
        out = tuple(layer.out_shape)
        kind = layer.kind
        name = layer_name(kind, index)
        arrays = {k: np.array(v, dtype=np.float32) for k, v in {**layer.params, **layer.state}.items()}
        attrs: dict[str, Any] = {}
        if kind == "conv2d":
            kh, kw = layer.kernel
            s = layer.stride
            top, bottom = pad_amounts(layer.padding, shape[1], kh, s)
            left, right = pad_amounts(layer.padding, shape[2], kw, s)
            attrs = {
                "filters": layer.filters,
                "channels": shape[0],
                "kernel": (kh, kw),
                "stride": s,
                "pads": (top, bottom, left, right),
                "padding": layer.padding,
            }
        elif kind == "dense":
            attrs = {"units": layer.units, "in_features": shape[0]}
        elif kind in ("maxpool2d", "avgpool2d"):
            attrs = {"pool": tuple(layer.pool), "stride": tuple(layer.strides)}
        elif kind == "batchnorm":
            attrs = {"channels": shape[0], "eps": layer.eps, "momentum": layer.momentum}
        elif kind == "reshape":
            attrs = {"shape": tuple(layer.shape)}
        elif kind == "dropout":
            attrs = {"rate": layer.rate}
        elif kind == "leaky_relu":
            attrs = {"alpha": layer.alpha}
        if kind != "linear":
            ops.append(Op(kind, index, name, shape, out, attrs, arrays))
        act = getattr(layer, "act", None)
        if act is not None and act.kind != "linear":
            act_attrs = {"alpha": act.alpha} if act.kind == "leaky_relu" else {}
            ops.append(Op(act.kind, index, f"{name}_{act.kind}", out, out, act_attrs, fused=True))
        shape = out
    return ops


def standardisation(preprocessing: dict[str, Any], input_shape: tuple[int, ...]) -> tuple | None:
    """(mean, std) float32 arrays if the model was trained on standardised features, else None."""
    if "mean" not in preprocessing or "std" not in preprocessing:
        return None
    mean = np.asarray(preprocessing["mean"], dtype=np.float32)
    std = np.asarray(preprocessing["std"], dtype=np.float32)
    if mean.shape != tuple(input_shape) or std.shape != tuple(input_shape):
        return None
    return mean, std


def describe_op(op: Op) -> str:
    """A short comment for generated code: what the spec says about this operation."""
    a = op.attrs
    if op.kind == "dense":
        return f"dense {a['in_features']} -> {a['units']}"
    if op.kind == "conv2d":
        kh, kw = a["kernel"]
        return f"conv2d {a['channels']} -> {a['filters']}, {kh}x{kw}, stride {a['stride']}, padding {a['padding']!r}"
    if op.kind in ("maxpool2d", "avgpool2d"):
        return f"{op.kind} {a['pool'][0]}x{a['pool'][1]}, stride {a['stride'][0]}x{a['stride'][1]}"
    if op.kind == "batchnorm":
        return f"batchnorm over {a['channels']} channels, eps {a['eps']:g}"
    if op.kind == "dropout":
        return f"dropout {a['rate']:g} (training only)"
    if op.kind == "reshape":
        return "reshape to " + "x".join(map(str, a["shape"]))
    shape = "x".join(map(str, op.out_shape))
    return f"{op.kind} ({'fused, ' if op.fused else ''}{shape})"
