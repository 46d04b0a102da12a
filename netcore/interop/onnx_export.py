"""A netcore model as an ONNX graph (opset 17, IR 8: what ONNX Runtime 1.31+ loads).

    input (batch, *input_shape) [-> Sub mean -> Div std]  -> one node per operation -> scores
                                                          [-> Softmax/Sigmoid -> probabilities]

Dropout is left out (it is the identity at inference), BatchNormalization is in its inference
form with the running statistics, Flatten is NCHW-ordered (as netcore's), fused activations
are nodes of their own. A model trained on standardised CSV features takes the raw features:
the standardisation is the graph's first two nodes. Weights use PyTorch's names and layouts
(Gemm with transB=1), the metadata holds class names, input shape and the netcore header, and
shapes are inferred and stored so Netron shows them.
"""

from __future__ import annotations

import json

import numpy as np

from netcore.interop.metadata import HEADER_KEY, InteropError, header_json
from netcore.interop.plan import Op, build_plan, standardisation
from netcore.serialization import SavedModel

OPSET = 17
BATCH = "batch"


def to_onnx(model: SavedModel):
    """The ``onnx.ModelProto`` of ``model`` (checked and shape-inferred)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    net = model.network
    nodes: list = []
    inits: list = []

    def const(name: str, value: np.ndarray, dtype=np.float32) -> str:
        """An initializer (added once per name); returns its name."""
        if all(i.name != name for i in inits):
            inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    x = "input"
    stats = standardisation(model.preprocessing, net.input_shape)
    if stats is not None:
        x_raw = "features"
        nodes.append(
            helper.make_node(
                "Sub", [x_raw, const("feature_mean", stats[0])], ["centred"], name="standardise_sub"
            )
        )
        nodes.append(
            helper.make_node("Div", ["centred", const("feature_std", stats[1])], [x], name="standardise_div")
        )
        graph_input = x_raw
    else:
        graph_input = x
    for op in build_plan(net):
        if op.kind == "dropout":
            continue
        x = _node(op, x, nodes, const, helper)
    nodes.append(helper.make_node("Identity", [x], ["scores"], name="scores"))
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [BATCH, *net.output_shape])]
    k = net.output_shape[0] if len(net.output_shape) == 1 else None
    if net.is_classifier and k is not None:
        _probabilities(net.loss.name, k, nodes, const, helper)
        outputs.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [BATCH, max(k, 2)]))
    graph = helper.make_graph(
        nodes,
        str(net.spec.get("name") or "netcore_model"),
        [helper.make_tensor_value_info(graph_input, TensorProto.FLOAT, [BATCH, *net.input_shape])],
        outputs,
        initializer=inits,
    )
    proto = helper.make_model_gen_version(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="netcore", producer_version="1"
    )
    proto.doc_string = _doc(model, graph_input, stats is not None)
    meta = {
        HEADER_KEY: header_json(model),
        "class_names": json.dumps(model.class_names),
        "input_shape": json.dumps(list(net.input_shape)),
        "input_scale": json.dumps(model.preprocessing.get("scale")),
    }
    helper.set_model_props(proto, meta)
    proto = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    onnx.checker.check_model(proto)
    return proto


def _node(op: Op, x: str, nodes: list, const, helper) -> str:
    """Append the node(s) of one operation reading ``x``; returns the output's name."""
    out = f"{op.name}_out"
    a = op.attrs
    if op.kind == "dense":
        w, b = const(f"{op.name}.weight", op.arrays["W"].T), const(f"{op.name}.bias", op.arrays["b"])
        nodes.append(helper.make_node("Gemm", [x, w, b], [out], name=op.name, transB=1))
    elif op.kind == "conv2d":
        w, b = const(f"{op.name}.weight", op.arrays["W"]), const(f"{op.name}.bias", op.arrays["b"])
        top, bottom, left, right = a["pads"]
        nodes.append(
            helper.make_node(
                "Conv",
                [x, w, b],
                [out],
                name=op.name,
                kernel_shape=list(a["kernel"]),
                strides=[a["stride"], a["stride"]],
                pads=[top, left, bottom, right],
            )
        )
    elif op.kind in ("maxpool2d", "avgpool2d"):
        onnx_op = "MaxPool" if op.kind == "maxpool2d" else "AveragePool"
        nodes.append(
            helper.make_node(
                onnx_op, [x], [out], name=op.name, kernel_shape=list(a["pool"]), strides=list(a["stride"])
            )
        )
    elif op.kind == "batchnorm":
        names = [
            const(f"{op.name}.weight", op.arrays["gamma"]),
            const(f"{op.name}.bias", op.arrays["beta"]),
            const(f"{op.name}.running_mean", op.arrays["running_mean"]),
            const(f"{op.name}.running_var", op.arrays["running_var"]),
        ]
        # ONNX's momentum is netcore's: running = momentum * running + (1 - momentum) * batch
        nodes.append(
            helper.make_node(
                "BatchNormalization",
                [x, *names],
                [out],
                name=op.name,
                epsilon=a["eps"],
                momentum=a["momentum"],
            )
        )
    elif op.kind == "flatten":
        nodes.append(helper.make_node("Flatten", [x], [out], name=op.name, axis=1))
    elif op.kind == "reshape":
        shape = const(f"{op.name}.shape", np.array([0, *a["shape"]]), np.int64)  # 0 keeps the batch
        nodes.append(helper.make_node("Reshape", [x, shape], [out], name=op.name))
    elif op.kind == "leaky_relu":
        nodes.append(helper.make_node("LeakyRelu", [x], [out], name=op.name, alpha=a["alpha"]))
    elif op.kind == "softmax":
        nodes.append(helper.make_node("Softmax", [x], [out], name=op.name, axis=-1))
    elif op.kind in ("relu", "sigmoid", "tanh"):
        onnx_op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[op.kind]
        nodes.append(helper.make_node(onnx_op, [x], [out], name=op.name))
    else:
        raise InteropError(f"{op.spec_label} ({op.kind}) has no ONNX form yet")
    return out


def _probabilities(loss: str, k: int, nodes: list, const, helper) -> None:
    """Append the nodes that turn "scores" into "probabilities", as the loss defines them."""
    if loss in ("softmax_cross_entropy", "cross_entropy"):
        nodes.append(
            helper.make_node("Softmax", ["scores"], ["probabilities"], name="probabilities", axis=-1)
        )
        return
    if loss == "mse" and k > 1:  # mse on K outputs: the outputs themselves
        nodes.append(helper.make_node("Identity", ["scores"], ["probabilities"], name="probabilities"))
        return
    p = "probabilities" if k > 1 else "p"
    if loss == "binary_cross_entropy":
        nodes.append(helper.make_node("Sigmoid", ["scores"], [p], name="sigmoid"))
    else:  # mse on one output: the output clipped to 0..1 is the probability of class 1
        zero, one = const("zero", np.array(0.0)), const("one", np.array(1.0))
        nodes.append(helper.make_node("Clip", ["scores", zero, one], [p], name="clip"))
    if k == 1:  # one output p for class 1: [1 - p, p]
        nodes.append(helper.make_node("Sub", [const("one", np.array(1.0)), "p"], ["q"], name="one_minus_p"))
        nodes.append(helper.make_node("Concat", ["q", "p"], ["probabilities"], name="probabilities", axis=1))


def _doc(model: SavedModel, graph_input: str, standardised: bool) -> str:
    net = model.network
    shape = "x".join(map(str, net.input_shape))
    scale = model.preprocessing.get("scale")
    lines = [f"{net.spec.get('name', 'model')} exported by netcore: input '{graph_input}' (batch x {shape})"]
    if standardised:
        lines.append("takes the raw CSV features; the first two nodes standardise them")
    elif scale:
        lines.append(f"pixels scaled by {scale:.6g} (0..1), as in training")
    lines.append("outputs: 'scores' (raw)" + (", 'probabilities'" if net.is_classifier else ""))
    if model.class_names:
        lines.append("classes: " + ", ".join(model.class_names))
    return "; ".join(lines)


def save_onnx(model: SavedModel, path) -> None:
    from netcore.files import atomic_write_bytes

    atomic_write_bytes(path, to_onnx(model).SerializeToString())
