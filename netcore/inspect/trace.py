"""Every layer's output for a batch, computed on the network's inference twin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netcore.inspect.twin import twin_of
from netcore.network import Network


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for a batch.

    index:  the layer's position (0-based, as in parameter names "0.W")
    kind:   the spec's type ("conv2d", "dense", ...)
    name:   the layer's description, e.g. "Conv2D(1x28x28 -> 16x28x28, 5x5, relu)"
    output: (N, *out_shape) in the network's dtype, contiguous, after the layer's activation;
            conv feature maps are (N, F, OH, OW), dense layers (N, units). Read-only (safe to
            hand to another thread); it may be the previous layer's array (dropout at
            inference) or a view of it (flatten, reshape).
    """

    index: int
    kind: str
    name: str
    output: np.ndarray


def as_batch(network: Network, x: np.ndarray) -> np.ndarray:
    """``x`` as a batch (N, *input_shape) in the network's dtype; one sample may omit N.

    Anything with a multiple of the input size is accepted (a 28x28 image for a 1x28x28 or a
    784 network); ValueError naming both shapes otherwise.
    """
    x = np.asarray(x)
    size = int(np.prod(network.input_shape))
    if x.size == 0 or x.size % size:
        dims = "x".join(map(str, network.input_shape))
        raise ValueError(f"inputs of shape {x.shape} do not fit the network's input {dims}")
    return np.ascontiguousarray(x.reshape((-1,) + network.input_shape), dtype=network.dtype)


def run_layers(net: Network, x: np.ndarray) -> list[LayerOutput]:
    """Inference forward through ``net`` (a twin), keeping each layer's output.

    The outputs stay valid after a backward on the same net (no layer writes into its output
    or its input), which lets ``saliency`` return them with the gradient at no extra cost.
    """
    outputs = []
    for index, layer in enumerate(net.layers):
        x = np.ascontiguousarray(layer.forward(x, False))
        x.flags.writeable = False
        outputs.append(LayerOutput(index, layer.kind, layer.describe(), x))
    return outputs


def trace(network: Network, x: np.ndarray) -> list[LayerOutput]:
    """Every layer's output (inference mode) for the batch ``x``, one ``LayerOutput`` per layer.

    Shapes: x (N, *input_shape) (or one sample without N) -> outputs[i].output (N, *out_shape_i);
    the last is the raw scores (N, K), equal to ``network.forward(x)``.
    The network itself is not run: its caches for backward, its gradients and its random
    generator are left exactly as they were (see ``netcore.inspect.twin``). The weights are
    read as they are, so do not trace a network another thread is training: use the copy the
    window keeps. The same holds for every function in ``netcore.inspect``.
    """
    x = as_batch(network, x)
    twin = twin_of(network)
    with twin.lock:
        return run_layers(twin.network, x)


def conv_filters(network: Network, which: int = 0) -> np.ndarray | None:
    """A copy of the weights of the network's ``which``-th conv2d layer (0: the first), to draw
    as small pictures: (F, C, kh, kw); None when it has no such layer."""
    convs = [layer for layer in network.layers if layer.kind == "conv2d"]
    return convs[which].params["W"].copy() if which < len(convs) else None
