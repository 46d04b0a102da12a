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
from netcore.layers.batchnorm import BatchNorm
from netcore.layers.conv import Conv2D
from netcore.layers.dense import Dense
from netcore.layers.dropout import Dropout
from netcore.layers.pooling import AvgPool2D, MaxPool2D
from netcore.layers.reshape import Flatten, Reshape

LAYER_TYPES: dict[str, type[Layer]] = {
    "dense": Dense,
    "conv2d": Conv2D,
    "maxpool2d": MaxPool2D,
    "avgpool2d": AvgPool2D,
    "batchnorm": BatchNorm,
    "dropout": Dropout,
    "flatten": Flatten,
    "reshape": Reshape,
    **{name: cls for name, cls in ACTIVATIONS.items() if name != "none"},
}

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "ReLU",
    "Reshape",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
