"""The window's application state: the design, the data, the network, the threads.

Widgets ask the controller to act and listen to its signals; the controller
owns every QThread and worker, so nothing is collected while it runs.
All signals here are emitted on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.handwriting import MNIST_WITH_HANDWRITING, with_handwriting
from desktop.worker import TaskWorker, TrainingWorker
from netcore.data.dataset import Dataset
from netcore.experiment import check_fit, evaluate_on_test, make_trainer
from netcore.network import Network
from netcore.serialization import SavedModel, load_model, save_model
from netcore.train import EpochStats, Trainer, TrainResult, TrainSettings


@dataclass
class DataChoice:
    """Which dataset, with its options (noise, n, test_ratio...) and augmentation."""

    name: str = "xor"
    options: dict[str, Any] = field(default_factory=dict)
    augment: str = "off"

    def key(self) -> tuple:
        return (self.name, tuple(sorted(self.options.items())))


class Controller(QObject):
    state_changed = Signal(str)  # idle | loading | training | paused
    task_progressed = Signal(int, int, str)  # done, total, label
    batch_finished = Signal(object)  # BatchStats
    epoch_finished = Signal(object)  # EpochStats
    training_started = Signal(int)  # epochs planned
    training_finished = Signal(object)  # TrainResult
    network_changed = Signal(object, str)  # a UI-thread Network (a copy while training), its name
    model_opened = Signal(object, str)  # SavedModel, path
    model_saved = Signal(str)
    error = Signal(str)

    def __init__(self, data_dir: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.state = "idle"
        self.network: Network | None = None  # the trained network; owned by the worker while training
        self.display_network: Network | None = None  # what the pad reads with
        self.network_name = "no model"
        self.trainer: Trainer | None = None
        self.history: list[dict[str, Any]] = []
        self.settings = TrainSettings(epochs=10, batch_size=32, lr=1e-3)
        self.data_choice = DataChoice()
        self.model_meta: dict[str, Any] = {}
        self._datasets: dict[tuple, Dataset] = {}
        self._trainer_key: tuple | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._tasks: list[tuple[QThread, TaskWorker]] = []

    # -- state -----------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    @property
    def busy(self) -> bool:
        return self.state != "idle"

    # -- background tasks ------------------------------------------------------------
    def run_task(
        self,
        function: Callable[..., Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> TaskWorker:
        """Run ``function(progress=, should_stop=)`` on a thread; callbacks run on the UI thread."""
        thread = QThread(self)
        worker = TaskWorker(function)
        worker.moveToThread(thread)
        # A plain Python callable connected to a worker's signal would run on the worker's
        # thread; a relay living on this thread makes the callbacks queued onto the UI thread.
        entry = (thread, worker)

        def forget() -> None:
            if entry in self._tasks:
                self._tasks.remove(entry)
            worker.deleteLater()
            thread.deleteLater()
            relay.deleteLater()

        relay = _Relay(on_success, on_failure or self.error.emit, forget, self)
        thread.started.connect(worker.run)
        worker.progressed.connect(self.task_progressed)
        worker.succeeded.connect(relay.succeed)
        worker.failed.connect(relay.fail)
        worker.finished.connect(thread.quit)
        thread.finished.connect(relay.done)
        self._tasks.append(entry)
        thread.start()
        return worker

    def dataset(self, choice: DataChoice) -> Dataset | None:
        return self._datasets.get(choice.key())

    def load_dataset(self, choice: DataChoice, then: Callable[[Dataset], None]) -> None:
        """Load (and if needed download) a dataset off the UI thread, then call ``then``."""
        cached = self.dataset(choice)
        if cached is not None:
            then(cached)
            return
        from netcore.data.registry import load_dataset

        data_dir = self.data_dir

        def work(progress, should_stop):
            def report(done, total, name):
                if should_stop():
                    raise RuntimeError("download cancelled")
                progress(done, total or 0, f"downloading {name}")

            if choice.name == MNIST_WITH_HANDWRITING:
                return with_handwriting(load_dataset("mnist", data_dir=data_dir, progress=report))
            return load_dataset(choice.name, data_dir=data_dir, progress=report, **choice.options)

        def loaded(data: Dataset) -> None:
            self._datasets[choice.key()] = data
            self._set_state("idle")
            then(data)

        def failed(message: str) -> None:
            self._set_state("idle")
            self.error.emit(message)

        self._set_state("loading")
        self.run_task(work, loaded, failed)

    # -- training --------------------------------------------------------------------
    def start_training(
        self, spec: dict, settings: TrainSettings, choice: DataChoice, epochs: int | None = None
    ) -> None:
        """Train ``epochs`` (default: the settings') more epochs of ``spec`` on ``choice``."""
        if self.busy:
            return
        self.settings, self.data_choice = settings, choice
        self.load_dataset(choice, lambda data: self._train_on(spec, settings, choice, data, epochs))

    def _train_on(self, spec, settings, choice, data: Dataset, epochs: int | None) -> None:
        try:
            if self.network is None or self.network.spec != spec:
                self.network = Network(spec, seed=settings.seed)
                self.history = []
                self.trainer = None
            check_fit(self.network, data)
            key = (choice.key(), choice.augment, _static_settings(settings))
            if self.trainer is None or self._trainer_key != key:
                self.trainer = make_trainer(
                    self.network, data, settings, augment=_augmentation(choice.augment)
                )
                self.trainer.history = [_epoch_from_dict(h) for h in self.history]
                self._trainer_key = key
            self.trainer.base_lr, self.trainer.batch_size = settings.lr, settings.batch_size
        except ValueError as exc:
            self.error.emit(str(exc))
            return
        self.model_meta = {
            "dataset": {"name": data.name, **choice.options},
            "preprocessing": data.preprocessing,
            "class_names": data.class_names,
        }
        planned = epochs or settings.epochs
        if self.display_network is self.network:
            # The worker is about to own this network: the pad must read with its own copy.
            self._publish(copy_network(self.network), self.network_name)
        worker = TrainingWorker(self.trainer, planned)
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.batch_finished.connect(self.batch_finished)
        worker.epoch_finished.connect(self._on_worker_epoch_finished)
        worker.failed.connect(self.error)
        worker.finished.connect(self._on_worker_finished)
        worker.finished.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        self._set_state("training")
        self.training_started.emit(planned)
        thread.start()

    @Slot(object, object)
    def _on_worker_epoch_finished(self, stats: EpochStats, weights: dict[str, np.ndarray]) -> None:
        self.history.append(stats.to_dict())
        self.epoch_finished.emit(stats)
        display = self.display_network
        if display is None or display is self.network or display.spec != self.network.spec:
            display = Network(self.network.spec, seed=0, dtype=self.network.dtype)
        display.load_state_dict(weights)
        self._publish(display, f"training: epoch {stats.epoch}")

    @Slot(object)
    def _on_worker_finished(self, result: TrainResult) -> None:
        self._last_result = result

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self._set_state("idle")
        result = getattr(self, "_last_result", None)
        if self.network is not None:
            self._publish(self.network, f"trained here ({len(self.history)} epochs)")
        if result is not None:
            self.training_finished.emit(result)

    def _publish(self, network: Network, name: str) -> None:
        self.display_network = network
        self.network_name = name
        self.network_changed.emit(network, name)

    def pause(self) -> None:
        if self._worker is not None and self.state == "training":
            self._worker.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self._worker is not None and self.state == "paused":
            self._worker.resume()
            self._set_state("training")

    def stop(self) -> None:
        """Stop training between batches, or cancel a running load/download."""
        if self._worker is not None:
            self._worker.request_stop()
        elif self.state == "loading":
            for _, worker in list(self._tasks):
                worker.request_stop()

    def change_live(self, **settings: Any) -> None:
        """Learning rate or batch size changed while training."""
        if self._worker is not None:
            self._worker.change(**settings)

    def reset(self) -> None:
        """Forget the trained network (new random weights at the next Train)."""
        if self.busy:
            return
        self.network = self.trainer = None
        self.history = []

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop every worker and wait for its thread (window closing, application quitting)."""
        if self._worker is not None:
            self._worker.request_stop()
        for _, worker in list(self._tasks):
            worker.request_stop()
        for thread in [self._thread] + [t for t, _ in self._tasks]:
            if thread is not None and thread.isRunning():
                thread.quit()
                thread.wait(timeout_ms)

    # -- models ----------------------------------------------------------------------
    def evaluate_test(self, then: Callable[[dict], None]) -> None:
        """Test-split figures of the current network, computed off the UI thread."""
        network, data = self.network, self.dataset(self.data_choice)
        if network is None or data is None or self.busy:
            return
        self.run_task(lambda progress, should_stop: evaluate_on_test(network, data), then)

    def save_model(self, path: str) -> None:
        if self.network is None or self.busy:
            self.error.emit("there is no trained network to save yet")
            return
        model = SavedModel(
            network=self.network,
            history=list(self.history),
            settings=self.settings.to_dict(),
            dataset=dict(self.model_meta.get("dataset", {})),
            preprocessing=dict(self.model_meta.get("preprocessing", {})),
            class_names=list(self.model_meta.get("class_names", [])),
            extra={"augment": self.data_choice.augment},
        )
        self.run_task(
            lambda progress, should_stop: save_model(model, path), lambda _: self.model_saved.emit(str(path))
        )

    def open_model(self, path: str, name: str | None = None) -> None:
        """Load a model off the UI thread and make it the current network (design, history...)."""
        if self.busy:
            return

        def opened(model: SavedModel) -> None:
            self.network = model.network
            self.history = list(model.history)
            self.trainer = None
            self.model_meta = {
                "dataset": model.dataset,
                "preprocessing": model.preprocessing,
                "class_names": model.class_names,
            }
            if model.settings:
                try:
                    self.settings = TrainSettings.from_dict(model.settings)
                except (TypeError, ValueError):
                    pass
            self._publish(model.network, name or Path(path).name)
            self.model_opened.emit(model, str(path))

        self.run_task(lambda progress, should_stop: load_model(path), opened)

    def open_reader(self, path: str, name: str) -> None:
        """Load a model only for the drawing pad to read with (the shipped default model)."""
        self.run_task(
            lambda progress, should_stop: load_model(path), lambda model: self._publish(model.network, name)
        )

    def adopt_design(self, spec: dict) -> None:
        """The user changed the design: the next Train starts from new weights."""
        if self.network is not None and self.network.spec != spec and not self.busy:
            self.network = self.trainer = None
            self.history = []


class _Relay(QObject):
    """Calls back on the thread it lives on (the UI thread)."""

    def __init__(
        self,
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None],
        on_done: Callable[[], None],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._on_success, self._on_failure, self._on_done = on_success, on_failure, on_done

    @Slot(object)
    def succeed(self, result: Any) -> None:
        self._on_success(result)

    @Slot(str)
    def fail(self, message: str) -> None:
        self._on_failure(message)

    @Slot()
    def done(self) -> None:
        self._on_done()


def copy_network(network: Network) -> Network:
    """An independent network with the same design and weights (and BatchNorm statistics)."""
    twin = Network(network.spec, seed=0, dtype=network.dtype)
    twin.load_state_dict(network.state_dict())
    return twin


def _static_settings(settings: TrainSettings) -> tuple:
    """Settings whose change needs a new trainer (lr, batch size and epochs can change in place)."""
    data = settings.to_dict()
    for live in ("lr", "batch_size", "epochs"):
        data.pop(live)
    return tuple(sorted((k, repr(v)) for k, v in data.items()))


def _epoch_from_dict(row: dict[str, Any]) -> EpochStats:
    fields = EpochStats.__dataclass_fields__
    return EpochStats(**{k: row.get(k) for k in fields})


def _augmentation(name: str):
    if name in ("off", "", None):
        return None
    from netcore.augment import STRENGTHS

    return STRENGTHS.get(name)
