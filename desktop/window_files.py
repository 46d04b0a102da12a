"""The main window's File-menu slots: designs, models and unsaved work, imports and exports, closing.

``FileActions`` is mixed into ``MainWindow``, which provides the views (designer, training, plot),
the controller, ``memory`` (window_settings) and ``exchange`` (model_exchange). Unsaved trained
weights are never lost silently: New, Open, a template and Quit go through
``when_saved_or_discarded``.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtGui import QCloseEvent

from desktop import file_dialogs as files
from desktop import messages
from desktop.design import BLANK_SPEC, recipe_for
from desktop.menus import refresh_recent
from netcore.spec import SpecError, save_spec
from netcore.train import TrainSettings


class FileActions:
    """File > New / Open / Save / Import / Export, and closing, for ``MainWindow``."""

    # -- designs -------------------------------------------------------------------------------
    def new_design(self) -> None:
        """A blank design: an input and one output layer (after asking about unsaved weights)."""

        def go() -> None:
            self.controller.forget(BLANK_SPEC["name"])
            self.designer.set_spec(BLANK_SPEC)

        self.when_saved_or_discarded("start a new design", go)

    def _load_template(self, name: str) -> None:
        """Load a template and the training recipe its description quotes (asking about unsaved weights)."""

        def go() -> None:
            self.controller.forget(name)
            self.designer.load_template(name)
            self.training.apply_recipe(recipe_for(name))
            self.pictures.template_loaded(name)  # a picture template keeps (and fits) the picture folder

        self.when_saved_or_discarded(f"load the {name} template", go)

    # -- unsaved work ------------------------------------------------------------------------------
    def when_saved_or_discarded(self, doing: str, then) -> None:
        """Run ``then`` now, or after the user saved or discarded unsaved trained weights."""
        if not self.controller.has_unsaved():
            then()
            return
        here = self.controller.identity.dirty and self.controller.network is not None
        text = f"The trained model has not been saved. Save it before you {doing}?"
        if not here:
            text = (
                f"A trained model was set aside when the design changed and has not been saved "
                f"(Undo brings it back to save it). {doing.capitalize()} anyway?"
            )

        def answered(answer: str) -> None:
            if answer == "discard":
                then()
            elif answer == "save":
                self._save_then(then)

        messages.ask_unsaved(self, text, answered, can_save=here)

    def _save_then(self, then) -> None:
        path = self.model_path or files.save_file(
            self, "Save model", self.memory.last_dir(), files.MODELS, ".npz"
        )
        if path:
            self._after_save = then
            self.save_model(path)

    def _on_controller_model_saved(self, path: str) -> None:
        self._remember_model(path, f"saved {path}")
        self.setWindowModified(self.controller.has_unsaved())
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    def open_design_dialog(self) -> None:
        if path := files.open_file(self, "Open design", self.memory.last_dir(), files.DESIGNS):
            self.open_design(path)

    def open_design(self, path: str) -> None:
        try:
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.show_error(f"{path} is not a readable JSON design: {exc}")
            return
        self.designer.set_spec(spec)
        self.memory.remember_dir(path)

    def save_design_dialog(self) -> None:
        path = files.save_file(self, "Save design", self.memory.last_dir(), files.DESIGNS, ".json")
        if not path:
            return
        try:
            save_spec(self.designer.spec(), path)
        except (SpecError, OSError) as exc:
            self.show_error(str(exc))
        else:
            self.statusBar().showMessage(f"saved design {path}", 5000)

    # -- models --------------------------------------------------------------------------------
    def open_model_dialog(self) -> None:
        if path := files.open_file(self, "Open model", self.memory.last_dir(), files.OPEN_MODELS):
            self.open_model(path)

    def open_model(self, path: str) -> None:
        # .npz, or an import (.onnx, .safetensors), once unsaved work is saved or discarded
        self.when_saved_or_discarded(f"open {Path(path).name}", lambda: self.exchange.open_model(path))

    def _on_controller_model_opened(self, model, settings: TrainSettings | None, path: str) -> None:
        if settings is not None:
            self.training.set_settings(settings)
        if model.dataset.get("name"):
            self.training.set_data_choice(model.dataset["name"], model.dataset)
        self._remember_model(path, f"opened {path}")

    def save_model_current(self) -> None:
        self.save_model(self.model_path) if self.model_path else self.save_model_as()

    def save_model_as(self) -> None:
        if path := files.save_file(self, "Save model", self.memory.last_dir(), files.MODELS, ".npz"):
            self.save_model(path)

    def save_model(self, path: str) -> None:
        self.controller.save_model(path)

    def _remember_model(self, path: str, message: str) -> None:
        self.model_path = path
        self.memory.add_recent(path)
        self._refresh_recent()
        self.statusBar().showMessage(message, 5000)

    def _refresh_recent(self) -> None:
        refresh_recent(self.recent_menu, self.memory.recent(), self.open_model)

    # -- datasets and exports --------------------------------------------------------------------
    def import_idx(self) -> None:
        if folder := files.folder(self, "Folder with the four IDX files", self.memory.last_dir()):
            self.training.add_custom_dataset(f"IDX: {Path(folder).name}", f"idx:{folder}")

    def import_csv(self) -> None:
        if path := files.open_file(self, "Import CSV", self.memory.last_dir(), "CSV tables (*.csv)"):
            self.training.add_custom_dataset(f"CSV: {Path(path).name}", f"csv:{path}")
            self._check_dataset()

    def _check_dataset(self) -> None:
        """Load an imported dataset at once: one that cannot be read leaves the list with a message."""
        choice = self.training.data_choice()
        self.controller.load_dataset(
            choice,
            lambda data: self.training.show_message(
                f"{self.training.dataset_label(choice.name)}: {len(data.y_train):,} training samples"
            ),
        )

    def export_csv(self) -> None:
        if path := files.save_file(self, "Export curves", self.memory.last_dir(), "CSV (*.csv)"):
            self.plot.export_csv(path)

    def export_png(self) -> None:
        if path := files.save_file(self, "Export plot", self.memory.last_dir(), "PNG image (*.png)"):
            self.plot.export_png(path)

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not self._may_close and self.controller.has_unsaved():
            self._in_close = True
            self.when_saved_or_discarded("quit", self._close_now)  # may answer at once (Discard)
            self._in_close = False
            if not self._may_close:
                event.ignore()
                return
        self.memory.save_layout(self)
        self.memory.save_choices(self.designer.spec(), self.training.data_choice().name)
        self.controller.shutdown()
        super().closeEvent(event)

    def close_discarding(self) -> None:
        """Close without asking about unsaved weights (scripts, tests)."""
        self._may_close = True
        self.close()

    def _close_now(self) -> None:
        self._may_close = True
        if not self._in_close:  # answered later (the box, a save): close now
            self.close()
