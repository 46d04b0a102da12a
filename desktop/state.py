"""The window's application state, without Qt: what the user chose and what the session holds.

The controller owns one ``Session`` and changes it; widgets and the window read plain copies
through the controller's signals. Importing this module never loads Qt (tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netcore.experiment import DataSource
from netcore.network import Network
from netcore.train import TrainSettings


@dataclass
class DataChoice:
    """Which dataset, with its options (noise, n, test_ratio...) and augmentation."""

    name: str = "xor"
    options: dict[str, Any] = field(default_factory=dict)
    augment: str = "off"

    def key(self) -> tuple:
        return (self.name, tuple(sorted(self.options.items())))


@dataclass
class Session:
    """The network being worked on, its per-epoch history and what it was trained with.

    ``network`` is None until the first Train (or Open); ``history`` holds EpochStats dicts.
    """

    network: Network | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    settings: TrainSettings = field(default_factory=lambda: TrainSettings(epochs=10, batch_size=32, lr=1e-3))
    data_choice: DataChoice = field(default_factory=DataChoice)
    source: DataSource = field(default_factory=DataSource)

    def start(self, network: Network | None, history: list[dict[str, Any]] | None = None) -> None:
        """Work on ``network`` from now on (None: forget it; new weights at the next Train)."""
        self.network = network
        self.history = list(history or [])

    def model_extra(self) -> dict[str, Any]:
        """What the window saves beside the network that the engine does not know."""
        return {"augment": self.data_choice.augment}


def copy_network(network: Network) -> Network:
    """An independent network with the same design and weights (and BatchNorm statistics)."""
    twin = Network(network.spec, seed=0, dtype=network.dtype)
    twin.load_state_dict(network.state_dict())
    return twin


DESIGN_KEYS = ("input_shape", "layers", "loss", "task")  # what the weights depend on (not the name)


def design_key(spec: dict[str, Any]) -> str:
    """A text that is equal for two specs exactly when they build the same network."""
    return json.dumps({k: spec.get(k) for k in DESIGN_KEYS}, sort_keys=True, default=str)


@dataclass
class ModelIdentity:
    """Which model the window holds: trained weights (opened or trained here) or a new design.

    ``dirty``: trained weights not saved since they changed. The title, the pad header and the
    save prompts read this; the controller changes it.
    """

    trained: bool = False
    name: str = "untitled"  # the file name, else the design's name
    path: str | None = None
    dirty: bool = False
    epochs: int = 0

    def title(self) -> str:
        """The window title; ``[*]`` is where Qt shows the modified mark."""
        what = self.name if self.trained or self.path else f"{self.name} (new design)"
        return f"{what}[*] — netcore studio"

    def describe(self) -> str:
        """One line for the pad header and the status bar."""
        if not self.trained:
            return f"{self.name}: a new design, not trained yet"
        where = self.path and Path(self.path).name or "trained here"
        state = ", not saved" if self.dirty else ""
        return f"{where} ({self.epochs} epochs{state})"


@dataclass
class Kept:
    """A trained model set aside when the design changed; Undo back to its design restores it."""

    network: Network
    history: list[dict[str, Any]]
    settings: TrainSettings
    source: DataSource
    identity: ModelIdentity


class KeptModels:
    """The last few models set aside by design changes, by ``design_key``."""

    LIMIT = 4

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}

    def put(self, key: str, kept: Kept) -> None:
        self._kept.pop(key, None)
        self._kept[key] = kept
        while len(self._kept) > self.LIMIT:
            self._kept.pop(next(iter(self._kept)))

    def take(self, key: str) -> Kept | None:
        return self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)

    def unsaved(self) -> bool:
        return any(k.identity.dirty for k in self._kept.values())


def loss_hint(first_loss: float, loss: float, lr: float) -> str | None:
    """A warning when the loss grows far above where the run started (a learning rate too high)."""
    import math

    if not math.isfinite(loss) or loss > max(10 * first_loss, first_loss + 5):
        return (
            f"the loss is growing ({first_loss:.3g} at the start, {loss:.3g} now): the learning rate "
            f"{lr:g} is probably too high; stop and try {lr / 10:g}"
        )
    return None
