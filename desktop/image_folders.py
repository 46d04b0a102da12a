"""The window side of "Your own pictures" (issue 17): import an image folder, classify any image.

- File > Import image folder…: a folder dialog, a preview (``FolderPreviewDialog``: a few
  pictures per class, names, counts, the size / colour / fit options) computed off the UI
  thread by ``Controller.preview_folder``; "Add dataset" puts "Folder: NAME" in the training
  panel's list with those options and loads it (progress with a count and Cancel); what the
  load skipped or downscaled is said in one box.
- File > Classify image… and image files dropped on the window or the pad: the pad's network
  reads the picture off the UI thread (``Controller.classify_picture``). A picture model shows
  its top classes in ``PictureReadingDialog``; a digit model gets the picture on the pad.
- Picture templates (a C x H x W design without a dataset in its recipe, e.g. color_cnn): the
  current picture folder stays and the template is sized to it; without one the training
  panel says to import an image folder first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from desktop import file_dialogs as files
from desktop.design import recipe_for, template_spec
from desktop.widgets.folder_preview import FolderPreviewDialog
from desktop.widgets.picture_reading import PictureReadingDialog
from desktop.widgets.pictures import PictureDrop
from netcore.data.folder import FolderDataset
from netcore.image_model import is_picture_model

if TYPE_CHECKING:
    from desktop.main_window import MainWindow

PICTURES = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif)"
PAD_HINT = "this model reads pictures: drop one here (or File > Classify image…)"
NEEDS_FOLDER = "import an image folder first (File > Import image folder…): this template reads pictures"


def sized_for(spec: dict, shape: tuple[int, ...], classes: int) -> dict:
    """``spec`` with the input shape of the pictures and one output per class (its last dense layer)."""
    spec = {**spec, "input_shape": list(shape), "layers": [dict(layer) for layer in spec.get("layers", [])]}
    dense = [layer for layer in spec["layers"] if layer.get("type") == "dense"]
    if dense:
        dense[-1]["units"] = classes
    return spec


def is_picture_template(name: str) -> bool:
    """A template that reads C x H x W pictures and names no dataset in its recipe (color_cnn)."""
    spec = template_spec(name) or {}
    shape = spec.get("input_shape") or []
    return recipe_for(name).dataset is None and len(shape) == 3 and shape[0] in (1, 3)


class ImageFolders(QObject):
    """What File > Import image folder, File > Classify image and picture drops do in ``window``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window, self.controller = window, window.controller
        self.preview_dialog: FolderPreviewDialog | None = None
        self.reading_dialog: PictureReadingDialog | None = None
        self.last_message: str | None = None
        self.drop = PictureDrop(self, window, window.digits)  # the pad may float in its own window
        self.drop.dropped.connect(self.classify)
        # after the window's own handler (Qt keeps the order): the pad of a picture model says what to do
        self.controller.network_changed.connect(self._on_controller_network_changed)

    # -- import -------------------------------------------------------------------------------
    def import_folder(self) -> None:
        w = self.window
        folder = files.folder(w, "Image folder (one subfolder of pictures per class)", w.memory.last_dir())
        if folder:
            w.memory.remember_dir(folder)
            self.preview(folder)

    def preview(self, folder: str) -> FolderPreviewDialog:
        """Open the preview of ``folder`` and compute its first grid off the UI thread."""
        if self.preview_dialog is not None:
            self.preview_dialog.close()
        dialog = self.preview_dialog = FolderPreviewDialog(folder, self.window)
        dialog.options_changed.connect(lambda options: self._ask_preview(dialog, options))
        dialog.accepted_options.connect(lambda options: self.add_folder(folder, options))
        dialog.open()
        self._ask_preview(dialog, dialog.requested)
        return dialog

    def _ask_preview(self, dialog: FolderPreviewDialog, options: dict) -> None:
        def failed(message: str) -> None:
            dialog.show_problem(message)

        def shown(preview) -> None:
            if dialog.requested == options:  # not overtaken by a newer choice
                dialog.show_preview(preview)

        self.controller.preview_folder(dialog.folder, options, shown, failed)

    def add_folder(self, folder: str, options: dict) -> None:
        """Put "Folder: NAME" in the dataset list with ``options`` and load it now."""
        w = self.window
        name = f"folder:{folder}"
        w.training.add_custom_dataset(f"Folder: {Path(folder).name}", name, options)
        choice = w.training.data_choice()
        self.controller.load_dataset(choice, lambda data: self._loaded(choice.name, data))

    def _loaded(self, name: str, data) -> None:
        w = self.window
        label = w.training.dataset_label(name)
        c, h, wd = data.x_train.shape[1:]
        text = (
            f"{label}: {len(data.y_train):,} training and {len(data.y_test):,} test pictures, "
            f"{data.num_classes} classes, each {c}x{h}x{wd}"
        )
        if isinstance(data, FolderDataset) and data.from_cache:
            text += " (decoded pixels read from the cache)"
        notes = list(data.notes) if isinstance(data, FolderDataset) else []
        self.last_message = "; ".join([text, *notes])
        w.training.show_message(self.last_message)
        if notes:  # skipped files, downscaling, empty class folders: worth a second look
            w.show_info("Image folder", self.last_message)
        else:
            w.statusBar().showMessage(self.last_message, 10000)

    # -- classify ------------------------------------------------------------------------------
    def classify_dialog(self) -> None:
        w = self.window
        if path := files.open_file(w, "Classify image", w.memory.last_dir(), PICTURES):
            w.memory.remember_dir(path)
            self.classify(path)

    def classify(self, path: str) -> None:
        """Read the picture file ``path`` with the pad's network (off the UI thread)."""
        w = self.window
        w.statusBar().showMessage(f"reading {Path(path).name}…", 5000)
        if self.reading_dialog is not None and self.reading_dialog.isVisible():
            self.reading_dialog.show_waiting(Path(path).name)
        self.controller.classify_picture(path, lambda result: self._read(path, *result), w.show_error)

    def _read(self, path: str, kind: str, reading, how: str, model: str) -> None:
        w, name = self.window, Path(path).name
        if kind == "digit":  # a digit model: the pad reads it, with its preprocessing steps
            w.digits.pad.set_image(reading)
            w.panels["pad"].show()
            w.panels["pad"].raise_()
            self.last_message = f"{name} is on the pad: {model} reads it as a digit"
            w.statusBar().showMessage(self.last_message, 10000)
            return
        if self.reading_dialog is None:
            self.reading_dialog = PictureReadingDialog(w)
            self.reading_dialog.drop.dropped.connect(self.classify)
        self.reading_dialog.show_reading(name, model, reading, how)
        self.reading_dialog.show()
        top, p = reading.top[0]
        self.last_message = f"{name}: {top} ({p:.0%})"
        w.statusBar().showMessage(self.last_message, 10000)

    def _on_controller_network_changed(self, network, _name: str) -> None:
        if network is not None and self.window.digits.network_problem and is_picture_model(network):
            self.window.digits.pad.set_message(PAD_HINT)

    # -- templates -----------------------------------------------------------------------------
    def template_loaded(self, name: str) -> None:
        """After a template was loaded: a picture template keeps the picture folder and fits it."""
        if not is_picture_template(name):
            return
        w, c = self.window, self.controller
        choice = w.training.data_choice()
        if not choice.name.startswith("folder:"):
            w.training.show_message(NEEDS_FOLDER)
            w.statusBar().showMessage(NEEDS_FOLDER, 10000)
            return
        if c.busy:
            return

        def fit(data) -> None:
            spec = sized_for(w.designer.spec(), data.input_shape, data.num_classes)
            w.designer.set_spec(spec)
            shape = "x".join(map(str, data.input_shape))
            w.training.show_message(
                f"{name} sized for {w.training.dataset_label(choice.name)}: input {shape}, "
                f"{data.num_classes} classes"
            )

        c.load_dataset(choice, fit)
