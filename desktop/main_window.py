"""The main window: designer and plot, training settings, drawing pad; menus and files."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
)

from desktop.controller import Controller, DataChoice, copy_network
from desktop.design import recipe_for
from desktop.handwriting import MNIST_WITH_HANDWRITING, load_samples
from desktop.widgets.designer import DesignerPanel
from desktop.widgets.digit_panel import DigitPanel
from desktop.widgets.plot import LivePlot
from desktop.widgets.training import TrainingPanel
from netcore.digits import digit_input_problem
from netcore.resources import default_model_path
from netcore.spec import SpecError, save_spec
from netcore.train import TrainResult, TrainSettings

DEFAULT_MODEL = default_model_path()
MAX_RECENT = 8


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
        self.qsettings = settings or QSettings("netcore", "netcore studio")
        self.model_path: str | None = None
        self.last_error: str | None = None
        self.last_info: str | None = None
        self._download_dialog: QProgressDialog | None = None

        self.designer = DesignerPanel()
        self.plot = LivePlot()
        self.training = TrainingPanel()
        self.digits = DigitPanel()
        self.digits.set_data_dir(self.controller.data_dir)

        # Top: the design and the pad; bottom: the curves and the settings that drive them.
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.designer)
        top.addWidget(self.digits)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 0)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.plot)
        bottom.addWidget(self.training)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 0)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self._row_splitters = (top, bottom)
        self.setCentralWidget(self.splitter)
        self.model_label = QLabel()
        self.statusBar().addPermanentWidget(self.model_label)

        self._make_actions()
        self._connect()
        self._restore()
        if load_default_model and DEFAULT_MODEL.exists():
            self.controller.open_reader(str(DEFAULT_MODEL), name="default digits model (shipped)")
        self._update_enabled()

    # -- actions and menus ---------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        a = self._action
        self.act_new = a("&New design", self._new_design, QKeySequence.StandardKey.New)
        self.act_open = a("&Open model…", self._open_model_dialog, QKeySequence.StandardKey.Open)
        self.act_save = a("&Save model", self._save_model, QKeySequence.StandardKey.Save)
        self.act_save_as = a("Save model &as…", self._save_model_as, QKeySequence("Ctrl+Shift+S"))
        self.act_open_design = a("Open &design…", self._open_design)
        self.act_save_design = a("Save d&esign…", self._save_design)
        self.act_import_idx = a("Import dataset &folder (IDX)…", self._import_idx)
        self.act_import_csv = a("Import &CSV…", self._import_csv)
        self.act_export_csv = a("Export curves as CSV…", self._export_csv)
        self.act_export_png = a("Export plot as PNG…", self._export_png)
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_train = a("&Train", self._train, QKeySequence("F5"))
        self.act_step = a("&Step one epoch", self._step, QKeySequence("F6"))
        self.act_pause = a("&Pause / Resume", self._toggle_pause, QKeySequence("F7"))
        self.act_stop = a("St&op", self.controller.stop, QKeySequence("Shift+F5"))
        self.act_reset = a("&Reset weights", self._reset, QKeySequence("Ctrl+R"))
        self.act_finetune = a(
            "&Fine-tune on MNIST + my handwriting",
            self._fine_tune,
            tip="One epoch at a low learning rate on MNIST plus your saved digits",
        )
        self.act_eval_mine = a("&Evaluate on my handwriting", self._evaluate_handwriting)
        self.act_about = a("&About", self._about)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        templates = file_menu.addMenu("New from &template")
        for name in self.designer.templates():
            templates.addAction(a(name.replace("_", " "), lambda _=False, n=name: self._load_template(n)))
        file_menu.addSeparator()
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_open_design)
        file_menu.addAction(self.act_save_design)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import_idx)
        file_menu.addAction(self.act_import_csv)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export_csv)
        file_menu.addAction(self.act_export_png)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.designer.undo_action)
        edit.addAction(self.designer.redo_action)
        train = bar.addMenu("&Train")
        for action in (self.act_train, self.act_step, self.act_pause, self.act_stop, self.act_reset):
            train.addAction(action)
        train.addSeparator()
        train.addAction(self.act_finetune)
        train.addAction(self.act_eval_mine)
        bar.addMenu("&Help").addAction(self.act_about)
        self._refresh_recent()

    def _connect(self) -> None:
        c, t = self.controller, self.training
        t.train_requested.connect(self._train)
        t.step_requested.connect(self._step)
        t.pause_toggled.connect(self._toggle_pause)
        t.stop_requested.connect(c.stop)
        t.live_changed.connect(lambda change: c.change_live(**change))
        self.designer.validity_changed.connect(self._on_designer_validity_changed)
        self.designer.spec_changed.connect(c.adopt_design)
        c.state_changed.connect(self._on_controller_state_changed)
        c.training_started.connect(self._on_controller_training_started)
        c.batch_finished.connect(self.plot.add_batch)
        c.batch_finished.connect(t.show_batch)
        c.epoch_finished.connect(self.plot.add_epoch)
        c.epoch_finished.connect(t.show_epoch)
        c.training_finished.connect(self._on_controller_training_finished)
        c.network_changed.connect(self._on_controller_network_changed)
        c.model_opened.connect(self._on_controller_model_opened)
        c.model_saved.connect(self._on_controller_model_saved)
        c.task_progressed.connect(self._on_controller_task_progressed)
        c.error.connect(self.show_error)
        self.digits.status_message.connect(lambda text: self.statusBar().showMessage(text, 5000))

    # -- training ------------------------------------------------------------------------
    def _train(self, epochs: int | None = None) -> None:
        if not self.designer.is_valid() or self.controller.busy:
            return
        try:
            settings = self.training.settings()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.controller.start_training(self.designer.spec(), settings, self.training.data_choice(), epochs)

    def _step(self) -> None:
        self._train(epochs=1)

    def _toggle_pause(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def _digit_network(self):
        """The current network if it reads 28x28 digits, else None (after saying why)."""
        network = self.controller.network or self.controller.display_network
        problem = "there is no network yet" if network is None else digit_input_problem(network)
        if problem:
            self.show_error(f"cannot use my handwriting: {problem}")
            return None
        return network

    def _fine_tune(self) -> None:
        network = self._digit_network()
        if network is None or self.controller.busy:
            return
        self.designer.set_spec(network.spec, undoable=False)
        if self.controller.network is not network:  # the shipped reader: fine-tune a copy of it
            self.controller.network, self.controller.history = copy_network(network), []
        settings = self.training.settings()
        settings = TrainSettings.from_dict(
            {
                **settings.to_dict(),
                "epochs": 1,
                "lr": min(settings.lr, 1e-4),
                "val_split": 0.0,
                "batch_size": 64,
            }
        )
        self.controller.start_training(network.spec, settings, DataChoice(MNIST_WITH_HANDWRITING), epochs=1)

    def _evaluate_handwriting(self) -> None:
        network = self._digit_network()
        if network is None:
            return

        def work(progress, should_stop):
            x, y = load_samples()
            if len(x) == 0:
                raise ValueError(
                    "there are no saved handwriting samples yet: draw digits and use 'Save to my handwriting'"
                )
            return len(x), network.evaluate(x.reshape((len(x),) + network.input_shape), y)

        def show(result) -> None:
            count, figures = result
            text = f"{self.controller.network_name}: {figures['accuracy']:.1%} right on your {count} saved digits"
            self.training.show_message(text)
            self.show_info("My handwriting", text)

        self.controller.run_task(work, show)

    def _reset(self) -> None:
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
        self.training.show_message(result.message)
        if result.status in ("diverged", "failed"):
            self.show_error(result.message)
        elif self.controller.network is not None:
            self.controller.evaluate_test(self._show_test_figures)
        self.training.progress.setFormat(result.message)

    def _show_test_figures(self, figures: dict) -> None:
        text = f"test loss {figures['loss']:.4f}"
        if "accuracy" in figures:
            text += f" · test accuracy {figures['accuracy']:.2%}"
        self.training.show_message(text)
        self.statusBar().showMessage(text, 10000)

    def _on_controller_state_changed(self, state: str) -> None:
        self._update_enabled()
        if state == "loading":
            self._show_download_dialog()
        elif self._download_dialog is not None:
            self._download_dialog.close()
            self._download_dialog = None

    def _show_download_dialog(self) -> None:
        dialog = QProgressDialog("Loading the dataset…", "Cancel", 0, 0, self)
        dialog.setWindowTitle("netcore studio")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.canceled.connect(self.controller.stop)
        self._download_dialog = dialog

    def _on_controller_task_progressed(self, done: int, total: int, label: str) -> None:
        self.training.show_task(done, total, label)
        if self._download_dialog is not None:
            self._download_dialog.setLabelText(label or "Loading…")
            self._download_dialog.setMaximum(max(total, 0))
            if total:
                self._download_dialog.setValue(min(done, total))

    def _on_controller_network_changed(self, network, name: str) -> None:
        self.digits.set_network(network, name)
        self.model_label.setText(f"model: {name}")
        self.designer.set_weights(network.named_params())

    def _on_designer_validity_changed(self, valid: bool, message: str) -> None:
        self._update_enabled()
        if not valid:
            self.training.show_message(f"design error: {message}")
        elif self.controller.state == "idle":
            self.training.show_message("ready")

    def _update_enabled(self) -> None:
        state = self.controller.state
        valid = self.designer.is_valid()
        self.training.set_state(state, can_train=valid)
        idle = state == "idle"
        self.act_train.setEnabled(idle and valid)
        self.act_step.setEnabled(idle and valid)
        self.act_pause.setEnabled(state in ("training", "paused"))
        self.act_stop.setEnabled(not idle)
        for action in (
            self.act_open,
            self.act_save,
            self.act_save_as,
            self.act_open_design,
            self.act_new,
            self.act_reset,
            self.act_import_idx,
            self.act_import_csv,
            self.recent_menu.menuAction(),
        ):
            action.setEnabled(idle)

    # -- designs -------------------------------------------------------------------------
    def _new_design(self) -> None:
        self._load_template("xor")
        self.model_path = None

    def _load_template(self, name: str) -> None:
        """Load a template and the training settings its description quotes."""
        self.designer.load_template(name)
        recipe, t = recipe_for(name), self.training
        if recipe.dataset is not None:
            t.set_data_choice(recipe.dataset, recipe.data_options)
        t.optimizer.setCurrentText(recipe.optimizer)
        t.lr.setValue(recipe.lr)
        if recipe.schedule is not None:
            t.schedule.setCurrentText(recipe.schedule)
        t.batch_size.setValue(recipe.batch_size)
        t.epochs.setValue(recipe.epochs)
        if recipe.augment is not None:
            t.augment.setCurrentText(recipe.augment)

    def _open_design(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open design", self._last_dir(), "Network designs (*.json)"
        )
        if path:
            self.open_design(path)

    def open_design(self, path: str) -> None:
        try:
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.show_error(f"{path} is not a readable JSON design: {exc}")
            return
        self.designer.set_spec(spec)
        self._remember_dir(path)

    def _save_design(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save design", self._last_dir(), "Network designs (*.json)"
        )
        if not path:
            return
        if not path.endswith(".json"):
            path += ".json"
        try:
            save_spec(self.designer.spec(), path)
        except (SpecError, OSError) as exc:
            self.show_error(str(exc))
        else:
            self.statusBar().showMessage(f"saved design {path}", 5000)

    # -- models --------------------------------------------------------------------------
    def _open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._last_dir(), "netcore models (*.npz)")
        if path:
            self.open_model(path)

    def open_model(self, path: str) -> None:
        self.controller.open_model(path)

    def _on_controller_model_opened(self, model, path: str) -> None:
        self.designer.set_spec(model.network.spec, undoable=False)
        self.controller.network = model.network  # set_spec may have reset it: keep the opened weights
        self.controller.history = list(model.history)
        self.plot.set_history(model.history)
        if model.settings:
            self.training.set_settings(self.controller.settings)
        if model.dataset.get("name"):
            self.training.set_data_choice(model.dataset["name"], model.dataset)
        self.model_path = path
        self._add_recent(path)
        self._remember_dir(path)
        self.statusBar().showMessage(f"opened {path}", 5000)

    def _save_model(self) -> None:
        if self.model_path:
            self.save_model(self.model_path)
        else:
            self._save_model_as()

    def _save_model_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save model", self._last_dir(), "netcore models (*.npz)")
        if path:
            if not path.endswith(".npz"):
                path += ".npz"
            self.save_model(path)

    def save_model(self, path: str) -> None:
        self.controller.save_model(path)

    def _on_controller_model_saved(self, path: str) -> None:
        self.model_path = path
        self._add_recent(path)
        self._remember_dir(path)
        self.statusBar().showMessage(f"saved {path}", 5000)

    # -- datasets and exports --------------------------------------------------------------
    def _import_idx(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the four IDX files", self._last_dir())
        if folder:
            self.training.add_custom_dataset(f"IDX: {Path(folder).name}", f"idx:{folder}")

    def _import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import CSV", self._last_dir(), "CSV tables (*.csv)")
        if path:
            self.training.add_custom_dataset(f"CSV: {Path(path).name}", f"csv:{path}")

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves", self._last_dir(), "CSV (*.csv)")
        if path:
            self.plot.export_csv(path)

    def _export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", self._last_dir(), "PNG image (*.png)")
        if path:
            self.plot.export_png(path)

    # -- messages ------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """A non-blocking dialog with the engine's one-line message."""
        self.last_error = message
        self._show_box(QMessageBox.Icon.Warning, "netcore studio", message)

    def show_info(self, title: str, message: str) -> None:
        """A non-blocking dialog with a result worth a second look (also in the status bar)."""
        self.last_info = message
        self._show_box(QMessageBox.Icon.Information, title, message)

    def _show_box(self, icon: QMessageBox.Icon, title: str, message: str) -> None:
        box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.statusBar().showMessage(message, 10000)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About netcore studio",
            "netcore studio: design a network, watch it learn, draw digits for it.\n"
            "Every line of the learning engine is hand-written NumPy.",
        )

    # -- persistence -----------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.qsettings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1440, screen.width()), min(900, screen.height()))
        splitters = {
            "window/splitter": self.splitter,
            "window/top": self._row_splitters[0],
            "window/bottom": self._row_splitters[1],
        }
        for key, splitter in splitters.items():
            state = self.qsettings.value(key)
            if isinstance(state, QByteArray) and not state.isEmpty():
                splitter.restoreState(state)
        if not isinstance(self.qsettings.value("window/splitter"), QByteArray):
            self.splitter.setSizes([480, 380])
            self._row_splitters[0].setSizes([880, 560])
            self._row_splitters[1].setSizes([860, 580])
        spec_text = self.qsettings.value("design/spec")
        try:
            spec = json.loads(spec_text) if isinstance(spec_text, str) else None
        except json.JSONDecodeError:
            spec = None
        if spec:
            self.designer.set_spec(spec, undoable=False)
        else:
            self._load_template("xor")
        data_name = self.qsettings.value("data/name")
        if isinstance(data_name, str):
            self.training.set_data_choice(data_name)

    def _save_state(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.setValue("window/top", self._row_splitters[0].saveState())
        self.qsettings.setValue("window/bottom", self._row_splitters[1].saveState())
        self.qsettings.setValue("design/spec", json.dumps(self.designer.spec()))
        self.qsettings.setValue("data/name", self.training.data_choice().name)

    def _last_dir(self) -> str:
        value = self.qsettings.value("files/last_dir")
        return value if isinstance(value, str) else str(Path.home())

    def _remember_dir(self, path: str) -> None:
        self.qsettings.setValue("files/last_dir", str(Path(path).parent))

    def _recent(self) -> list[str]:
        value = self.qsettings.value("files/recent")
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _add_recent(self, path: str) -> None:
        recent = [str(path)] + [p for p in self._recent() if p != str(path)]
        self.qsettings.setValue("files/recent", recent[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_model(p))
        self.recent_menu.setEnabled(bool(recent))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self._save_state()
        self.controller.shutdown()
        self.digits.shutdown()
        super().closeEvent(event)
