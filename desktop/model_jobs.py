"""Model files: save, export (ONNX, PyTorch, NumPy), open or import, and the pad's shipped reader.

``ModelJobs`` is mixed into ``Controller`` (desktop/controller.py), which provides the session,
``kept``, ``busy``, ``run_task``, ``_trainer``, ``_set_identity``, ``_replace_design``,
``_publish`` and the signals (``error``, ``model_saved``, ``model_opened``, ``design_needed``,
``history_replaced``). Files are read and written off the UI thread (netcore.serialization,
netcore.interop); only a model that opened whole replaces the session. The window side (the
dialogs and the questions an export or import asks) is desktop/model_exchange.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from desktop.state import copy_network
from netcore import interop
from netcore.experiment import DataSource, parse_history, parse_settings, saved_model
from netcore.serialization import ModelFileError, SavedModel, load_model, save_model
from netcore.train import TrainSettings


class ModelJobs:
    """File > Save / Export / Open model and the shipped reader, for ``Controller``."""

    def save_model(self, path: str) -> None:
        if self.session.network is None or self.busy:
            again = " (Undo the design change to get the trained one back)" if self.kept.unsaved() else ""
            self.error.emit(f"there is no trained network to save yet: press Train first{again}")
            return
        session = self.session
        model = saved_model(session, session.source, extra=session.model_extra())
        network = session.network

        def saved(_) -> None:
            if self.session.network is network:
                self._set_identity(path=str(path), name=Path(path).name, dirty=False)
            self.model_saved.emit(str(path))

        self.run_task(lambda progress, should_stop: save_model(model, path), saved)

    def export_model(
        self,
        format: str,
        path: str,
        data: str | None,
        then: Callable[[list[Path]], None],
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Write the session's model as "onnx", "torch" or "numpy" (netcore.interop) off the UI thread.

        A copy is exported, so training may start meanwhile; ``then`` gets the files written,
        ``failed`` (default: the error signal) one line. ``data`` is train.py's "csv:FILE" or "idx:DIR".
        """
        failed = failed or self.error.emit
        session = self.session
        if session.network is None:
            failed("there is no model to export yet: train the design or open a model")
            return
        if self.busy:
            failed("wait until the current work has finished, then export")
            return
        model = saved_model(session, session.source, extra=session.model_extra())
        model = replace(model, network=copy_network(session.network))
        label = interop.EXPORT_TARGETS[format].label.split(" (")[0]

        def work(progress, should_stop):
            progress(0, 0, f"exporting {label}…")
            written = interop.export_model(model, format, path, data=data)
            progress(1, 1, f"exported {label}")
            return written

        self.run_task(work, then, failed)

    def open_model(self, path: str, name: str | None = None, arch: str | None = None) -> None:
        """Load and check a model off the UI thread; only a model that is whole replaces the session.

        .onnx and .safetensors files are imported (netcore.interop); weights that do not say
        which design they belong to emit ``design_needed``: open again with ``arch`` (a spec JSON).
        """
        if self.busy:
            return

        def work(progress, should_stop):
            try:
                if Path(path).suffix.lower() in interop.IMPORT_SUFFIXES:
                    progress(0, 0, f"importing {Path(path).name}…")
                    model = interop.import_model(path, arch=arch)
                    progress(1, 1, f"imported {Path(path).name}")
                else:
                    model = load_model(path)
            except interop.NeedsDesign as exc:
                return exc, None
            except (ModelFileError, interop.InteropError):
                raise  # its message names the file already
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise ValueError(f"cannot open {Path(path).name}: {exc}") from None
            try:
                parse_history(model.history)
                settings = parse_settings(model.settings)
                if not isinstance(model.dataset, dict) or not isinstance(model.dataset.get("name", ""), str):
                    raise ValueError("dataset must be a record with a name")
            except ValueError as exc:
                raise ValueError(f"cannot open {Path(path).name}: {exc}") from None
            return model, settings

        def opened(result: tuple[SavedModel | interop.NeedsDesign, TrainSettings | None]) -> None:
            model, settings = result
            if isinstance(model, interop.NeedsDesign):
                self.design_needed.emit(str(path), str(model))
                return
            self._replace_design(model.network.spec)
            self.session.start(model.network, model.history)
            self.session.source = DataSource.of_model(model)
            if settings is not None:
                self.session.settings = settings
            self._trainer = None
            self.kept.clear()
            self._set_identity(
                trained=True, dirty=False, path=str(path), name=Path(path).name, epochs=len(model.history)
            )
            self._publish(model.network, name or Path(path).name)
            self.model_opened.emit(model, settings, str(path))
            self.history_replaced.emit(list(model.history))

        self.run_task(work, opened)

    def open_reader(self, path: str, name: str) -> None:
        """Load a model only for the drawing pad to read with (the shipped default model)."""
        self.run_task(
            lambda progress, should_stop: load_model(path), lambda model: self._publish(model.network, name)
        )
