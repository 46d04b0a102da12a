"""The one way the window starts a QThread: ``Threads.launch`` (and ``run_task`` on top of it).

The controller owns one ``Threads``; it keeps a strong reference to every thread and worker
until the thread has finished (a QThread collected while running aborts the process), cancels
background tasks and waits for them on shutdown. Only the controller imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.worker import TaskWorker


class Threads(QObject):
    """Every running thread with its worker; signals and callbacks arrive on the UI thread."""

    task_progressed = Signal(int, int, str)  # done, total (0 if unknown), label

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._running: dict[QThread, QObject] = {}

    def launch(self, worker: QObject, on_thread_finished: Callable[[], None]) -> QThread:
        """Run ``worker.run`` on a new QThread (it quits when ``worker.finished`` is emitted).

        ``on_thread_finished`` must be a slot of a QObject on the UI thread (it is queued there)
        and should call ``retire(thread)``.
        """
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        thread.finished.connect(on_thread_finished)
        self._running[thread] = worker
        thread.start()
        return thread

    def retire(self, thread: QThread) -> None:
        """Forget a finished thread and its worker.

        ``finished`` is emitted from the thread just before it ends, and the ending thread itself
        deletes objects with a pending ``deleteLater``: so wait for it to end (microseconds), then
        let Python, which owns the worker, delete it here; a ``deleteLater`` on the worker as well
        raced that deletion and crashed the process about once in 30 runs.
        """
        thread.wait()
        self._running.pop(thread, None)
        thread.deleteLater()

    def run_task(
        self,
        function: Callable[..., Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[str], None],
    ) -> TaskWorker:
        """Run ``function(progress=, should_stop=)`` off the UI thread; callbacks run on the UI thread."""
        worker = TaskWorker(function)
        # A plain callable connected to a worker's signal would run on the worker's thread;
        # a relay living on this thread queues the callbacks onto the UI thread.
        relay = _Relay(on_success, on_failure, self)
        worker.progressed.connect(self.task_progressed)
        worker.succeeded.connect(relay.succeed)
        worker.failed.connect(relay.fail)
        thread = self.launch(worker, relay.done)
        relay.on_done = lambda: (self.retire(thread), relay.deleteLater())
        return worker

    def cancel_tasks(self) -> None:
        """Ask every running task to stop (a download checks between chunks)."""
        for worker in self._running.values():
            if isinstance(worker, TaskWorker):
                worker.request_stop()

    def wait_all(self, timeout_ms: int) -> None:
        for thread in list(self._running):
            if thread.isRunning():
                thread.quit()
                thread.wait(timeout_ms)

    def count(self) -> int:
        """Threads started and not yet retired."""
        return len(self._running)


class _Relay(QObject):
    """Calls back on the thread it lives on (the UI thread)."""

    def __init__(
        self, on_success: Callable[[Any], None], on_failure: Callable[[str], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._on_success, self._on_failure = on_success, on_failure
        self.on_done: Callable[[], None] = lambda: None

    @Slot(object)
    def succeed(self, result: Any) -> None:
        self._on_success(result)

    @Slot(str)
    def fail(self, message: str) -> None:
        self._on_failure(message)

    @Slot()
    def done(self) -> None:
        self.on_done()
