"""File > Export model and the imports of File > Open: a model goes to ONNX, PyTorch or NumPy and
comes back from .onnx and .safetensors (issue 13, window side; the engine is netcore.interop).

The window's menus call ``export_onnx``/``export_torch``/``export_numpy``; opening a file goes
through ``open_model``. This module asks the questions (file dialogs, a missing package, where
the training data is, which design bare weights belong to); the controller does the work
(``Controller.export_model``, ``Controller.open_model``) off the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication

from desktop import file_dialogs as files
from desktop.menus import EXPORT_MENU
from netcore import interop
from netcore.interop.train_script import SYNTHETIC_DATA, data_config, dataset_name
from netcore.serialization import SavedModel

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
FORMATS = {  # format: (window action, what it is called in messages, the dialog's file filter)
    "onnx": ("act_export_onnx", "ONNX", files.ONNX),
    "torch": ("act_export_torch", "PyTorch", ""),
    "numpy": ("act_export_numpy", "a NumPy script", files.SCRIPTS),
}
TIPS = {
    "onnx": "One .onnx file for ONNX Runtime and Netron: scores and probabilities, a symbolic batch size",
    "torch": "A folder with model.py (an nn.Module), model.safetensors and train.py "
    "(python train.py, or torchrun --nproc_per_node=N train.py)",
    "numpy": "One .py file with the forward pass in NumPy alone, and its weights beside it (.npz)",
}
TORCH_FILES = ("model.py", "model.safetensors", "train.py", SYNTHETIC_DATA)  # what it may replace


def install_hint(what: str, doing: str) -> str | None:
    """One line telling how to install what ``what`` (a format or ".onnx") needs; None if nothing."""
    names, command = interop.missing_packages(what)
    if not names:
        return None
    extra = f'pip install -e "{ROOT}[export]"' if (ROOT / "pyproject.toml").is_file() else interop.PIP_EXTRA
    verb = "is" if len(names) == 1 else "are"
    return f"{doing} needs {' and '.join(names)}, which {verb} not installed: run  {extra}  (or {command})"


class ModelExchange(QObject):
    """The window side of export and import; ``window`` is the MainWindow that owns it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window, self.controller = window, window.controller
        self.exporting = False
        self.last_message: str | None = None
        self._designs: dict[str, str] = {}  # weights file -> the design JSON given for it this session
        c = self.controller
        c.design_needed.connect(self._on_controller_design_needed)
        # Connected after the window's own handler, so this runs after it (Qt keeps the order).
        c.model_opened.connect(self._on_controller_model_opened)
        c.state_changed.connect(self.refresh)
        c.network_changed.connect(self.refresh)
        window.menus[EXPORT_MENU].aboutToShow.connect(self.refresh)  # reset/new design drop the model
        self.refresh()

    # -- export ------------------------------------------------------------------------------
    def export_onnx(self) -> None:
        self.export("onnx")

    def export_torch(self) -> None:
        self.export("torch")

    def export_numpy(self) -> None:
        self.export("numpy")

    def refresh(self, *_) -> None:
        """Enable the export entries when there is a model and nothing runs; the tip says why not."""
        reason = self._why_not()
        for fmt, (attr, _, _) in FORMATS.items():
            action = getattr(self.window, attr)
            action.setEnabled(not reason)
            action.setToolTip(reason or TIPS[fmt])
            action.setStatusTip(reason or TIPS[fmt])

    def _why_not(self) -> str:
        if self.controller.network is None:
            return "Train the design or open a model first (File > Open model)"
        if self.exporting:
            return "An export is running"
        if self.controller.busy:
            return "Available when the current work (training, loading) has finished"
        return ""

    def export(self, fmt: str) -> None:
        """Ask where (and for train.py, where the data is), then export off the UI thread."""
        w, c = self.window, self.controller
        _, name, filters = FORMATS[fmt]
        if c.network is None or c.busy or self.exporting:
            self.refresh()
            return
        if hint := install_hint(fmt, f"Exporting to {name}"):
            w.show_error(hint)
            return
        out = self._ask_target(fmt, filters)
        if out is None:
            return
        data, note = None, ""
        if fmt == "torch":
            if (answer := self._data_source()) is None:
                return
            data, note = answer
        self.exporting = True
        self.refresh()
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        w.statusBar().showMessage(f"exporting {name} to {out}…")
        c.export_model(
            fmt, out, data, lambda written: self._exported(fmt, written, note), self._export_failed
        )

    def _ask_target(self, fmt: str, filters: str) -> str | None:
        w = self.window
        start = w.memory.last_dir()
        stem = (
            Path(w.model_path).stem if w.model_path else str(w.controller.network.spec.get("name") or "model")
        )
        if fmt == "torch":
            folder = files.folder(w, "Folder for model.py, model.safetensors and train.py", start)
            if folder is None:
                return None
            there = [n for n in TORCH_FILES if (Path(folder) / n).exists()]
            if there and not files.confirm(
                w, "Export for PyTorch", f"{folder} already holds {', '.join(there)}. Replace them?"
            ):
                return None
            w.memory.remember_dir(folder)  # its parent: the next export starts beside it
            return folder
        suffix = interop.EXPORT_TARGETS[fmt].suffix
        path = files.save_file(
            w, f"Export {FORMATS[fmt][1]}", str(Path(start) / (stem + suffix)), filters, suffix
        )
        if path:
            w.memory.remember_dir(path)
        return path

    def _data_source(self) -> tuple[str | None, str] | None:
        """(train.py's --data or None for what the model records, a note) or None if cancelled.

        A model trained on a CSV table or an IDX folder records its name only: the path comes
        from the window's data choices when one matches, else from the user.
        """
        c = self.controller
        source = c.session.source
        model = SavedModel(c.network, dataset=dict(source.dataset), preprocessing=dict(source.preprocessing))
        config = data_config(model, dataset_name(model))
        kind, name = config["kind"], config.get("name", "")
        asks = "train.py will ask for --data"
        if kind == "none":
            why = (
                f"it cannot read {name!r} by itself"
                if name
                else "the model does not say what it was trained on"
            )
            return None, f"{asks} ({why})"
        if kind not in ("csv", "idx") or config["path"]:
            return None, ""
        for choice in (c.session.data_choice.name, self.window.training.data_choice().name):
            path = choice.partition(":")[2] if choice.startswith(f"{kind}:") else ""
            if path and (Path(path).stem if kind == "csv" else Path(path).name) == name:
                return choice, ""
        answer = files.data_source(self.window, kind, name, self.window.memory.last_dir())
        if answer is None:
            return None
        return (answer, "") if answer else (None, f"{asks} (the model records its data by name only)")

    def _exported(self, fmt: str, written: list[Path], note: str) -> None:
        self._done()
        if fmt == "onnx":
            path = written[0]
            message = (
                f"exported {path}. Open it in Netron to see the graph: https://netron.app "
                f"(nothing is uploaded), or pip install netron && netron {path.name}"
            )
        elif fmt == "torch":
            folder = written[0].parent
            message = (
                f"exported to {folder}: {', '.join(p.name for p in written)}. Train it: cd {folder} && "
                f"python train.py (or torchrun --nproc_per_node=2 train.py)"
            )
        else:
            message = f"exported {' and '.join(str(p) for p in written)}. Run it: python {written[0].name} inputs.npy"
        self.last_message = f"{message}; {note}" if note else message
        self.window.show_info("Export model", self.last_message)

    def _export_failed(self, message: str) -> None:
        self._done()
        self.window.show_error(message)

    def _done(self) -> None:
        QApplication.restoreOverrideCursor()
        self.exporting = False
        self.refresh()

    # -- import ------------------------------------------------------------------------------
    def open_model(self, path: str) -> None:
        """Open a netcore model, or import an .onnx/.safetensors file (after checking its packages)."""
        suffix = Path(path).suffix.lower()
        if suffix in interop.IMPORT_SUFFIXES:
            if hint := install_hint(suffix, f"Opening a {suffix} file"):
                self.window.show_error(hint)
                return
            self.window.statusBar().showMessage(f"importing {path}…")
        self.controller.open_model(path, arch=self._designs.get(path))

    def _on_controller_design_needed(self, path: str, message: str) -> None:
        w = self.window
        title = f"Which design do the weights in {Path(path).name} belong to? (a spec JSON)"
        spec = files.open_file(w, title, w.memory.last_dir(), files.DESIGNS)
        if spec is None:
            self.last_message = f"not opened: {message}"
            w.statusBar().showMessage(self.last_message, 10000)
            return
        self._designs[path] = spec
        self.controller.open_model(path, arch=spec)

    def _on_controller_model_opened(self, model, settings, path: str) -> None:
        if Path(path).suffix.lower() not in interop.IMPORT_SUFFIXES:
            return
        net = model.network
        # Save must write a netcore model, never over the imported file.
        self.window.model_path = None
        self.last_message = (
            f"imported {path}: {len(net.layers)} layers, {net.num_params:,} parameters. "
            "Save model as… keeps it as a netcore model"
        )
        self.window.statusBar().showMessage(self.last_message, 10000)
