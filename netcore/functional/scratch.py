"""Work arrays that layers reuse from call to call."""

from __future__ import annotations

import math

import numpy as np


class Scratch:
    """Named work arrays reused from call to call, so a training step allocates (and
    page-faults) no new large arrays. Contents are whatever the last user left."""

    def __init__(self) -> None:
        self._store: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A contiguous array of ``shape``, carved from storage kept under ``name``."""
        size = math.prod(shape)
        store = self._store.get(name)
        if store is None or store.size < size or store.dtype != dtype:
            store = self._store[name] = np.empty(size, dtype=dtype)
        return store[:size].reshape(shape)
