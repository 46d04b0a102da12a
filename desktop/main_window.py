"""The main window composes: it builds the views and menus and connects them to the controller.

Views: desktop/widgets/; work: controller.py; menus: menus.py; dialogs: file_dialogs.py and
messages.py; what is remembered: window_settings.py. A slot here turns a request into one
controller call, or a controller signal into view updates.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow

from desktop import file_dialogs as files
from desktop import messages
from desktop.controller import Controller
from desktop.design import recipe_for
from desktop.inspection import Inspection
from desktop.menus import build_menus, refresh_recent, update_actions
from desktop.widgets.designer import DesignerPanel
from desktop.widgets.digit_panel import DigitPanel
from desktop.widgets.frame import LoadingDialog, splitter
from desktop.widgets.inside.area import InsideArea
from desktop.widgets.plot import LivePlot
from desktop.widgets.training import TrainingPanel
from desktop.window_settings import WindowSettings
from netcore.spec import SpecError, save_spec
from netcore.train import TrainResult, TrainSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "resources" / "models" / "digits.npz"
DEFAULT_SIZES = {"window/splitter": [480, 380], "window/top": [880, 560], "window/bottom": [860, 580]}


class MainWindow(QMainWindow):
    def __init__(
        self,
        controller: Controller | None = None,
        settings: QSettings | None = None,
        load_default_model: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle("netcore studio")
        self.controller = controller or Controller()
        self.memory = WindowSettings(settings or QSettings("netcore", "netcore studio"))
        self.model_path = self.last_error = self.last_info = None  # str | None each
        self._download_dialog: LoadingDialog | None = None

        self.designer, self.plot = DesignerPanel(), LivePlot()
        self.training, self.digits = TrainingPanel(), DigitPanel()
        # Top: the design and the pad; bottom: the curves and the settings that drive them.
        top = splitter(Qt.Orientation.Horizontal, self.designer, self.digits)
        bottom = splitter(Qt.Orientation.Horizontal, self.plot, self.training)
        self.splitter = splitter(Qt.Orientation.Vertical, top, bottom, stretch=(1, 1))
        self._splitters = {"window/splitter": self.splitter, "window/top": top, "window/bottom": bottom}
        self.setCentralWidget(self.splitter)
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)

        self._build_inside()
        build_menus(self, self.designer.templates(), self._load_template)
        self._refresh_recent()
        self._connect()
        self._restore()
        if load_default_model and DEFAULT_MODEL.exists():
            self.controller.open_reader(str(DEFAULT_MODEL), name="default digits model (shipped)")
        self._update_enabled()

    def _connect(self) -> None:
        c, t, d = self.controller, self.training, self.digits
        t.train_requested.connect(self.train)
        t.step_requested.connect(self.step)
        t.pause_toggled.connect(self.toggle_pause)
        t.stop_requested.connect(c.stop)
        t.live_changed.connect(lambda change: c.change_live(**change))
        self.designer.validity_changed.connect(self._on_designer_validity_changed)
        self.designer.spec_changed.connect(c.adopt_design)
        d.status_message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        d.test_digit_requested.connect(
            lambda wrong: c.pick_test_digit(wrong, d.show_test_digit, d.show_test_digit_failed)
        )
        c.state_changed.connect(self._on_controller_state_changed)
        c.training_started.connect(self._on_controller_training_started)
        c.batch_finished.connect(self.plot.add_batch)
        c.batch_finished.connect(t.show_batch)
        c.epoch_finished.connect(self.plot.add_epoch)
        c.epoch_finished.connect(t.show_epoch)
        c.training_finished.connect(self._on_controller_training_finished)
        c.design_replaced.connect(lambda spec: self.designer.set_spec(spec, undoable=False))
        c.network_changed.connect(self._on_controller_network_changed)
        c.model_opened.connect(self._on_controller_model_opened)
        c.model_saved.connect(lambda path: self._remember_model(path, f"saved {path}"))
        c.task_progressed.connect(self._on_controller_task_progressed)
        c.error.connect(self.show_error)

    # -- Inside (issue 12): views of what the network computes; all of it in this block ----------
    def _build_inside(self) -> None:
        """The Inside docks (desktop/widgets/inside/) fed by ``Inspection`` (desktop/inspection.py)."""
        self.inside = InsideArea()
        self.inside.dock_into(self)
        self.inspection = Inspection(self.controller, self.inside, self.designer, self.digits, self)
        for kind, dock in self.inside.docks.items():
            dock.visibilityChanged.connect(lambda shown, k=kind: self.inspection.set_visible(k, shown))
            # a tabbed dock pulled out to float is seen, though Qt may not say so again
            dock.topLevelChanged.connect(
                lambda _f, k=kind, d=dock: self.inspection.set_visible(k, d.isVisible())
            )

    def check_gradients(self) -> None:
        """Train > Check gradients: show the table and run the check off the UI thread."""
        dock = self.inside.docks["gradcheck"]
        dock.show()
        if not dock.isFloating():
            dock.raise_()  # its tab in front
        self.inspection.check_gradients()

    # -- training ----------------------------------------------------------------------------
    def _settings(self) -> TrainSettings | None:
        try:
            return self.training.settings()
        except ValueError as exc:
            self.show_error(str(exc))
            return None

    def train(self, epochs: int | None = None) -> None:
        if not self.designer.is_valid() or self.controller.busy or (settings := self._settings()) is None:
            return
        self.controller.start_training(self.designer.spec(), settings, self.training.data_choice(), epochs)

    def step(self) -> None:
        self.train(epochs=1)

    def toggle_pause(self) -> None:
        (self.controller.resume if self.controller.state == "paused" else self.controller.pause)()

    def fine_tune(self) -> None:
        if not self.controller.busy and (settings := self._settings()) is not None:
            self.controller.fine_tune(settings)

    def evaluate_handwriting(self) -> None:
        name = self.controller.network_name
        self.controller.evaluate_handwriting(
            lambda count, figures: self.show_info(
                "My handwriting", self.training.show_mine(name, count, figures)
            )
        )

    def reset(self) -> None:
        self.controller.reset()
        self.plot.new_run()
        self.training.show_message("weights reset: the next Train starts from new random weights")

    def _on_controller_training_started(self, planned: int) -> None:
        first = len(self.controller.history)
        if first == 0:
            self.plot.new_run()
        self.training.start_run(planned, first)
        self.plot.start_run(first, planned)
        self.designer.set_editable(False)

    def _on_controller_training_finished(self, result: TrainResult) -> None:
        self.designer.set_editable(True)
        self.training.show_result(result)
        if result.status in ("diverged", "failed"):
            self.show_error(result.message)
        elif self.controller.network is not None:
            self.controller.evaluate_test(self._show_test_figures)

    def _show_test_figures(self, figures: dict) -> None:
        self.statusBar().showMessage(self.training.show_test_figures(figures), 10000)

    def _on_controller_state_changed(self, state: str) -> None:
        self._update_enabled()
        if state == "loading":
            self._download_dialog = LoadingDialog(self)
            self._download_dialog.canceled.connect(self.controller.stop)
        elif self._download_dialog is not None:
            self._download_dialog.close()
            self._download_dialog = None

    def _on_controller_task_progressed(self, done: int, total: int, label: str) -> None:
        self.training.show_task(done, total, label)
        if self._download_dialog is not None:
            self._download_dialog.show_progress(done, total, label)

    def _on_controller_network_changed(self, network, name: str) -> None:
        self.digits.set_network(network, name)
        self.model_label.setText(f"model: {name}")
        self.designer.set_weights(network.named_params())

    def _on_designer_validity_changed(self, valid: bool, message: str) -> None:
        self._update_enabled()
        self.training.show_design_validity(valid, message, idle=self.controller.state == "idle")

    def _update_enabled(self) -> None:
        state, valid = self.controller.state, self.designer.is_valid()
        self.training.set_state(state, can_train=valid)
        update_actions(self, state, valid)

    # -- designs -------------------------------------------------------------------------------
    def new_design(self) -> None:
        self._load_template("xor")
        self.model_path = None

    def _load_template(self, name: str) -> None:
        """Load a template and the training recipe its description quotes."""
        self.designer.load_template(name)
        self.training.apply_recipe(recipe_for(name))

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
        if path := files.open_file(self, "Open model", self.memory.last_dir(), files.MODELS):
            self.open_model(path)

    def open_model(self, path: str) -> None:
        self.controller.open_model(path)

    def _on_controller_model_opened(self, model, settings: TrainSettings | None, path: str) -> None:
        self.plot.set_history(model.history)
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

    def export_csv(self) -> None:
        if path := files.save_file(self, "Export curves", self.memory.last_dir(), "CSV (*.csv)"):
            self.plot.export_csv(path)

    def export_png(self) -> None:
        if path := files.save_file(self, "Export plot", self.memory.last_dir(), "PNG image (*.png)"):
            self.plot.export_png(path)

    # -- messages --------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """A non-blocking dialog with the engine's one-line message (also in the status bar)."""
        self.last_error = message
        messages.open_box(self, message)
        self.statusBar().showMessage(message, 10000)

    def show_info(self, title: str, message: str) -> None:
        """A non-blocking dialog with a result worth a second look (also in the status bar)."""
        self.last_info = message
        messages.open_box(self, message, title, error=False)
        self.statusBar().showMessage(message, 10000)

    def about(self) -> None:
        messages.about(self)

    # -- persistence -------------------------------------------------------------------------------
    def _restore(self) -> None:
        self.memory.restore_layout(self, self._splitters, DEFAULT_SIZES)
        spec = self.memory.design()
        if spec:
            self.designer.set_spec(spec, undoable=False)
        else:
            self._load_template("xor")
        if data_name := self.memory.data_name():
            self.training.set_data_choice(data_name)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self.memory.save_layout(self, self._splitters)
        self.memory.save_choices(self.designer.spec(), self.training.data_choice().name)
        self.controller.shutdown()
        super().closeEvent(event)
