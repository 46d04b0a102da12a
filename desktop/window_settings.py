"""What the window remembers between sessions (QSettings): geometry, panels, design, files, hints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

MAX_RECENT = 8


class WindowSettings:
    """A thin, typed view of one QSettings store; bad stored values read as missing."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- layout ----------------------------------------------------------------------------
    LAYOUT_VERSION = 2  # 2: panels in docks (1 was splitters); a state of another version is ignored

    def restore_layout(self, window: QMainWindow) -> bool:
        """Geometry and the panels' places; False on the first start (the window sizes itself
        to the screen: all of a laptop's, 85 % of a larger one, centred)."""
        geometry = self._bytes("window/geometry")
        if geometry is not None:
            window.restoreGeometry(geometry)
        else:
            screen = window.screen().availableGeometry()
            w, h = screen.width(), screen.height()
            size = (w, h) if w <= 1440 or h <= 900 else (max(1440, w * 17 // 20), max(900, h * 17 // 20))
            window.resize(*size)
            window.move(screen.x() + (w - size[0]) // 2, screen.y() + (h - size[1]) // 2)
        state = self._bytes("window/panels")
        return state is not None and window.restoreState(state, self.LAYOUT_VERSION)

    def save_layout(self, window: QMainWindow) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/panels", window.saveState(self.LAYOUT_VERSION))

    # -- hints -------------------------------------------------------------------------------
    def was_hint_seen(self) -> bool:
        return self.store.value("hints/first_steps") == "seen"

    def hint_seen(self) -> None:
        self.store.setValue("hints/first_steps", "seen")

    # -- measured here ---------------------------------------------------------------------
    def template_seconds(self, name: str) -> float | None:
        """Seconds per epoch a template took when last trained on this machine (None: never)."""
        try:
            value = float(self.store.value(f"templates/{name}/seconds_per_epoch"))
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    def remember_template_seconds(self, name: str, seconds: float) -> None:
        self.store.setValue(f"templates/{name}/seconds_per_epoch", float(seconds))

    # -- design and data -------------------------------------------------------------------
    def design(self) -> dict[str, Any] | None:
        text = self.store.value("design/spec")
        try:
            spec = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            return None
        return spec if isinstance(spec, dict) and spec else None

    def data_name(self) -> str | None:
        value = self.store.value("data/name")
        return value if isinstance(value, str) else None

    def save_choices(self, spec: dict[str, Any], data_name: str) -> None:
        self.store.setValue("design/spec", json.dumps(spec))
        self.store.setValue("data/name", data_name)

    # -- files -----------------------------------------------------------------------------
    def last_dir(self) -> str:
        value = self.store.value("files/last_dir")
        return value if isinstance(value, str) else str(Path.home())

    def remember_dir(self, path: str) -> None:
        self.store.setValue("files/last_dir", str(Path(path).parent))

    def recent(self) -> list[str]:
        value = self.store.value("files/recent")
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def add_recent(self, path: str) -> list[str]:
        """Put ``path`` first in the recent files (and remember its folder); returns the list."""
        recent = [str(path)] + [p for p in self.recent() if p != str(path)]
        self.store.setValue("files/recent", recent[:MAX_RECENT])
        self.remember_dir(path)
        return recent[:MAX_RECENT]
