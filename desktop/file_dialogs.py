"""The file dialogs the window asks: each returns a path (with its suffix) or None if cancelled."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

MODELS = "netcore models (*.npz)"
OPEN_MODELS = "Models (*.npz *.onnx *.safetensors)"  # netcore's own, and what File > Open imports
DESIGNS = "Network designs (*.json)"
ONNX = "ONNX models (*.onnx)"
SCRIPTS = "Python scripts (*.py)"


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


def confirm(parent: QWidget, title: str, question: str) -> bool:
    """Yes or no (No is the default)."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, question, buttons, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def data_source(parent: QWidget, kind: str, name: str, start: str) -> str | None:
    """Where the CSV table or IDX folder ``name`` a model was trained on is, for its train.py.

    Returns "csv:FILE" or "idx:FOLDER"; "" to go on without (train.py then asks for --data);
    None to cancel the export.
    """
    what = "CSV table" if kind == "csv" else "IDX folder"
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Export for PyTorch",
        f"The model was trained on the {what} '{name}', but its file records only the name. "
        f"Locate it so that train.py reads it, or export without (train.py then asks for --data).",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    locate = box.addButton(f"Locate {what}…", QMessageBox.ButtonRole.AcceptRole)
    without = box.addButton("Export without", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(locate)
    box.exec()
    if box.clickedButton() is without:
        return ""
    if box.clickedButton() is not locate:
        return None
    if kind == "csv":
        path = open_file(parent, f"The CSV table '{name}'", start, "CSV tables (*.csv)")
    else:
        path = folder(parent, f"The IDX folder '{name}' (four IDX files)", start)
    return f"{kind}:{path}" if path else None
