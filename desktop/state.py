"""The window's application state, without Qt: what the user chose and what the session holds.

The controller owns one ``Session`` and changes it; widgets and the window read plain copies
through the controller's signals. Importing this module never loads Qt (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
