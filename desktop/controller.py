"""The one owner of the window's work: the session, every thread, worker and background task.

The window and the widgets ask the controller to act (methods) and listen to its signals; they
never start threads, load data or run a network for more than reading one digit. Every thread
starts through ``self.threads`` (desktop/tasks.py). Here: the session and the model's identity,
loading data, training and design changes; the one-off jobs are mixed in from their own
modules: ``ReadingJobs`` (desktop/reading_jobs.py: the pad, my handwriting, a picture, the test
set) and ``ModelJobs`` (desktop/model_jobs.py: save, export, open). A new background job is a
method that calls ``run_task`` with an engine function and a callback (see
``ReadingJobs.evaluate_handwriting``). All signals are emitted on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from desktop.model_jobs import ModelJobs
from desktop.reading_jobs import ReadingJobs
from desktop.state import DataChoice, Kept, KeptModels, ModelIdentity, Session, copy_network, design_key
from desktop.tasks import Threads
from desktop.worker import TaskWorker, TrainingWorker
from netcore.data.dataset import Dataset
from netcore.data.folder import LoadCancelled
from netcore.data.handwriting import MNIST_WITH_HANDWRITING, with_handwriting
from netcore.experiment import DataSource, make_trainer, parse_history
from netcore.network import Network
from netcore.train import EpochStats, Trainer, TrainingControl, TrainResult, TrainSettings

__all__ = ["Controller", "DataChoice", "copy_network"]

# While training, the pad (and the designer's weight colours, the Inside views) follow the newest
# weights at most this often: each hand-over costs the UI thread a weight copy, a pad reading and
# repaints (~10 ms with the designer open), and tiny epochs end thousands of times a second.
PAD_PER_SECOND = 2.0


class Controller(ReadingJobs, ModelJobs, QObject):
    state_changed = Signal(str)  # idle | loading | training | paused
    task_progressed = Signal(int, int, str)  # done, total, label
    batch_finished = Signal(object)  # BatchStats
    epoch_finished = Signal(object)  # EpochStats: the latest (one per worker report, <= 20 a second)
    epochs_finished = Signal(list)  # [EpochStats, ...]: every epoch ended since the last report
    training_started = Signal(int)  # epochs planned
    training_finished = Signal(object)  # TrainResult
    design_replaced = Signal(dict)  # the design of a network that arrived (opened, fine-tuned)
    weights_published = Signal(object)  # a state_dict copy while training (see set_live_weights)
    network_changed = Signal(object, str)  # a UI-thread Network (a copy while training), its name
    model_opened = Signal(object, object, str)  # SavedModel, TrainSettings | None, path
    model_saved = Signal(str)
    design_needed = Signal(str, str)  # weights opened without their design: path, the one-line reason
    identity_changed = Signal(object)  # ModelIdentity (a copy): trained or new design, file, modified
    history_replaced = Signal(list)  # the session now holds another model (its history; [] if new)
    dataset_failed = Signal(str)  # the name of a dataset that could not be loaded
    error = Signal(str)

    def __init__(self, data_dir: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.state = "idle"
        self.session = Session()
        self.display_network: Network | None = None  # what the pad reads with
        self.network_name = "no model"
        self._trainer: Trainer | None = None
        self._trainer_key: tuple | None = None
        self._datasets: dict[tuple, Dataset] = {}
        self.threads = Threads(self)  # every thread starts there
        self.threads.task_progressed.connect(self.task_progressed)
        self._thread: QThread | None = None  # the training thread
        self._control: TrainingControl | None = None
        self._last_result: TrainResult | None = None
        self._replacing_design = False
        self.identity = ModelIdentity()
        self._epoch_copy: Network | None = None  # what the pad reads with during a run
        self.kept = KeptModels()  # trained models set aside by design changes (Undo restores them)
        self._worker: TrainingWorker | None = None
        self._live_rate = 0.0
        self._pad_weights: tuple[dict[str, np.ndarray], int] | None = None  # newest, not on the pad yet
        self._pad_shown_at = -1e9  # time.monotonic() of the last hand-over
        self._pad_timer = QTimer(self)
        self._pad_timer.setSingleShot(True)
        self._pad_timer.timeout.connect(self._show_epoch_weights)

    # -- read-only views of the session --------------------------------------------------
    network = property(
        lambda self: self.session.network, doc="the trained network (the worker's while training)"
    )
    history = property(lambda self: self.session.history, doc="EpochStats dicts of the current network")
    settings = property(lambda self: self.session.settings)
    data_choice = property(lambda self: self.session.data_choice)
    trainer = property(lambda self: self._trainer)

    @property
    def busy(self) -> bool:
        return self.state != "idle"

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # -- threads ---------------------------------------------------------------------------
    def run_task(
        self,
        function: Callable[..., Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> TaskWorker:
        """Run ``function(progress=, should_stop=)`` off the UI thread; callbacks run on the UI thread.

        Failures arrive as one line (``on_failure``, by default the ``error`` signal).
        """
        return self.threads.run_task(function, on_success, on_failure or self.error.emit)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop every worker and wait for its thread (window closing, application quitting)."""
        self.stop_all()
        self.threads.wait_all(timeout_ms)

    def stop_all(self) -> None:
        if self._control is not None:
            self._control.request_stop()
        self.threads.cancel_tasks()

    # -- data -----------------------------------------------------------------------------
    def dataset(self, choice: DataChoice) -> Dataset | None:
        return self._datasets.get(choice.key())

    def preview_folder(self, path: str, options: dict, then: Callable, failed: Callable[[str], None]) -> None:
        """``then(Preview)``: a few pictures per class of the folder ``path``, decoded off the UI thread."""
        from netcore.data.folder_preview import preview_folder

        self.run_task(lambda progress, should_stop: preview_folder(path, **options), then, failed)

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

            def count(done, total, label):  # "decoding pictures in photos: 1,200 of 60,000"
                progress(
                    done, total or 0, f"{label}: {done:,} of {total:,}" if total and done < total else label
                )

            if choice.name.startswith("folder:"):  # the engine's own labels, a count and Cancel
                try:
                    data = load_dataset(
                        choice.name,
                        data_dir=data_dir,
                        progress=count,
                        should_stop=should_stop,
                        **choice.options,
                    )
                except LoadCancelled:
                    return None
                return {choice.key(): data}
            if choice.name == MNIST_WITH_HANDWRITING:
                mnist = load_dataset("mnist", data_dir=data_dir, progress=report)
                return {DataChoice("mnist").key(): mnist, choice.key(): with_handwriting(mnist)}
            return {
                choice.key(): load_dataset(choice.name, data_dir=data_dir, progress=report, **choice.options)
            }

        def loaded(datasets: dict[tuple, Dataset] | None) -> None:
            self._set_state("idle")
            if datasets is None:  # cancelled: the choice stays, nothing is loaded
                self.task_progressed.emit(0, 0, f"loading {Path(choice.name[7:]).name} cancelled")
                return
            self._datasets.update(datasets)
            then(datasets[choice.key()])

        def failed(message: str) -> None:
            self._set_state("idle")
            self.dataset_failed.emit(choice.name)
            self.error.emit(message)

        self._set_state("loading")
        self.run_task(work, loaded, failed)

    # -- training --------------------------------------------------------------------------
    def start_training(
        self, spec: dict, settings: TrainSettings, choice: DataChoice, epochs: int | None = None
    ) -> None:
        """Train ``epochs`` (default: the settings') more epochs of ``spec`` on ``choice``."""
        if self.busy:
            return
        self.session.settings, self.session.data_choice = settings, choice
        self.load_dataset(choice, lambda data: self._train_on(spec, settings, choice, data, epochs))

    def _train_on(self, spec, settings, choice, data: Dataset, epochs: int | None) -> None:
        session = self.session
        control = TrainingControl()
        try:
            if session.network is None or design_key(session.network.spec) != design_key(spec):
                session.start(Network(spec, seed=settings.seed))  # built once per click
                self._trainer = None
                name = str(spec.get("name") or "untitled")
                self._set_identity(trained=False, dirty=False, name=name, path=None, epochs=0)
            key = (choice.key(), choice.augment, _static_settings(settings))
            if self._trainer is None or self._trainer_key != key:
                self._trainer = make_trainer(session.network, data, settings, augment=choice.augment)
                self._trainer.history = parse_history(session.history)
                self._trainer_key = key
            else:  # the same run continues: only the live settings may have changed
                control.change(lr=settings.lr, batch_size=settings.batch_size)
        except ValueError as exc:
            self.error.emit(str(exc))
            return
        session.source = DataSource.of(data, choice.options)
        planned = epochs or settings.epochs
        if self.display_network is session.network:
            # The worker is about to own this network: the pad must read with its own copy.
            self._publish(copy_network(session.network), self.network_name)
        worker = TrainingWorker(self._trainer, planned, control)
        worker.batch_finished.connect(self.batch_finished)
        worker.weights_published.connect(self.weights_published)
        worker.live_rate, self._worker = self._live_rate, worker
        worker.epoch_finished.connect(self._on_worker_epoch_finished)
        worker.failed.connect(self.error)
        worker.finished.connect(self._on_worker_finished)
        self._control, self._last_result = control, None
        self._set_state("training")
        self.training_started.emit(planned)
        self._thread = self.threads.launch(worker, self._on_thread_finished)

    @Slot(object, object)
    def _on_worker_epoch_finished(self, epochs: list[EpochStats], weights: dict[str, np.ndarray]) -> None:
        """Epochs ended since the worker's last report (one, unless epochs are tiny: XOR's take
        0.1 ms) and the weights after the last: the history and ``epochs_finished`` get every
        epoch, ``epoch_finished`` the latest (at most 20 reports a second), the pad the newest
        weights at most PAD_PER_SECOND times a second."""
        self.session.history.extend(stats.to_dict() for stats in epochs)
        self.epochs_finished.emit(epochs)
        self.epoch_finished.emit(epochs[-1])
        self._set_identity(trained=True, dirty=True, epochs=len(self.session.history))
        self._pad_weights = (weights, epochs[-1].epoch)
        wait = self._pad_shown_at + 1.0 / PAD_PER_SECOND - time.monotonic()
        if wait <= 0:
            self._show_epoch_weights()
        elif not self._pad_timer.isActive():  # the newest weights then, whatever arrives meanwhile
            self._pad_timer.start(int(wait * 1000) + 1)
        if self._worker is not None:
            self._worker.epochs_delivered()  # the worker may send the next report

    def _show_epoch_weights(self) -> None:
        """The pad reads with a copy holding the newest epoch's weights (at most PAD_PER_SECOND)."""
        network, pending, self._pad_weights = self.session.network, self._pad_weights, None
        if pending is None or network is None or self._thread is None:
            return  # the run has ended meanwhile: the trained network itself is on the pad
        weights, epoch = pending
        self._pad_shown_at = time.monotonic()
        display = self._epoch_copy  # the pad's copy made here; never a model it was handed (the shipped one)
        if display is None or display is network or display.spec != network.spec:
            display = self._epoch_copy = Network(network.spec, seed=0, dtype=network.dtype)
        display.load_state_dict(weights)
        self._publish(display, f"training: epoch {epoch}")

    @Slot(object)
    def _on_worker_finished(self, result: TrainResult) -> None:
        self._last_result = result

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, self._thread, self._control, self._worker = self._thread, None, None, None
        self._pad_timer.stop()
        self._pad_weights, self._pad_shown_at = None, -1e9
        if thread is not None:
            self.threads.retire(thread)
        self._set_state("idle")
        if self.session.network is not None:
            self._publish(self.session.network, self.identity.describe())
        if self._last_result is not None:
            self.training_finished.emit(self._last_result)

    def set_live_weights(self, per_second: float) -> None:
        """Publish weight copies mid-epoch at most ``per_second`` times a second (0: only at epoch ends)."""
        self._live_rate = float(per_second)
        if self._worker is not None:
            self._worker.live_rate = self._live_rate

    def pause(self) -> None:
        if self._control is not None and self.state == "training":
            self._control.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self._control is not None and self.state == "paused":
            self._control.resume()
            self._set_state("training")

    def stop(self) -> None:
        """Stop training between batches, or cancel a running load/download."""
        if self._control is not None:
            self._control.request_stop()
        elif self.state == "loading":
            self.stop_all()

    def change_live(self, **settings: Any) -> None:
        """Learning rate or batch size changed while training."""
        if self._control is not None:
            self._control.change(**settings)
            self.session.settings = replace(self.session.settings, **settings)  # what the file will say

    def _set_identity(self, **changes: Any) -> None:
        self.identity = replace(self.identity, **changes)
        self.identity_changed.emit(replace(self.identity))

    def has_unsaved(self) -> bool:
        """Trained weights that a New, Open or Quit would lose (here or set aside by a design change)."""
        return self.identity.dirty or self.kept.unsaved()

    def reset(self) -> None:
        """Forget the trained network (new random weights at the next Train)."""
        if not self.busy:
            self.session.start(None)
            self._trainer = None
            self._set_identity(trained=False, dirty=False, path=None, epochs=0)
            self.history_replaced.emit([])

    def forget(self, name: str) -> None:
        """Start over with a new design called ``name`` (New, a template): nothing trained is kept."""
        if not self.busy:
            self.session.start(None)
            self._trainer = None
            self.kept.clear()
            self._set_identity(trained=False, dirty=False, path=None, name=name, epochs=0)
            self.history_replaced.emit([])

    def adopt_design(self, spec: dict) -> None:
        """The user changed the design. A trained network of another design is set aside (not
        lost): the next Train starts from new weights, and going back to its design (Undo)
        brings it back with its history."""
        network, session = self.session.network, self.session
        if self._replacing_design or self.busy:
            return
        key = design_key(spec)
        if network is not None and design_key(network.spec) == key:
            return
        restored = self.kept.take(key)
        if network is None and restored is None:
            return
        if network is not None:
            kept = Kept(network, list(session.history), session.settings, session.source, self.identity)
            self.kept.put(design_key(network.spec), kept)
        self._trainer = None
        if restored is None:
            session.start(None)
            name = str(spec.get("name") or "untitled")
            self._set_identity(trained=False, dirty=False, path=None, epochs=0, name=name)
            note = (
                "the design on the left has changed: Train it to read with it, or Undo to get this model back"
            )
            self._publish(self.display_network, f"{kept.identity.describe()} — {note}")
            self.history_replaced.emit([])
            return
        session.start(restored.network, restored.history)
        session.settings, session.source = restored.settings, restored.source
        self._set_identity(**vars(restored.identity))
        self._publish(restored.network, restored.identity.describe())
        self.history_replaced.emit(list(restored.history))

    def _replace_design(self, spec: dict) -> None:
        """Tell the window a network with this design arrived, without resetting it."""
        self._replacing_design = True
        try:
            self.design_replaced.emit(spec)
        finally:
            self._replacing_design = False

    # -- what the pad reads with -----------------------------------------------------------------
    def _publish(self, network: Network, name: str) -> None:
        self.display_network = network
        self.network_name = name
        self.network_changed.emit(network, name)


def _static_settings(settings: TrainSettings) -> tuple:
    """Settings whose change needs a new trainer (lr, batch size and epochs can change in place)."""
    data = settings.to_dict()
    for live in ("lr", "batch_size", "epochs"):
        data.pop(live)
    return tuple(sorted((k, repr(v)) for k, v in data.items()))
