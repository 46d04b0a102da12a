"""The file dialogs the window asks: each returns a path (with its suffix) or None if cancelled."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

MODELS = "netcore models (*.npz)"
DESIGNS = "Network designs (*.json)"


def _suffixed(path: str, suffix: str) -> str:
    return path if path.endswith(suffix) else path + suffix


def open_file(parent: QWidget, title: str, start: str, filters: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, start, filters)
    return path or None


def save_file(parent: QWidget, title: str, start: str, filters: str, suffix: str | None = None) -> str | None:
    """A path to write; ``suffix`` (".npz") is added when the user typed none."""
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filters)
    if not path:
        return None
    return _suffixed(path, suffix) if suffix else path


def folder(parent: QWidget, title: str, start: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title, start) or None
