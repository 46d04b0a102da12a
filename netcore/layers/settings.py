"""Checking layer settings as a spec gives them: errors name the setting and the value received."""

from __future__ import annotations

from typing import Any


def pair(value: Any, what: str) -> tuple[int, int]:
    """An int or a [h, w] pair of positive ints as (h, w); ValueError naming ``what``."""
    items = [value, value] if isinstance(value, int) else value
    if (
        not isinstance(items, (list, tuple))
        or len(items) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items)
    ):
        raise ValueError(f"{what} must be a positive integer or a pair [h, w] of them, got {value!r}")
    return int(items[0]), int(items[1])
