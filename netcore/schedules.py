"""Learning-rate schedules: a multiplier of the base rate at a point in training.

``factor(epoch)`` takes a fractional epoch (2.5 = halfway through the third),
so the rate can change smoothly between batches. A schedule is JSON-able:
``{"name": "cosine", "epochs": 10, "min_factor": 0.0, "warmup": 1}``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

SCHEDULE_NAMES = ("constant", "step", "exponential", "cosine")  # what a spec, the CLI and the window offer


@dataclass(frozen=True)
class Schedule:
    """name: constant | step | exponential | cosine; warmup: epochs of linear ramp from 0."""

    name: str = "constant"
    step_epochs: float = 10.0  # step: multiply by gamma every step_epochs
    gamma: float = 0.5  # step and exponential (per epoch)
    epochs: float = 10.0  # cosine: length of the decay
    min_factor: float = 0.0  # cosine: where it ends
    warmup: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULE_NAMES:
            raise ValueError(f"unknown schedule {self.name!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
        if self.gamma <= 0 or self.step_epochs <= 0 or self.epochs <= 0 or self.warmup < 0:
            raise ValueError("schedule gamma, step_epochs and epochs must be > 0, warmup >= 0")

    def factor(self, epoch: float) -> float:
        ramp = min(1.0, (epoch + 1e-9) / self.warmup) if self.warmup > 0 else 1.0
        if self.name == "step":
            base = self.gamma ** math.floor(epoch / self.step_epochs)
        elif self.name == "exponential":
            base = self.gamma**epoch
        elif self.name == "cosine":
            progress = min(1.0, epoch / self.epochs)
            base = self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
        else:
            base = 1.0
        return ramp * base

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | str | None) -> Schedule:
        if data is None:
            return cls()
        if isinstance(data, str):
            return cls(name=data)
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown schedule setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)
