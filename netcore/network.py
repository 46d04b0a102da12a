"""A feed-forward network built from a spec."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np

from netcore.functional.phases import fits_phases
from netcore.layers import Conv2D, Layer, MaxPool2D
from netcore.losses import Loss, make_loss
from netcore.recipe import describe_recipe, recipe_of
from netcore.shapes import format_shape
from netcore.spec import LayerInfo, check_spec


class Network:
    """Layers applied in order, a loss on their output, parameters in one flat buffer.

    Shapes: ``forward(x)`` takes (N, *input_shape) and returns (N, *output_shape).
    All trained values live in ``flat_params`` and their gradients in ``flat_grads``
    (each layer's ``params``/``grads`` are views into them), so an optimizer step
    is a handful of vector operations whatever the depth.
    """

    def __init__(self, spec: dict[str, Any], seed: int = 0, dtype=np.float32) -> None:
        infos: list[LayerInfo] = check_spec(spec)
        self.spec = copy.deepcopy(spec)
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(spec["input_shape"])
        self.output_shape = infos[-1].out_shape
        self.loss: Loss = make_loss(spec.get("loss", "softmax_cross_entropy"))
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = [info.layer for info in infos]
        for info in infos:
            info.layer.build(info.in_shape, self.rng, self.dtype)
        self.layers[0].needs_input_grad = False
        _fuse_relu_and_pooling(self.layers)
        self._pack()

    def _pack(self, shared: np.ndarray | None = None, grads: np.ndarray | None = None) -> None:
        """Move every layer's params and grads into two flat buffers, keeping views.

        With ``shared`` (another network's ``flat_params``), the params become views of it
        instead, keeping its values; with ``grads``, the gradients live there (zeroed)."""
        total = sum(p.size for layer in self.layers for p in layer.params.values())
        for name, given in (("shared parameters", shared), ("gradients", grads)):
            if given is not None and (given.shape != (total,) or given.dtype != self.dtype):
                raise ValueError(f"{name} must be {total} {self.dtype} values, got {given.shape}")
        self.flat_params = np.zeros(total, dtype=self.dtype) if shared is None else shared
        if grads is None:
            grads = np.zeros(total, dtype=self.dtype)
        else:
            grads.fill(0)
        self.flat_grads = grads
        self.weight_views: list[np.ndarray] = []  # what L2 decays: weights, not biases
        offset = 0
        for layer in self.layers:
            for key, value in list(layer.params.items()):
                n = value.size
                view = self.flat_params[offset : offset + n].reshape(value.shape)
                if shared is None:
                    view[...] = value
                layer.params[key] = view
                layer.grads[key] = self.flat_grads[offset : offset + n].reshape(value.shape)
                if key == "W":
                    self.weight_views.append(view)
                offset += n

    def replica(self, seed: int) -> Network:
        """The same layers built again -- own caches, gradients and random generator (dropout)
        -- with parameters that are views of this network's ``flat_params``: a second thread
        can take part of a batch through it (``netcore.parallel``)."""
        twin = Network(self.spec, seed=seed, dtype=self.dtype)
        twin._pack(shared=self.flat_params)
        for mine, theirs in zip(self.layers, twin.layers, strict=True):
            if isinstance(mine, Conv2D):
                theirs.use_method(mine.method)
                theirs.exact_rows = mine.exact_rows
        return twin

    # -- computation ---------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, d_out: np.ndarray) -> None:
        """Fill ``flat_grads`` from dL/d(output)."""
        for layer in reversed(self.layers):
            d_out = layer.backward(d_out)

    def predict(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Raw outputs (N, *output_shape) at inference, in chunks."""
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape:
            x = x.reshape((x.shape[0],) + self.input_shape)
        chunks = [
            self.forward(x[i : i + batch_size].astype(self.dtype, copy=False))
            for i in range(0, x.shape[0], batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0,) + self.output_shape, self.dtype)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K)."""
        return self.loss.probabilities(self.predict(x))

    def evaluate(self, x: np.ndarray, labels: np.ndarray, batch_size: int = 2048) -> dict[str, float]:
        """Mean loss and (for classifiers) accuracy on labelled data."""
        out = self.predict(x, batch_size)
        target = self.loss.targets(labels, self.output_shape[0], self.dtype) if self.is_classifier else labels
        result = {"loss": self.loss.forward(out, target)}
        if self.is_classifier:
            result["accuracy"] = float(np.mean(self.loss.predicted_labels(out) == labels))
        return result

    @property
    def is_classifier(self) -> bool:
        """True unless the spec says ``"task": "regression"`` (then only mse applies)."""
        return self.spec.get("task", "classification") == "classification"

    # -- parameters ----------------------------------------------------------------
    def named_params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def named_grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every array a saved model needs: parameters and layer state, flat keys like "0.W"."""
        arrays = {k: v.copy() for k, v in self.named_params().items()}
        for i, layer in enumerate(self.layers):
            arrays.update({f"{i}.{k}": v.copy() for k, v in layer.state.items()})
        return arrays

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays in; ValueError if a key or shape does not match this network."""
        expected = {
            f"{i}.{k}": v
            for i, layer in enumerate(self.layers)
            for k, v in {**layer.params, **layer.state}.items()
        }
        missing = sorted(set(expected) - set(arrays))
        extra = sorted(set(arrays) - set(expected))
        if missing or extra:
            raise ValueError(f"weights do not match the design (missing {missing}, unexpected {extra})")
        for key, target in expected.items():
            value = arrays[key]
            if value.shape != target.shape:
                raise ValueError(f"weight {key} has shape {value.shape}, the design needs {target.shape}")
            target[...] = value

    @property
    def num_params(self) -> int:
        return int(self.flat_params.size)

    # -- description ---------------------------------------------------------------
    def summary(self) -> str:
        return format_summary(self.spec)

    def __repr__(self) -> str:
        return "Network(" + ", ".join(map(repr, self.layers)) + f"; {self.loss.name})"


def _fuse_relu_and_pooling(layers: list[Layer]) -> None:
    """A MaxPool2D right after a Conv2D's fused ReLU applies the ReLU's derivative in backward.

    max(relu(z)) = relu(max(z)), and each window's gradient goes to its maximum, where relu(z)
    is the pooled y: so [y > 0] on the pooled gradient (4x smaller for 2x2 windows) gives the
    same dL/dz as [relu(z) > 0] on the convolution's whole output, a pass over it saved.
    A 2x2 pooling at stride 2 of an output that splits into whole windows is also marked for the
    convolution's forward in phases (``Conv2D.pooled_in_phases``, ``netcore.functional.phases``).
    """
    for before, after in itertools.pairwise(layers):
        if type(before) is Conv2D and type(after) is MaxPool2D and before.fused_relu:
            before.relu_applied_after = after.applies_relu = True
            windows = after.pool == after.strides == (2, 2)
            before.pooled_in_phases = windows and fits_phases(before.geom)


def format_summary(spec: dict[str, Any]) -> str:
    """A table of layers, output shapes and parameter counts for a spec; SpecError if it is not valid."""
    infos = check_spec(spec)
    rows = [("#", "layer", "output shape", "params"), ("", "input", format_shape(spec["input_shape"]), "")]
    for info in infos:
        rows.append(
            (str(info.index + 1), info.layer.describe(), format_shape(info.out_shape), f"{info.num_params:,}")
        )
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = [
        "  ".join(r[c].ljust(widths[c]) if c < 3 else r[c].rjust(widths[c]) for c in range(4)) for r in rows
    ]
    total = sum(i.num_params for i in infos)
    lines.append(f"total parameters: {total:,}   loss: {spec.get('loss', 'softmax_cross_entropy')}")
    if recipe_of(spec):
        lines.append(f"recipe: {describe_recipe(recipe_of(spec))}")
    if spec.get("expected"):
        lines.append(f"expected: {spec['expected']}")
    return "\n".join(lines)
