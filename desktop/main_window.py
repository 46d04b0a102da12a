"""The main window composes: it builds the views and menus and connects them to the controller.

Views: desktop/widgets/; work: controller.py; menus: menus.py; dialogs: file_dialogs.py and
messages.py; what is remembered: window_settings.py. A slot here turns a request into one
controller call, or a controller signal into view updates.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from desktop import file_dialogs as files
from desktop import help as pages
from desktop import messages, template_times
from desktop.controller import Controller
from desktop.design import BLANK_SPEC, recipe_for, template_entry
from desktop.image_folders import ImageFolders
from desktop.inspection import Inspection
from desktop.menus import ACTIONS, build_menus, refresh_recent, update_actions
from desktop.model_exchange import ModelExchange
from desktop.panels import Area, Panels
from desktop.state import ModelIdentity, design_key, loss_hint
from desktop.widgets.designer import DesignerPanel
from desktop.widgets.digit_panel import DigitPanel
from desktop.widgets.frame import Banner, LoadingDialog, scrolled
from desktop.widgets.inside.area import InsideArea
from desktop.widgets.plot import LivePlot
from desktop.widgets.training import TrainingPanel
from desktop.window_settings import WindowSettings
from netcore.resources import default_model_path
from netcore.spec import SpecError, save_spec
from netcore.train import BatchStats, EpochStats, TrainResult, TrainSettings

DEFAULT_MODEL = default_model_path()


class MainWindow(QMainWindow):
    def __init__(
        self,
        controller: Controller | None = None,
        settings: QSettings | None = None,
        load_default_model: bool = True,
    ) -> None:
        super().__init__()
        self.controller = controller or Controller()
        self.memory = WindowSettings(settings or QSettings("netcore", "netcore studio"))
        self.model_path = self.last_error = self.last_info = None  # str | None each
        self._download_dialog: LoadingDialog | None = None
        self._after_save = None  # what to do once a save asked for by a prompt succeeded
        self._may_close = self._in_close = False
        self._first_loss: float | None = None  # of the current run, for the too-high-rate hint
        self._warned = False

        self.designer, self.plot = DesignerPanel(), LivePlot()
        self.training, self.digits = TrainingPanel(), DigitPanel()
        self.panels = Panels(self)
        # The design in the middle; the pad on the right; the curves and the settings below.
        self.hint = Banner(pages.FIRST_STEPS)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        centre_layout.addWidget(self.hint)
        title = QLabel("Network design")  # the docks' titles name the other panels
        title.setContentsMargins(4, 2, 4, 0)
        centre_layout.addWidget(title)
        centre_layout.addWidget(scrolled(self.designer), 1)
        self.setCentralWidget(centre)
        self.add_panel("pad", "Drawing pad", self.digits, Area.RightDockWidgetArea)
        self.add_panel("plot", "Live plot", self.plot, Area.BottomDockWidgetArea, scroll=False)
        self.add_panel("training", "Training", self.training, Area.BottomDockWidgetArea, beside="plot")
        # --- inside: the "Inside" views (docks of their own, tabbed; View menu, Alt+1..5) ---
        self._build_inside()
        # --- end inside ---
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)

        templates = [template_entry(name) for name in self.designer.templates()]
        build_menus(self, templates, self._load_template)
        self.panels.remember_default()
        template_times.refresh_tips(self.templates_menu, self.memory)
        self._refresh_recent()
        self._connect()
        self.exchange = ModelExchange(self)  # File > Export model, imports through File > Open
        self.pictures = ImageFolders(self)  # File > Import image folder, Classify image, picture drops
        self._restore()
        if load_default_model and DEFAULT_MODEL.exists():
            self.controller.open_reader(str(DEFAULT_MODEL), name="default digits model (shipped)")
        self._update_enabled()
        self._on_controller_identity_changed(self.controller.identity)

    # -- panels ----------------------------------------------------------------------------------
    def add_panel(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Area,
        scroll: bool = True,
        beside: str | None = None,
    ) -> QDockWidget:
        """Put ``widget`` in a titled panel the user can move, float, hide and resize (see
        desktop/panels.py); the View menu lists every panel."""
        return self.panels.add(name, title, widget, area, scroll, beside)

    def docks(self) -> list[QDockWidget]:
        return self.panels.docks()

    def reset_layout(self) -> None:
        self.panels.reset()

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
        c.epochs_finished.connect(self.plot.add_epochs)
        c.epoch_finished.connect(t.show_epoch)
        c.training_finished.connect(self._on_controller_training_finished)
        c.design_replaced.connect(lambda spec: self.designer.set_spec(spec, undoable=False))
        c.network_changed.connect(self._on_controller_network_changed)
        c.model_opened.connect(self._on_controller_model_opened)
        c.model_saved.connect(self._on_controller_model_saved)
        c.identity_changed.connect(self._on_controller_identity_changed)
        c.history_replaced.connect(self._on_controller_history_replaced)
        c.dataset_failed.connect(t.remove_custom_dataset)
        c.batch_finished.connect(self._watch_loss)
        c.epoch_finished.connect(self._watch_loss)
        self.hint.closed.connect(self.memory.hint_seen)
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

    def _watch_loss(self, stats: BatchStats | EpochStats) -> None:
        """Say so, once per run, when the loss climbs far above where it started."""
        if self._first_loss is None:
            self._first_loss = stats.loss
        elif not self._warned and (hint := loss_hint(self._first_loss, stats.loss, stats.lr)):
            self._warned = True
            self.training.show_warning(hint)
            self.statusBar().showMessage(hint, 15000)

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
        def go() -> None:
            self.controller.reset()
            self.training.show_message("weights reset: the next Train starts from new random weights")

        self.when_saved_or_discarded("reset the weights", go)

    def _on_controller_training_started(self, planned: int) -> None:
        first = len(self.controller.history)
        if first == 0:
            self.plot.new_run()
        self._first_loss, self._warned = None, False
        choice = self.controller.data_choice
        self.plot.set_run_label(
            f"{self.designer.spec().get('name') or 'untitled'} on {self.training.dataset_label(choice.name)}"
        )
        self.hint.dismiss()
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
        if result.status in ("finished", "cancelled", "early_stopped"):
            template_times.measure(self.designer.spec(), self.controller.history, self.memory)
            template_times.refresh_tips(self.templates_menu, self.memory)

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
        self.model_label.setText(f"pad reads with: {name}")
        same = network is not None and design_key(network.spec) == design_key(self.designer.spec())
        self.designer.set_weights(network.named_params() if same else {})

    def _on_controller_identity_changed(self, identity: ModelIdentity) -> None:
        self.setWindowTitle(identity.title())
        self.setWindowModified(self.controller.has_unsaved())
        self.model_path = identity.path

    def _on_controller_history_replaced(self, history: list) -> None:
        """Another model: its curves (none for a new design), the old ones kept as an earlier run."""
        self.plot.new_run()
        if history:
            self.plot.set_history(history, keep_earlier=True)
        if history:
            text = f"{len(history)} epochs trained"
        elif len(self.controller.kept):
            text = "a new design: Train starts from new weights (Undo brings the trained model back)"
        else:
            text = "ready: press Train"
        self.training.reset_run(text)

    def _on_designer_validity_changed(self, valid: bool, message: str) -> None:
        self._update_enabled()
        self.training.show_design_validity(valid, message, idle=self.controller.state == "idle")

    def _update_enabled(self) -> None:
        state, valid = self.controller.state, self.designer.is_valid()
        self.training.set_state(state, can_train=valid)
        update_actions(self, state, valid)

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

    def show_getting_started(self) -> None:
        self.hint.show()
        pages.HelpPage(self, "Getting started", pages.GETTING_STARTED).show()

    def show_shortcuts(self) -> None:
        actions = [a for a in (getattr(self, name, None) for name in ACTIONS) if isinstance(a, QAction)] + [
            self.designer.undo_action,
            self.designer.redo_action,
        ]
        actions += self.designer.edit_actions()
        pages.HelpPage(self, "Keyboard shortcuts", pages.shortcuts_html(actions)).show()

    def show_backprop(self) -> None:
        pages.HelpPage(self, "How backpropagation is computed here", pages.BACKPROP).show()

    def clear_earlier_runs(self) -> None:
        self.plot.clear_earlier()

    # -- persistence -------------------------------------------------------------------------------
    def _restore(self) -> None:
        if not self.memory.restore_layout(self):
            self.panels.size_defaults()
        self.hint.setVisible(not self.memory.was_hint_seen())
        spec = self.memory.design()
        if spec:
            self.designer.set_spec(spec, undoable=False)
        else:
            self._load_template("xor")
        if data_name := self.memory.data_name():
            self.training.set_data_choice(data_name)
        self.controller.forget(str(self.designer.spec().get("name") or "untitled"))

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
