"""Data and training settings, the Train / Pause / Stop / Step buttons and the progress line.

The buttons, the progress bar and the status lines come first, so they stay in sight when the
panel is short (a small screen scrolls the settings under them). A value outside a field's
limits is refused visibly (desktop/widgets/fields.py): a red frame, the reason in the panel,
Train disabled, and nothing changed behind the user's back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.state import DataChoice
from desktop.widgets.fields import COMBO_TIPS, FIELDS, mark, synthetic_defaults
from netcore.augment import STRENGTHS
from netcore.data.registry import DATASET_NAMES, SYNTHETIC_NAMES
from netcore.optimizers import OPTIMIZERS
from netcore.schedules import SCHEDULE_NAMES
from netcore.train import BatchStats, EpochStats, TrainSettings

LABELS = {"mnist": "MNIST digits", "xor": "XOR"}  # else the name, capitalised
DATASETS = [(LABELS.get(name, name.capitalize()), name) for name in DATASET_NAMES]  # the engine's
SYNTHETIC = set(SYNTHETIC_NAMES)
AUGMENTATIONS = list(STRENGTHS)  # the engine's names, in its order
IMPORTED = ("idx:", "csv:", "folder:")  # datasets File > Import adds to the list
XOR_TEST = "XOR's four points are both its training and its test set: there is nothing to split"


def _double(
    low: float, high: float, value: float, decimals: int = 4, adaptive: bool = False
) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    if adaptive:
        box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    return box


def _int(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class TrainingPanel(QWidget):
    train_requested = Signal()
    step_requested = Signal()
    pause_toggled = Signal()
    stop_requested = Signal()
    live_changed = Signal(dict)  # {"lr": x} or {"batch_size": n} while training
    dataset_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._custom: list[tuple[str, str]] = []  # (label, "idx:PATH" / "csv:PATH")
        self.dataset = QComboBox()
        for label, name in DATASETS:
            self.dataset.addItem(label, name)
        # Wide ranges on purpose: what is typed stays as typed, and FIELDS says if it is refused.
        self.noise = _double(0.0, 100.0, 0.0, 2)
        self.samples = _int(0, 10**7, 4)
        self.test_ratio = _double(0.0, 1.0, 0.3, 2)
        self.test_ratio.setSpecialValueText("same as training")  # shown at 0: XOR's four points
        self.val_split = _double(0.0, 1.0, 0.0, 2)
        self.augment = QComboBox()
        self.augment.addItems(AUGMENTATIONS)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.setCurrentText("adam")
        self.lr = _double(0.0, 1e6, 1e-3, 6, adaptive=True)
        self.schedule = QComboBox()
        self.schedule.addItems(list(SCHEDULE_NAMES))
        self.batch_size = _int(0, 10**7, 32)
        self.epochs = _int(0, 10**7, 10)
        self.l2 = _double(0.0, 1e3, 0.0, 5, adaptive=True)
        self.seed = _int(0, 2**31 - 1, 0)
        self.fields = {name: getattr(self, name) for name in FIELDS}
        for name, box in self.fields.items():
            box.setToolTip(FIELDS[name].tip)
            box.valueChanged.connect(self._validate)
        for name, tip in COMBO_TIPS.items():
            getattr(self, name).setToolTip(tip)
        self._warning = ""
        self._options: dict[str, dict] = {}  # what the user set per dataset: noise, n, test_ratio
        self._import_options: dict[str, dict] = {}  # "folder:PATH" -> {"size", "mode", "fit"}
        self._shown_dataset = ""

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        data_form.addRow("Dataset", self.dataset)
        data_form.addRow("Noise", self.noise)
        data_form.addRow("Samples", self.samples)
        data_form.addRow("Test ratio", self.test_ratio)
        data_form.addRow("Validation split", self.val_split)
        data_form.addRow("Augmentation", self.augment)
        train_box = QGroupBox("Training")
        train_form = QFormLayout(train_box)
        train_form.addRow("Optimizer", self.optimizer)
        train_form.addRow("Learning rate", self.lr)
        train_form.addRow("Schedule", self.schedule)
        train_form.addRow("Batch size", self.batch_size)
        train_form.addRow("Epochs", self.epochs)
        train_form.addRow("L2", self.l2)
        train_form.addRow("Seed", self.seed)
        for form in (data_form, train_form):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train for the set number of epochs (F5)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume between two batches (F7)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip(
            "Stop after the current batch; the weights keep what they learned (Shift+F5)"
        )
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Train one epoch (F6)")
        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button, self.step_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status = QLabel("ready")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.problem = QLabel()  # why a field is refused, or a warning about the run
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b91c1c;")
        self.problem.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.problem)
        boxes = QHBoxLayout()
        boxes.addWidget(data_box)
        boxes.addWidget(train_box)
        layout.addLayout(boxes)
        layout.addStretch(1)

        self.train_button.clicked.connect(self.train_requested)
        self.step_button.clicked.connect(self.step_requested)
        self.pause_button.clicked.connect(self.pause_toggled)
        self.stop_button.clicked.connect(self.stop_requested)
        self.lr.valueChanged.connect(lambda v: self._live("lr", float(v)))
        self.batch_size.valueChanged.connect(lambda v: self._live("batch_size", int(v)))
        self.samples.valueChanged.connect(self._sync_test_ratio)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self._planned_epochs = 0
        self._first_epoch = 0
        self._state, self._can_train = "idle", True
        self._on_dataset_changed()
        self.set_state("idle", can_train=True)

    # -- checking what was typed -------------------------------------------------------------
    def _live(self, name: str, value: float) -> None:
        if FIELDS[name].check(value) is None:  # a refused value never reaches a running trainer
            self.live_changed.emit({name: value})

    def problems(self) -> list[str]:
        """Why the fields in use refuse their values (empty: all is well)."""
        return [
            problem
            for name, box in self.fields.items()
            if box.isEnabled() and (problem := FIELDS[name].check(box.value()))
        ]

    def _validate(self) -> None:
        xor = self._four_xor_points()
        for name, box in self.fields.items():
            tip = f"{XOR_TEST}. {FIELDS[name].tip}" if name == "test_ratio" and xor else FIELDS[name].tip
            mark(box, FIELDS[name].check(box.value()) if box.isEnabled() else None, tip)
        text = " · ".join(self.problems()) or self._warning  # a refused field first, else the run's warning
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
        self._sync_buttons()

    def show_warning(self, text: str) -> None:
        """A warning about the run (e.g. a loss that grows) under the status line; "" removes it."""
        self._warning = text
        self._validate()

    # -- dataset choice --------------------------------------------------------------------
    def dataset_label(self, name: str) -> str:
        index = self.dataset.findData(name)
        return self.dataset.itemText(index) if index >= 0 else name

    def remove_custom_dataset(self, name: str) -> None:
        """An imported dataset that failed to load leaves the list (the named sets stay)."""
        index = self.dataset.findData(name)
        if index >= 0 and name.startswith(IMPORTED):
            self.dataset.removeItem(index)

    def add_custom_dataset(self, label: str, name: str, options: dict | None = None) -> None:
        """Add and select an imported dataset ("idx:PATH", "csv:PATH" or "folder:PATH").

        ``options``: what the import chose for it (a picture folder's size, mode and fit); they
        travel in ``data_choice()``."""
        if options is not None:
            self._import_options[name] = {k: v for k, v in options.items() if v is not None}
        index = self.dataset.findData(name)
        if index < 0:
            self.dataset.addItem(label, name)
            index = self.dataset.count() - 1
        self.dataset.setCurrentIndex(index)

    def _on_dataset_changed(self) -> None:
        name = self.dataset.currentData() or ""
        if name != self._shown_dataset:  # each dataset keeps its own options (XOR's 4 points stay XOR's)
            if self._shown_dataset in SYNTHETIC:
                self._options[self._shown_dataset] = self._dataset_options()
            if name in SYNTHETIC:
                self._set_dataset_options(
                    {**synthetic_defaults(name), "test_ratio": 0.3, **self._options.get(name, {})}
                )
            self._shown_dataset = name
        synthetic = name in SYNTHETIC
        running = self._state in ("training", "paused", "loading")
        for box in (self.noise, self.samples):
            box.setEnabled(synthetic and not running)
        self.augment.setEnabled(not running and (name == "mnist" or name.startswith("idx:")))
        self._sync_test_ratio()
        self.dataset_changed.emit()

    def _dataset_options(self) -> dict:
        return {"noise": self.noise.value(), "n": self.samples.value(), "test_ratio": self.test_ratio.value()}

    def _set_dataset_options(self, options: dict) -> None:
        if "noise" in options:
            self.noise.setValue(float(options["noise"]))
        if "n" in options:
            self.samples.setValue(int(options["n"]))
        if "test_ratio" in options:
            self.test_ratio.setValue(float(options["test_ratio"]))

    def _four_xor_points(self) -> bool:
        return self.dataset.currentData() == "xor" and self.samples.value() == 4

    def _sync_test_ratio(self) -> None:
        """XOR's four points are its training and its test set: no ratio to show there."""
        name = self.dataset.currentData() or ""
        running = self._state in ("training", "paused", "loading")
        if self._four_xor_points():
            if self.test_ratio.value() > 0:
                self._test_ratio_kept = self.test_ratio.value()
            self.test_ratio.setValue(0.0)
            self.test_ratio.setEnabled(False)
        else:
            if self.test_ratio.value() == 0:
                self.test_ratio.setValue(getattr(self, "_test_ratio_kept", 0.3))
            self.test_ratio.setEnabled(not running and (name in SYNTHETIC or name.startswith("csv:")))
        self._validate()

    def data_choice(self) -> DataChoice:
        name = self.dataset.currentData()
        options: dict = {}
        if name in SYNTHETIC:
            options = {
                "noise": round(self.noise.value(), 4),
                "n": self.samples.value(),
                "seed": self.seed.value(),
            }
            if not self._four_xor_points():
                options["test_ratio"] = round(self.test_ratio.value(), 4)
        elif name.startswith("csv:"):
            options = {"test_ratio": round(self.test_ratio.value(), 4), "seed": self.seed.value()}
        elif name.startswith("folder:"):
            options = dict(self._import_options.get(name, {}))
        augment = self.augment.currentText() if self.augment.isEnabled() else "off"
        return DataChoice(name, options, augment)

    def set_data_choice(self, name: str, options: dict | None = None) -> None:
        index = self.dataset.findData(name)
        if index < 0 and name.startswith(IMPORTED):
            self.add_custom_dataset(name.split(":", 1)[1], name)
            index = self.dataset.findData(name)
        if index >= 0:
            self.dataset.setCurrentIndex(index)
        self._set_dataset_options(options or {})

    def apply_recipe(self, recipe) -> None:
        """Show a template's training recipe (desktop.design.Recipe); None fields stay as they are."""
        if recipe.dataset is not None:
            self.set_data_choice(recipe.dataset, recipe.data_options)
        self.optimizer.setCurrentText(recipe.optimizer)
        self.lr.setValue(recipe.lr)
        if recipe.schedule is not None:
            self.schedule.setCurrentText(recipe.schedule)
        self.batch_size.setValue(recipe.batch_size)
        self.epochs.setValue(recipe.epochs)
        if recipe.augment is not None:
            self.augment.setCurrentText(recipe.augment)

    # -- settings ------------------------------------------------------------------------
    def settings(self) -> TrainSettings:
        """The settings as typed; ValueError with the first refused field's reason."""
        if problems := self.problems():
            raise ValueError(problems[0])
        epochs = self.epochs.value()
        return TrainSettings(
            epochs=epochs,
            batch_size=self.batch_size.value(),
            optimizer=self.optimizer.currentText(),
            lr=float(self.lr.value()),
            l2=float(self.l2.value()),
            val_split=float(self.val_split.value()),
            schedule={"name": self.schedule.currentText(), "epochs": float(epochs)},
            seed=self.seed.value(),
        )

    def set_settings(self, s: TrainSettings) -> None:
        for box, value in ((self.lr, s.lr), (self.batch_size, s.batch_size)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.epochs.setValue(s.epochs)
        self.optimizer.setCurrentText(s.optimizer)
        self.l2.setValue(s.l2)
        self.val_split.setValue(s.val_split)
        self.seed.setValue(s.seed)
        self.schedule.setCurrentText((s.schedule or {}).get("name", "constant"))

    # -- state and progress ----------------------------------------------------------------
    def set_state(self, state: str, can_train: bool) -> None:
        running = state in ("training", "paused")
        self._state, self._can_train = state, can_train
        self._sync_buttons()
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(running or state == "loading")
        # What may not change during a run; lr and batch size stay live.
        for w in (
            self.dataset,
            self.noise,
            self.samples,
            self.test_ratio,
            self.val_split,
            self.augment,
            self.optimizer,
            self.schedule,
            self.l2,
            self.seed,
            self.epochs,
        ):
            w.setEnabled(not running and state != "loading")
        if not running and state != "loading":
            self._on_dataset_changed()

    def _sync_buttons(self) -> None:
        ok = self._state == "idle" and self._can_train and not self.problems()
        self.train_button.setEnabled(ok)
        self.step_button.setEnabled(ok)

    def start_run(self, planned_epochs: int, first_epoch: int) -> None:
        self._planned_epochs = planned_epochs
        self._first_epoch = first_epoch
        self.show_warning("")
        self._validate()
        self.progress.setValue(0)
        self.progress.setFormat(f"epoch {first_epoch + 1} of {first_epoch + planned_epochs}")

    def reset_run(self, text: str) -> None:
        """Another model: its predecessor's progress and scores go."""
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.show_warning("")
        self._validate()
        self.show_message(text)

    def show_batch(self, stats: BatchStats) -> None:
        done = (stats.epoch - 1 - self._first_epoch) + stats.batch / stats.batches
        fraction = min(1.0, done / max(1, self._planned_epochs))
        self.progress.setValue(int(fraction * 1000))
        left = ""
        if fraction > 0.01 and stats.seconds > 0:  # training time, pauses excluded (the trainer's clock)
            left = f" · {format_seconds(stats.seconds * (1 - fraction) / fraction)} left"
        self.progress.setFormat(
            f"epoch {stats.epoch} of {self._first_epoch + self._planned_epochs} · "
            f"{stats.samples_per_second:,.0f} samples/s{left}"
        )

    def show_epoch(self, stats: EpochStats) -> None:
        parts = [f"epoch {stats.epoch}: loss {stats.loss:.4f}"]
        if stats.accuracy is not None:
            parts.append(f"accuracy {stats.accuracy:.1%}")
        if stats.val_accuracy is not None:
            parts.append(f"validation {stats.val_accuracy:.1%}")
        parts.append(f"{stats.seconds:.1f} s")
        self.status.setText(" · ".join(parts))

    def show_task(self, done: int, total: int, label: str) -> None:
        if total > 0:
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{label} {done / total:.0%}")
        else:
            self.progress.setFormat(label)

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def show_result(self, result) -> None:
        """How a run ended (a netcore.train.TrainResult), in the status line and the progress bar."""
        self.show_message(result.message)
        if result.status == "finished":  # batch reports are throttled: the last may not have come
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(result.message)

    def show_design_validity(self, valid: bool, message: str, idle: bool) -> None:
        if not valid:
            self.show_message(f"design error: {message}")
        elif idle:
            self.show_message("ready")

    def show_mine(self, name: str, count: int, figures: dict) -> str:
        """Show how ``name`` reads the user's ``count`` saved digits; return the line."""
        text = f"{name}: {figures['accuracy']:.1%} right on your {count} saved digits"
        self.show_message(text)
        return text

    def show_test_figures(self, figures: dict) -> str:
        """Show test figures (Controller.evaluate_test's dict) as one line, and return it."""
        text = f"test loss {figures['loss']:.4f}"
        if "accuracy" in figures:
            text += f" · test accuracy {figures['accuracy']:.2%}"
        if "handwriting_count" in figures:
            text += " (MNIST)"
            if "handwriting_accuracy" in figures:
                text += (
                    f" · {figures['handwriting_accuracy']:.1%} right on {figures['handwriting_count']} "
                    "of your digits it did not train on"
                )
        self.show_message(text)
        return text


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
