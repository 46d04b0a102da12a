"""A network's inference twin: the same weights, its own layer caches and gradients.

Layers keep what their backward needs from the last forward (inputs, masks, padded batches,
scratch buffers written in place). Running the network itself to look inside it would
overwrite those caches between a training forward and its backward, and a saliency backward
would overwrite ``flat_grads``. The twin is a second set of layer objects built from the same
spec whose ``params`` and ``state`` dicts hold the *same arrays* as the original's (so it always
sees the current weights and running statistics, at no copying cost), while every cache and
gradient buffer is its own. One twin is kept per network (weakly: it goes when the network
goes); building it costs about one ``Network(spec)``.

A twin is not for two threads at once: callers hold ``lock`` while they use it (every function
in ``netcore.inspect`` does).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from netcore.network import Network


@dataclass
class Twin:
    network: Network  # the twin (its layers share the original's params and state arrays)
    lock: threading.Lock


_TWINS: weakref.WeakKeyDictionary[Network, Twin] = weakref.WeakKeyDictionary()
_BUILD_LOCK = threading.Lock()


def twin_of(network: Network) -> Twin:
    """The inference twin of ``network`` (built on first use, rebuilt if its arrays were rebound)."""
    with _BUILD_LOCK:
        found = _TWINS.get(network)
        if found is None or not _shares_arrays(found.network, network):
            found = _TWINS[network] = Twin(_build(network), threading.Lock())
        return found


def _build(network: Network) -> Network:
    twin = Network(network.spec, dtype=network.dtype)
    for mine, theirs in zip(twin.layers, network.layers, strict=True):
        for key in mine.params:
            mine.params[key] = theirs.params[key]
        for key in mine.state:
            mine.state[key] = theirs.state[key]
    twin.flat_params = network.flat_params
    twin.weight_views = list(network.weight_views)
    # saliency needs dL/dx of the input, which the original skips computing
    twin.layers[0].needs_input_grad = True
    return twin


def _shares_arrays(twin: Network, network: Network) -> bool:
    for mine, theirs in zip(twin.layers, network.layers, strict=True):
        if any(mine.params.get(k) is not v for k, v in theirs.params.items()):
            return False
        if any(mine.state.get(k) is not v for k, v in theirs.state.items()):
            return False
    return True
