"""Workers that run engine code on a QThread and report only through signals.

``TrainingWorker`` drives ``Trainer.run`` with a ``TrainingControl``; ``TaskWorker`` runs any
function (loading a dataset or a model, downloading MNIST) off the UI thread. Both have
``run()`` and ``finished``, which is all ``Controller._launch`` needs. Only immutable records
and copied arrays cross threads. Only the controller imports this module.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from netcore.thread_memory import keep_freed_memory
from netcore.train import BatchStats, EpochStats, Trainer, TrainingControl, TrainResult

# Batch reports to the window: each costs the UI thread a progress and plot update (with the
# GIL, which both threads of a split training step then wait for). The MNIST CNN's worker, two
# threads per batch, against the command line (scripts/ui_latency.py --compare-cli, 2-core AMD
# EPYC): 10 a second 0.87-0.92x (UI thread 5.5 % of a core), 5 a second 0.85-1.13x, median
# ~1.0x (3.8 %). Five redraws a second still move the curve as it learns.
EPOCH_SIGNALS_PER_SECOND = 20
BATCH_SIGNALS_PER_SECOND = 5


# The worker's thread keeps its freed memory (glibc's thread arenas gave it back at every batch).
keep_freed_memory()


def describe_error(exc: BaseException) -> str:
    """The one line a person sees for an exception."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class TrainingWorker(QObject):
    """Runs ``trainer.run(epochs, control=control)`` on its thread.

    Stop, pause and live settings go to ``control`` (thread-safe); the trainer reads it
    between batches.
    """

    batch_finished = Signal(object)  # BatchStats, at most BATCH_SIGNALS_PER_SECOND per second
    # [EpochStats, ...] ended since the last emit, and a copy of the weights and layer state after
    # the last of them (state_dict): at most EPOCH_SIGNALS_PER_SECOND per second, so that tiny
    # epochs (XOR's four samples: thousands a second) cannot flood the UI thread; all at the end.
    epoch_finished = Signal(object, object)
    weights_published = Signal(object)  # a state_dict copy mid-epoch, at most live_rate per second
    finished = Signal(object)  # TrainResult
    failed = Signal(str)

    def __init__(self, trainer: Trainer, epochs: int, control: TrainingControl) -> None:
        super().__init__()
        self.trainer = trainer
        self.epochs = epochs
        self.control = control
        self._last_emit = self._last_end_emit = self._yielded = 0.0
        self._epochs: list[EpochStats] = []  # ended, not yet reported
        # When the UI thread finished with the last report (None: not yet). The next report waits
        # for it, so reports never queue up faster than the window handles them.
        self._delivered_at: float | None = 0.0
        self.live_rate = 0.0  # weights_published per second (0: off); set from the UI thread
        self._last_weights = 0.0

    def _on_batch(self, stats: BatchStats) -> None:
        now = time.monotonic()
        if now - self._yielded >= 0.002:  # tiny batches are pure Python: hand the window the GIL
            self._yielded = now
            time.sleep(0)
        rate = self.live_rate
        if rate > 0 and now - self._last_weights >= 1.0 / rate:  # the Inside area's live views
            self._last_weights = now
            self.weights_published.emit(self.trainer.network.state_dict())
        # every epoch's last batch too, but at most EPOCH_SIGNALS_PER_SECOND (tiny epochs would flood)
        if stats.batch == stats.batches and now - self._last_end_emit >= 1.0 / EPOCH_SIGNALS_PER_SECOND:
            self._last_end_emit = self._last_emit = now
            self.batch_finished.emit(stats)
        elif now - self._last_emit >= 1.0 / BATCH_SIGNALS_PER_SECOND:
            self._last_emit = now
            self.batch_finished.emit(stats)

    def epochs_delivered(self) -> None:
        """Called on the UI thread once it has handled an ``epoch_finished`` report."""
        self._delivered_at = time.monotonic()

    def _on_epoch(self, stats: EpochStats) -> None:
        self._epochs.append(stats)
        delivered = self._delivered_at
        if delivered is not None and time.monotonic() - delivered >= 1.0 / EPOCH_SIGNALS_PER_SECOND:
            self._delivered_at = None
            self._report_epochs()

    def _report_epochs(self) -> None:
        if self._epochs:
            epochs, self._epochs = self._epochs, []
            self.epoch_finished.emit(epochs, self.trainer.network.state_dict())

    @Slot()
    def run(self) -> None:
        try:
            result = self.trainer.run(self.epochs, self._on_batch, self._on_epoch, control=self.control)
        except Exception as exc:  # report, never crash the window
            traceback.print_exc()
            self.failed.emit(describe_error(exc))
            result = TrainResult("failed", describe_error(exc), self.trainer.epoch)
        self._report_epochs()
        self.finished.emit(result)


class TaskWorker(QObject):
    """Runs ``function(progress=..., should_stop=...)`` on its thread.

    ``function`` receives a ``progress(done, total, label)`` callback and a
    ``should_stop()`` check; its return value arrives through ``succeeded``.
    """

    progressed = Signal(int, int, str)  # done, total (0 if unknown), label
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, function: Callable[..., Any]) -> None:
        super().__init__()
        self.function = function
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def _progress(self, done: int, total: int | None, label: str = "") -> None:
        self.progressed.emit(int(done), int(total or 0), str(label))

    @Slot()
    def run(self) -> None:
        try:
            result = self.function(progress=self._progress, should_stop=self._stop.is_set)
        except Exception as exc:
            self.failed.emit(describe_error(exc))
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()
