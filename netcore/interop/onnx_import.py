"""An ONNX graph of supported operators back into a netcore spec and weights.

Reads graphs this package writes and plain PyTorch ``nn.Sequential`` models exported with
``torch.onnx.export``: a chain from the input to the first output of Gemm / MatMul(+Add),
Conv (with a Pad before it folded in), MaxPool, AveragePool, BatchNormalization, Flatten,
Reshape, Relu, LeakyRelu, Sigmoid, Tanh, Softmax; Identity and Dropout pass through, and a
Sub/Div by constants at the very start becomes the feature standardisation. An activation
right after a dense or conv layer is fused into it, as a spec would write it. Anything else
raises InteropError naming the operator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netcore.interop.metadata import InteropError

SUPPORTED = (
    "Gemm MatMul Add Conv Pad MaxPool AveragePool BatchNormalization Flatten Reshape Relu LeakyRelu "
    "Sigmoid Tanh Softmax Identity Dropout Sub Div Constant"
).split()
ACTIVATIONS = {
    "Relu": "relu",
    "LeakyRelu": "leaky_relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
}


# Operators on constants only (the arithmetic PyTorch's exporter emits for a ZeroPad2d's pads,
# weights passed through Identity, ...): evaluated here, they never become layers.
FOLDABLE = (
    "Identity Cast ConstantOfShape Concat Reshape Slice Transpose Unsqueeze Squeeze Gather Add Sub Mul Div"
).split()


def _fold(op: str, x: list, a: dict[str, Any]) -> np.ndarray:
    """The value of a node whose inputs are all constants."""
    from onnx import helper, numpy_helper

    if op == "Identity":
        return x[0]
    if op == "Cast":
        return x[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))
    if op == "ConstantOfShape":
        value = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
        return np.full([int(d) for d in x[0]], value.reshape(-1)[0], dtype=value.dtype)
    if op == "Concat":
        return np.concatenate([np.atleast_1d(v) for v in x], axis=a.get("axis", 0))
    if op == "Reshape":
        shape = [int(d) if d != 0 or a.get("allowzero", 0) else x[0].shape[k] for k, d in enumerate(x[1])]
        return x[0].reshape(shape)
    if op == "Slice":
        data, starts, ends = x[0], x[1], x[2]
        axes = x[3] if len(x) > 3 and x[3] is not None else range(len(starts))
        steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(starts)
        index = [slice(None)] * data.ndim
        for axis, start, end, step in zip(axes, starts, ends, steps, strict=False):
            index[int(axis)] = slice(int(start), int(max(min(end, 2**62), -(2**62))), int(step))
        return data[tuple(index)]
    if op == "Transpose":
        return np.transpose(x[0], a.get("perm"))
    if op == "Unsqueeze":
        axes = x[1] if len(x) > 1 and x[1] is not None else a["axes"]
        return np.expand_dims(x[0], tuple(int(v) for v in np.atleast_1d(axes)))
    if op == "Squeeze":
        axes = x[1] if len(x) > 1 and x[1] is not None else a.get("axes")
        return np.squeeze(x[0], None if axes is None else tuple(int(v) for v in np.atleast_1d(axes)))
    if op == "Gather":
        return np.take(x[0], x[1], axis=a.get("axis", 0))
    ufunc = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
    return ufunc(x[0], x[1]).astype(x[0].dtype)


def _tidy(value: float) -> float:
    """A float32 attribute (1e-5 stored as 9.99999974e-06) as the decimal it was written as."""
    return float(f"{float(value):.6g}")


class _Chain:
    """Walks the nodes from the input to the first output, building spec layers and arrays."""

    def __init__(self, proto) -> None:
        from onnx import numpy_helper

        self.graph = proto.graph
        self.consts: dict[str, np.ndarray] = {
            i.name: numpy_helper.to_array(i) for i in self.graph.initializer
        }
        self.layers: list[dict[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.pre: dict[str, Any] = {}
        self.pad: tuple[int, int, int, int] | None = None  # a Pad waiting for its Conv
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise InteropError(f"the ONNX graph has {len(inputs)} inputs; netcore reads graphs with one")
        dims = inputs[0].type.tensor_type.shape.dim
        self.input_shape = [int(d.dim_value) for d in dims[1:]]
        if not self.input_shape or any(d <= 0 for d in self.input_shape):
            raise InteropError("the ONNX input has no fixed shape after the batch dimension")
        if not self.graph.output:
            raise InteropError("the ONNX graph has no output")
        self.x = inputs[0].name  # the value flowing along the chain

    def const(self, name: str, node) -> np.ndarray:
        if name not in self.consts:
            raise InteropError(f"ONNX node {_label(node)} needs a constant for {name!r}")
        return self.consts[name]

    def optional(self, node, k: int, size: int) -> np.ndarray:
        """Input k of node if given (a bias), else zeros."""
        if len(node.input) > k and node.input[k]:
            return self.const(node.input[k], node)
        return np.zeros(size, np.float32)

    def read(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
        from onnx import helper, numpy_helper

        needed = _needed_nodes(self.graph, self.graph.output[0].name)
        for position, node in enumerate(self.graph.node):
            if position not in needed:
                continue
            op = node.op_type
            a = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
            if op == "Constant":
                value = a.get("value")
                self.consts[node.output[0]] = (
                    numpy_helper.to_array(value) if value is not None else np.asarray(next(iter(a.values())))
                )
                continue
            if op in FOLDABLE and all(i in self.consts for i in node.input if i):
                self.consts[node.output[0]] = _fold(
                    op, [self.consts[i] if i else None for i in node.input], a
                )
                continue
            if op not in SUPPORTED:
                raise InteropError(
                    f"unsupported ONNX operator {op} (node {node.name or '?'}); netcore reads {', '.join(SUPPORTED)}"
                )
            data = [i for i in node.input if i and i not in self.consts]
            if data != [self.x] or (op != "Add" and node.input[0] != self.x):
                raise InteropError(
                    f"ONNX node {_label(node)} is not part of a single chain of layers; netcore reads sequential networks"
                )
            if self.pad is not None and op != "Conv":
                raise InteropError(f"a Pad is followed by {op}; netcore pads only before a convolution")
            self.step(op, node, a)
            self.x = node.output[0]
        if self.pad is not None:
            raise InteropError("the ONNX graph ends in a Pad")
        if not self.layers:
            raise InteropError("the ONNX graph holds no layers netcore can read")
        arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.arrays.items()}
        return {"input_shape": self.input_shape, "layers": self.layers}, arrays, self.pre

    def step(self, op: str, node, a: dict[str, Any]) -> None:
        """One operator of the chain: a new layer, a change to the last one, or nothing."""
        index = len(self.layers)
        if op in ("Identity", "Dropout"):
            return
        if op in ("Sub", "Div"):
            self.standardisation(op, node)
        elif op in ("Gemm", "MatMul"):
            if op == "Gemm" and (
                a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
            ):
                raise InteropError(
                    f"ONNX Gemm {_label(node)} uses transA/alpha/beta, which a dense layer does not"
                )
            w = self.const(node.input[1], node)
            w = w.T if a.get("transB", 0) else w
            b = self.optional(node, 2, w.shape[1]) if op == "Gemm" else np.zeros(w.shape[1], np.float32)
            self.layers.append({"type": "dense", "units": int(w.shape[1])})
            self.arrays[f"{index}.W"], self.arrays[f"{index}.b"] = w, np.broadcast_to(b, (w.shape[1],))
        elif op == "Add":  # the bias of a MatMul before it
            last = self.layers[-1] if self.layers else None
            if last is None or last["type"] != "dense" or "activation" in last:
                raise InteropError(f"ONNX Add {_label(node)} is not the bias of a dense layer")
            bias = self.const(next(i for i in node.input if i != self.x), node).reshape(-1)
            self.arrays[f"{index - 1}.b"] = self.arrays[f"{index - 1}.b"] + bias
        elif op == "Pad":
            self.pad = _pad(self, node, a)
        elif op == "Conv":
            self.layers.append(_conv(self, node, a, self.pad, self.arrays, index))
            self.pad = None
        elif op in ("MaxPool", "AveragePool"):
            self.layers.append(_pool(node, a))
        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise InteropError(f"ONNX BatchNormalization {_label(node)} is in training mode")
            for key, name in zip(
                ("gamma", "beta", "running_mean", "running_var"), node.input[1:5], strict=True
            ):
                self.arrays[f"{index}.{key}"] = self.const(name, node)
            momentum, eps = _tidy(a.get("momentum", 0.9)), _tidy(a.get("epsilon", 1e-5))
            self.layers.append({"type": "batchnorm", "momentum": momentum, "eps": eps})
        elif op == "Flatten":
            if a.get("axis", 1) != 1:
                raise InteropError(
                    f"ONNX Flatten {_label(node)} has axis {a['axis']}; netcore flattens from axis 1"
                )
            self.layers.append({"type": "flatten"})
        elif op == "Reshape":
            shape = [int(v) for v in self.const(node.input[1], node).reshape(-1)]
            if len(shape) < 2 or shape[0] not in (0, -1) or any(v <= 0 for v in shape[1:]):
                raise InteropError(f"ONNX Reshape {_label(node)} to {shape} is not a per-sample reshape")
            self.layers.append(
                {"type": "flatten"} if len(shape) == 2 else {"type": "reshape", "shape": shape[1:]}
            )
        else:
            self.activation(op, node, a)

    def standardisation(self, op: str, node) -> None:
        """(x - mean) / std on the raw features, before any layer: one Sub, then one Div."""
        d = self.input_shape[0]
        late = (
            self.layers
            or len(self.input_shape) != 1
            or "std" in self.pre
            or (op == "Sub" and "mean" in self.pre)
        )
        if late:
            raise InteropError(f"ONNX {op} {_label(node)} is not a feature standardisation at the input")
        value = np.broadcast_to(self.const(node.input[1], node).astype(np.float64).reshape(-1), (d,))
        self.pre["mean" if op == "Sub" else "std"] = value.tolist()

    def activation(self, op: str, node, a: dict[str, Any]) -> None:
        """Fused into the dense or conv layer right before it (as a spec writes it), else a layer."""
        kind = ACTIVATIONS[op]
        if op == "Softmax" and a.get("axis", -1) not in (-1, _rank(self.layers, self.input_shape) - 1):
            raise InteropError(
                f"ONNX Softmax {_label(node)} is over axis {a['axis']}; netcore's is over the last axis"
            )
        last = self.layers[-1] if self.layers else None
        if kind == "leaky_relu":
            self.layers.append({"type": "leaky_relu", "alpha": _tidy(a.get("alpha", 0.01))})
        elif last is not None and last["type"] in ("dense", "conv2d") and "activation" not in last:
            last["activation"] = kind
        else:
            self.layers.append({"type": kind})


def _label(node) -> str:
    return f"{node.name or '?'} ({node.op_type})"


def read_graph(proto) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
    """(spec without name/loss, netcore state dict, preprocessing) from an ONNX model."""
    spec, arrays, pre = _Chain(proto).read()
    if pre:
        d = spec["input_shape"][0]
        pre = {"mean": pre.get("mean", [0.0] * d), "std": pre.get("std", [1.0] * d)}
    return spec, arrays, pre


def _rank(layers, input_shape) -> int:
    """The rank (with batch) of the current tensor: 2 once flattened, else that of the input."""
    for layer in reversed(layers):
        if layer["type"] in ("flatten", "dense"):
            return 2
        if layer["type"] == "reshape":
            return 1 + len(layer["shape"])
    return 1 + len(input_shape)


def _needed_nodes(graph, output: str) -> set[int]:
    """Positions of the nodes the first output depends on (the probabilities branch is left out)."""
    producer = {o: k for k, n in enumerate(graph.node) for o in n.output}
    needed, todo = set(), [output]
    while todo:
        k = producer.get(todo.pop())
        if k is None or k in needed:
            continue
        needed.add(k)
        todo.extend(i for i in graph.node[k].input if i)
    return needed


def _pad(r: _Chain, node, a) -> tuple[int, int, int, int]:
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = a.get("pads")
    if pads is None:
        pads = r.const(node.input[1], node).tolist()
    value = float(r.const(node.input[2], node)) if len(node.input) > 2 and node.input[2] else 0.0
    if mode != "constant" or value != 0.0 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise InteropError(f"ONNX Pad {node.name} is not zero padding of height and width")
    return int(pads[2]), int(pads[6]), int(pads[3]), int(pads[7])  # top, bottom, left, right


def _conv(r: _Chain, node, a, pad, arrays, index) -> dict[str, Any]:
    w = r.const(node.input[1], node)
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise InteropError(f"ONNX Conv {node.name} uses groups or dilation, which netcore's conv2d does not")
    strides = a.get("strides", [1, 1])
    if strides[0] != strides[1]:
        raise InteropError(
            f"ONNX Conv {node.name} has strides {strides}; netcore uses one stride for both axes"
        )
    auto = a.get("auto_pad", b"NOTSET")
    if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID"):
        raise InteropError(f"ONNX Conv {node.name} uses auto_pad; export it with explicit pads")
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    if pad is not None:
        top, bottom, left, right = top + pad[0], bottom + pad[1], left + pad[2], right + pad[3]
    f, _, kh, kw = (int(d) for d in w.shape)
    s = int(strides[0])
    layer: dict[str, Any] = {
        "type": "conv2d",
        "filters": f,
        "kernel_size": kh if kh == kw else [kh, kw],
        "stride": s,
    }
    if (top, bottom, left, right) == (0, 0, 0, 0):
        layer["padding"] = "valid"
    elif top == bottom == left == right:
        layer["padding"] = int(top)
    else:
        layer["padding"] = "same"
        layer["_pads"] = (top, bottom, left, right)  # checked against the input size once it is known
    b = r.const(node.input[2], node) if len(node.input) > 2 and node.input[2] else np.zeros(f, np.float32)
    arrays[f"{index}.W"], arrays[f"{index}.b"] = w, b
    return layer


def _pool(node, a) -> dict[str, Any]:
    kind = "maxpool2d" if node.op_type == "MaxPool" else "avgpool2d"
    if (
        any(a.get("pads", [0, 0, 0, 0]))
        or a.get("ceil_mode", 0)
        or any(d != 1 for d in a.get("dilations", [1, 1]))
    ):
        raise InteropError(
            f"ONNX {node.op_type} {node.name} uses padding, ceil_mode or dilation; netcore pools without"
        )
    size = [int(v) for v in a["kernel_shape"]]
    strides = [int(v) for v in a.get("strides", size)]
    layer: dict[str, Any] = {"type": kind, "pool_size": size[0] if size[0] == size[1] else size}
    if strides != size:
        layer["stride"] = strides[0] if strides[0] == strides[1] else strides
    return layer


def check_same_padding(spec: dict[str, Any]) -> None:
    """Asymmetric pads read as "same" must be exactly what "same" gives; InteropError otherwise."""
    from netcore.functional.im2col import pad_amounts
    from netcore.spec import check_spec

    for i, layer in enumerate(spec["layers"]):
        pads = layer.pop("_pads", None)
        if pads is None:
            continue
        prefix = [dict(x) for x in spec["layers"][: i + 1]]
        infos = check_spec({"input_shape": spec["input_shape"], "layers": prefix, "loss": "mse"})
        c, h, w = infos[i].in_shape
        kh, kw = (
            (layer["kernel_size"],) * 2 if isinstance(layer["kernel_size"], int) else layer["kernel_size"]
        )
        same = (*pad_amounts("same", h, kh, layer["stride"]), *pad_amounts("same", w, kw, layer["stride"]))
        if tuple(pads) != same:
            raise InteropError(
                f"layer {i + 1} (conv2d) pads {list(pads)} (top, bottom, left, right), which is neither symmetric nor 'same'"
            )
