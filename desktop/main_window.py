"""The main window composes: it builds the views and menus and connects them to the controller.

Views: desktop/widgets/; work: controller.py; menus: menus.py; dialogs: file_dialogs.py and
messages.py; what is remembered: window_settings.py. The menus' slots live by menu, mixed in:
File (designs, models, unsaved work, closing) in window_files.py, Train (and a run's start and
end) in window_training.py, Help in help.py. A slot turns a request into one controller call, or
a controller signal into view updates.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from desktop import messages, template_times
from desktop.controller import Controller
from desktop.design import template_entry
from desktop.help import FIRST_STEPS, HelpActions
from desktop.image_folders import ImageFolders
from desktop.inspection import Inspection
from desktop.menus import build_menus, update_actions
from desktop.model_exchange import ModelExchange
from desktop.panels import Area, Panels
from desktop.state import ModelIdentity, design_key
from desktop.widgets.designer import DesignerPanel
from desktop.widgets.digit_panel import DigitPanel
from desktop.widgets.frame import Banner, LoadingDialog, scrolled
from desktop.widgets.inside.area import InsideArea
from desktop.widgets.plot import LivePlot
from desktop.widgets.training import TrainingPanel
from desktop.window_files import FileActions
from desktop.window_settings import WindowSettings
from desktop.window_training import TrainingActions
from netcore.resources import default_model_path

DEFAULT_MODEL = default_model_path()


class MainWindow(TrainingActions, FileActions, HelpActions, QMainWindow):
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
        self.hint = Banner(FIRST_STEPS)
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

    # -- the controller's state -----------------------------------------------------------------
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
