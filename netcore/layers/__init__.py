"""All layer types, by their spec name."""

from netcore.layers.activations import (
    ACTIVATIONS,
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from netcore.layers.base import Layer, ShapeError
from netcore.layers.dense import Dense
from netcore.layers.dropout import Dropout
from netcore.layers.reshape import Flatten, Reshape

LAYER_TYPES: dict[str, type[Layer]] = {
    "dense": Dense,
    "dropout": Dropout,
    "flatten": Flatten,
    "reshape": Reshape,
    **{name: cls for name, cls in ACTIVATIONS.items() if name != "none"},
}

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "Layer",
    "LeakyReLU",
    "ReLU",
    "Reshape",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
