"""Plain-words advice from training health, for a person watching a network learn."""

from __future__ import annotations

from dataclasses import dataclass

VANISHING = 1e-4  # first layer's gradient norm below this fraction of the last layer's
EXPLODING = 1e4  # ... or above this multiple
UPDATES_TOO_BIG = 1e-2  # a step moving a layer's weights by more than 1 % of their size
UPDATES_TOO_SMALL = 1e-6  # every layer moving by less than a millionth per step
MOSTLY_DEAD = 0.5  # a ReLU layer with more than half its units never firing


@dataclass(frozen=True)
class Hint:
    """kind: "vanishing" | "exploding" | "lr_high" | "lr_low" | "dead_relu";
    layer: the layer index it is about (None: the whole network); message: one or two sentences."""

    kind: str
    layer: int | None
    message: str


def health_hints(record: dict | None) -> list[Hint]:
    """Advice for one epoch's health record (``EpochStats.health``); [] when all looks normal."""
    if not record:
        return []
    layers = record.get("layers", [])
    hints: list[Hint] = []
    stepped = [r for r in layers if r.get("grad_norm") is not None]
    if len(stepped) >= 2:
        first, last = stepped[0], stepped[-1]
        if last["grad_norm"] > 0:
            ratio = first["grad_norm"] / last["grad_norm"]
            if ratio < VANISHING:
                what = f"{_times(1 / ratio)} smaller than" if ratio else "zero, unlike"
                hints.append(
                    Hint(
                        "vanishing",
                        first["index"],
                        f"Vanishing gradients: the first layer's gradient is {what} the last layer's, "
                        "so the early layers barely learn. "
                        "Try ReLU activations or BatchNorm.",
                    )
                )
            elif ratio > EXPLODING:
                hints.append(
                    Hint(
                        "exploding",
                        first["index"],
                        f"Exploding gradients: the first layer's gradient is {_times(ratio)} larger "
                        "than the last layer's. Try a lower learning rate, gradient clipping or BatchNorm.",
                    )
                )
    ratios = [r for r in layers if r.get("update_ratio") is not None]
    big = [r for r in ratios if r["update_ratio"] > UPDATES_TOO_BIG]
    if big:
        worst = max(big, key=lambda r: r["update_ratio"])
        hints.append(
            Hint(
                "lr_high",
                worst["index"],
                f"Learning rate too high: each step changes layer {worst['index'] + 1}'s weights by "
                f"{worst['update_ratio']:.1%} of their size (about 0.1 % is typical). Lower the learning rate.",
            )
        )
    elif ratios and all(r["update_ratio"] < UPDATES_TOO_SMALL for r in ratios):
        hints.append(
            Hint(
                "lr_low",
                None,
                "Learning rate may be too low: each step changes the weights by less than a millionth "
                "of their size. Raise the learning rate.",
            )
        )
    for r in layers:
        dead = r.get("dead_fraction")
        if dead is not None and dead > MOSTLY_DEAD:
            hints.append(
                Hint(
                    "dead_relu",
                    r["index"],
                    f"{dead:.0%} of layer {r['index'] + 1}'s ReLU units never fired this epoch: they are "
                    "dead and no longer learn. Lower the learning rate or try leaky_relu.",
                )
            )
    return hints


def _times(factor: float) -> str:
    """1.2e6 -> "about a million times"; 3.4e4 -> "about 30,000 times"."""
    if factor >= 1e6:
        millions = factor / 1e6
        return "about a million times" if millions < 2 else f"about {millions:,.0f} million times"
    return f"about {float(f'{factor:.1g}'):,.0f} times"
