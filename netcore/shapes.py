"""Shapes as a person reads them: (8, 14, 14) -> "8x14x14".

The one formatter behind layer descriptions, shape errors, the summary table and the designer.
"""

from __future__ import annotations

from typing import Any


def format_shape(shape: Any) -> str:
    """ "8x14x14" for a tuple or list of dims, "" for None, str() of anything else (a typo in a spec)."""
    if isinstance(shape, (list, tuple)):
        return "x".join(str(d) for d in shape)
    return "" if shape is None else str(shape)
