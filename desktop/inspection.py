"""The Qt side of the Inside area: when to compute what, off the UI thread, for which view.

``Inspection`` listens to the controller (weights published, epochs, training), the pad and
the designer's drawing, and runs netcore.inspect functions through ``Controller.run_task``.
Work is serialised (one inspection task at a time) and coalesced: a request replaces the
one of the same kind still waiting, so a fast run of tiny epochs or a quick drawing never
queues up work. Each kind has a minimum interval (the decision map at most 5 a second) and
is only computed while its view is visible; the live decision map also slows down when its
refreshes cost the UI thread more than ``UI_SHARE`` of its time (a large window, a slow
machine). The tasks read a replica of the network owned by this module (rebuilt when the
design changes, weights loaded from copies), so neither the network the worker trains nor the
pad's copy is ever touched off the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from desktop.state import DataChoice
from desktop.widgets.inside.confusion import MAX_GALLERY
from desktop.widgets.inside.pictures import class_blend
from netcore.digits import digit_input_problem
from netcore.inspect import (
    bounds_around,
    confusion,
    conv_filters,
    decision_grid,
    gradient_check,
    health_hints,
    health_series,
    saliency,
)
from netcore.network import Network

GRID = 200  # decision map points per side
LIVE_PER_SECOND = 5.0  # mid-epoch weight copies for the decision map
INTERVAL = {"decision": 1 / LIVE_PER_SECOND, "activations": 0.03, "confusion": 1.0}
LIVE_CONFUSION = 2000  # test samples the matrix covers while training (all of them otherwise)
CONFUSION_DUTY = 0.1  # the confusion matrix takes at most this share of wall time while training
# Batches of the confusion matrix's forward passes: 1024 (the engine's default) gives a CNN's
# im2col buffers of 80-160 MB, which sweep the 32 MB cache the training worker shares.
CONFUSION_BATCH = 128
UI_SHARE = 0.05  # a live decision map's show + repaint take at most this share of the UI thread


class Replica:
    """The network the inspection tasks run: one thread at a time (tasks are serialised)."""

    def __init__(self) -> None:
        self.network: Network | None = None

    def sync(self, spec: dict, dtype, weights: dict[str, np.ndarray]) -> Network:
        net = self.network
        if net is None or net.spec != spec or net.dtype != dtype:
            net = self.network = Network(spec, seed=0, dtype=dtype)
        net.load_state_dict(weights)
        return net


class Inspection(QObject):
    """Feeds ``views`` (an object with .decision .activations .confusion .health .gradcheck)."""

    def __init__(self, controller, views, designer, digits, parent: QObject | None = None) -> None:
        super().__init__(parent or controller)
        self.controller, self.views, self.designer, self.digits = controller, views, designer, digits
        self.visible: dict[str, bool] = dict.fromkeys(
            ("decision", "activations", "confusion", "health"), False
        )
        self.replica = Replica()
        self._source: Network | None = None  # the UI-thread network to copy weights from
        self._weights: dict[str, np.ndarray] | None = None  # or a copy the worker published
        self._version = 0
        self._done_version: dict[str, int] = {}
        self._waiting: dict[str, tuple[Callable, Callable]] = {}
        self._running: str | None = None
        self._last_start: dict[str, float] = {}
        self._last_cost: dict[str, float] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._pump)
        self._points_key: tuple | None = None
        self._bounds: tuple[tuple, tuple] | None = None  # (the data's key, the map's bounds)
        self._confusion = None  # (Confusion, Dataset)
        self._checking = False
        self._health_rows: list[dict] = []  # the history's rows that carry a health record
        self._health_timer = QTimer(self)  # at most one redraw a second, however short the epochs
        self._health_timer.setSingleShot(True)
        self._health_timer.setInterval(1000)
        self._health_timer.timeout.connect(lambda: self.refresh("health"))
        self.timings: dict[str, list[float]] = {k: [] for k in ("decision", "activations", "confusion")}
        self._connect()

    # -- wiring -------------------------------------------------------------------------------
    def _connect(self) -> None:
        c, v = self.controller, self.views
        c.network_changed.connect(self._on_controller_network_changed)
        c.weights_published.connect(self._on_controller_weights_published)
        c.epochs_finished.connect(self._on_controller_epochs_finished)
        c.training_started.connect(self._on_controller_training_started)
        c.training_finished.connect(lambda _result: (self.refresh("health"), self.refresh("confusion")))
        c.task_progressed.connect(self._on_controller_task_progressed)
        self.digits.pad.image_changed.connect(lambda: self.refresh("activations"))
        self.designer.view.neuron_hovered.connect(
            lambda layer, unit: v.decision.hover_neuron(None if layer < -1 else (layer, unit))
        )
        self.designer.view.neuron_clicked.connect(lambda layer, unit: v.decision.pin_neuron((layer, unit)))
        v.confusion.compute_requested.connect(self.compute_confusion)
        v.confusion.cell_clicked.connect(self.open_cell)
        v.confusion.image_clicked.connect(self.send_to_pad)
        v.gradcheck.check_requested.connect(self.check_gradients)

    def _on_controller_training_started(self, _planned: int) -> None:
        if not self.controller.history:  # a new run from new weights
            self._health_rows = []
        self._update_live()

    def set_visible(self, kind: str, visible: bool) -> None:
        """A view was shown or hidden (its dock's visibility): compute only for what is seen."""
        self.visible[kind] = visible
        self._update_live()
        if visible:
            self.refresh(kind)

    def _update_live(self) -> None:
        net = self._network_spec_source()
        two = net is not None and tuple(net.input_shape) == (2,)
        self.controller.set_live_weights(LIVE_PER_SECOND if self.visible["decision"] and two else 0.0)

    # -- what changed ---------------------------------------------------------------------------
    def _on_controller_network_changed(self, network: Network, _name: str) -> None:
        if self._source is None or network.spec != self._source.spec:
            self._forget()
        self._source, self._weights = network, None
        self._version += 1
        self._update_live()
        self.refresh("decision")
        self.refresh("activations")
        # while training too (the pad follows at most twice a second, and the matrix's duty cycle
        # bounds it): _forget above drops a matrix the epoch's end asked for while another job ran
        self.refresh("confusion")

    def _forget(self) -> None:
        """Another network: what the views show of the previous one goes (it would mislead)."""
        self._waiting.clear()
        self._confusion, self._points_key, self._bounds = None, None, None
        self._health_rows = [h for h in self.controller.history if h.get("health")]
        self.refresh("health")
        v = self.views
        v.decision.clear()
        v.activations.clear()
        v.confusion.clear()

    def _on_controller_weights_published(self, weights: dict[str, np.ndarray]) -> None:
        self._weights = weights
        self._version += 1
        self.refresh("decision")

    def _on_controller_epochs_finished(self, epochs: list) -> None:
        for stats in epochs:
            if stats.health is not None:  # recorded epochs only (about 100 per decade of a long run)
                self._health_rows.append({"epoch": stats.epoch, "health": stats.health})
                if not self._health_timer.isActive():
                    self._health_timer.start()
        self.refresh("confusion")

    def _network_spec_source(self) -> Network | None:
        return self.controller.session.network or self._source

    def _snapshot(self) -> tuple[dict, Any, dict[str, np.ndarray]] | None:
        """(spec, dtype, weights copy) of the newest weights, taken on the UI thread."""
        if self._weights is not None and self.controller.session.network is not None:
            net = self.controller.session.network  # only its spec and dtype are read
            return net.spec, net.dtype, self._weights
        if self._source is None:
            return None
        return self._source.spec, self._source.dtype, self._source.state_dict()

    # -- scheduling ---------------------------------------------------------------------------
    def refresh(self, kind: str) -> None:
        """Recompute ``kind`` for the newest weights if its view is visible (coalesced, rate-bounded)."""
        if kind not in INTERVAL and kind != "health" or not self.visible.get(kind):
            return  # the gradient check runs only when asked
        if kind == "health":
            self._show_health()
            return
        # the job is built when it starts: a burst of requests (tiny epochs) costs nothing here
        self._waiting[kind] = getattr(self, f"_job_{kind}")
        self._pump()

    def _pump(self) -> None:
        host = self.parent()
        if isinstance(host, QWidget) and not host.isVisible():  # the window has closed: start nothing
            self._waiting.clear()  # (a task started now would outlive the controller's shutdown)
            return
        for kind in [k for k in self._waiting if k in self.visible and not self.visible[k]]:
            del self._waiting[kind]  # its view was closed while the request waited
        if self._running is not None or not self._waiting:
            return
        now = time.monotonic()
        wait = {}
        for kind in self._waiting:
            gap = INTERVAL[kind]
            if kind == "confusion" and self.controller.busy:
                gap = max(gap, self._last_cost.get(kind, 0.0) / CONFUSION_DUTY)
            elif kind == "decision" and self.controller.busy:
                gap = max(gap, self.views.decision.ui_seconds() / UI_SHARE)
            wait[kind] = self._last_start.get(kind, -1e9) + gap - now
        kind = min(wait, key=wait.get)
        if wait[kind] > 0:
            self._timer.start(int(wait[kind] * 1000) + 1)
            return
        job = self._waiting.pop(kind)()
        if job is None:  # nothing to compute for it (after a message in its view)
            self._pump()
            return
        work, done = job
        self._running, self._last_start[kind] = kind, now

        def timed(progress, should_stop):
            start = time.perf_counter()
            result = work()
            return result, time.perf_counter() - start

        def finished(answer) -> None:
            result, seconds = answer
            self._last_cost[kind] = seconds
            self.timings[kind].append(seconds)
            self._running = None
            if shiboken6.isValid(self.views.decision):  # not a window closed meanwhile
                done(result)
                self._pump()

        def failed(message: str) -> None:
            self._running = None
            getattr(self.views, kind).show_message(message)
            self._pump()

        self.controller.run_task(timed, finished, failed)

    # -- decision boundary ---------------------------------------------------------------------
    def _job_decision(self):
        view, snap = self.views.decision, self._snapshot()
        if snap is None:
            return None
        spec, dtype, weights = snap
        data = self.controller.dataset(self.controller.data_choice)
        two_d = data is not None and data.input_shape == (2,)
        if list(spec.get("input_shape", [])) != [2]:
            view.clear()
            view.show_message(
                "The decision boundary needs a model with two input features (xor, spirals, moons…)."
            )
            return None
        data_key = (id(data), len(data.x_train), len(data.x_test)) if two_d else None
        if self._bounds is None or self._bounds[0] != data_key:  # once per dataset (100k points: 7 ms)
            points = (
                np.concatenate([data.x_train, data.x_test]) if two_d else np.array([[-1.5, -1.5], [1.5, 1.5]])
            )
            self._bounds = (data_key, bounds_around(points, 0.08))
        bounds = self._bounds[1]
        key = (data_key, bounds)
        if two_d and key != self._points_key:
            self._points_key = key
            view.show_points(data.x_train, data.y_train, data.x_test, data.y_test, data.class_names)
        replica = self.replica

        def work():  # the class picture too: 4 ms of NumPy the UI thread need not do
            grid = decision_grid(replica.sync(spec, dtype, weights), bounds, GRID)
            return grid, class_blend(grid.probabilities)

        return work, lambda answer: view.show_grid(*answer)

    # -- activations -----------------------------------------------------------------------------
    def _job_activations(self):
        view, reading, snap = self.views.activations, self.digits.reading(), self._snapshot()
        if snap is None:
            return None
        network = self.digits.network()
        problem = digit_input_problem(network) if network is not None else "there is no model yet"
        if problem:
            view.clear()
            view.show_message(f"Activations follow the pad's digit: {problem}.")
            return None
        if reading is None or reading.image is None:
            view.show_message(
                "Draw a digit on the pad (or pick a test digit) to see what every layer makes of it."
            )
            return None
        spec, dtype, weights = snap
        image = np.array(reading.image, dtype=np.float32)
        replica = self.replica

        def work():
            return activations(replica.sync(spec, dtype, weights), image)

        return work, view.show_activations

    # -- confusion ---------------------------------------------------------------------------------
    def _job_confusion(self, data=None):
        view, snap = self.views.confusion, self._snapshot()
        data = data or self.controller.dataset(self.controller.data_choice)
        if snap is None or data is None:
            return None
        spec, dtype, weights = snap
        if data.task != "classification" or not len(data.y_test):
            view.show_message("The confusion matrix needs a classifier and a test split.")
            return None
        replica, epochs = self.replica, len(self.controller.history)
        # while training, a prefix of the test split (its indices stay those of the full split)
        n = min(len(data.y_test), LIVE_CONFUSION) if self.controller.busy else len(data.y_test)

        def work():
            net = replica.sync(spec, dtype, weights)
            return confusion(net, data.x_test[:n], data.y_test[:n], batch_size=CONFUSION_BATCH), data

        def done(answer) -> None:
            self._confusion = answer
            result, data = answer
            part = (
                f" (the first {n:,} of {len(data.y_test):,} while training)" if n < len(data.y_test) else ""
            )
            view.show_confusion(
                result.matrix, data.class_names, (f" after epoch {epochs}" if epochs else "") + part
            )
            if view.cell is not None:
                self.open_cell(*view.cell)

        return work, done

    def compute_confusion(self) -> None:
        """On demand: load the chosen dataset if needed (idle only), then compute."""
        self.visible["confusion"] = True
        choice: DataChoice = self.controller.data_choice
        if self.controller.dataset(choice) is None:
            if self.controller.busy:
                return
            self.controller.load_dataset(choice, lambda data: self._queue(lambda: self._job_confusion(data)))
            return
        self.refresh("confusion")

    def _queue(self, factory) -> None:
        self._waiting["confusion"] = factory
        self._pump()

    def open_cell(self, true: int, predicted: int) -> None:
        if self._confusion is None:
            return
        result, data = self._confusion
        indices = result.cells[true][predicted]
        items = gallery_items(data, result, indices[:MAX_GALLERY])
        self.views.confusion.show_gallery(true, predicted, items, len(indices))

    def send_to_pad(self, index: int) -> None:
        """A gallery image onto the pad (digit inputs only); the activations view follows it."""
        if self._confusion is None:
            return
        result, data = self._confusion
        x = data.x_test[index]
        if x.size != 784:
            self.views.confusion.show_message("Only 28x28 digit images can go on the pad.")
            return
        digit = {"image": x.reshape(28, 28), "label": int(data.y_test[index]), "index": int(index),
                 "predicted": int(result.predicted[index])}  # fmt: skip
        self.digits.show_test_digit(digit)

    # -- health ------------------------------------------------------------------------------------
    def _show_health(self) -> None:
        rows, history = self._health_rows, self.controller.history
        if not rows or rows[-1]["epoch"] > len(history) or len(rows) > len(history):
            rows = self._health_rows = [h for h in history if h.get("health")]  # another network
        last = rows[-1]["health"] if rows else None
        try:
            hints = health_hints(last)
        except (ArithmeticError, KeyError, TypeError):  # a record the advice cannot read: plots only
            hints = []
        self.views.health.show_health(health_series(rows), hints)

    # -- gradient check ----------------------------------------------------------------------------
    def check_gradients(self) -> None:
        """Gradient check of the current design (with the trained weights if they are its own)."""
        if self._checking:
            return
        view = self.views.gradcheck
        if not self.designer.is_valid():
            view.show_failed(f"the design is not valid: {self.designer.validation_message()}")
            return
        spec = self.designer.spec()
        source = self._network_spec_source()
        model = spec
        if source is not None and source.spec == spec and not self.controller.busy:
            model = source  # gradient_check copies it to float64 and never changes it
        elif self._source is not None and self._source.spec == spec:
            model = self._source  # the pad's copy (UI thread): copied below before the task
        if isinstance(model, Network):
            from netcore.inspect.gradcheck import float64_network

            model = float64_network(model)
        self._checking = True
        view.show_progress(0, 1, "…")

        def work(progress, should_stop):
            step = lambda d, t, n: progress(d, t, f"gradient check: {n}")  # noqa: E731
            result = gradient_check(model, batch=4, progress=step)
            progress(len(result.tensors), len(result.tensors), "gradient check done")
            return result

        def done(result) -> None:
            self._checking = False
            if shiboken6.isValid(view):
                view.show_check(result)

        def failed(message: str) -> None:
            self._checking = False
            view.show_failed(message)

        self.controller.run_task(work, done, failed)

    def _on_controller_task_progressed(self, done: int, total: int, label: str) -> None:
        if self._checking and label.startswith("gradient check: "):
            self.views.gradcheck.show_progress(done, total, label.removeprefix("gradient check: "))


def activations(network: Network, image: np.ndarray) -> dict:
    """Every layer's output, the saliency map and the first conv filters for one (28, 28) image."""
    found = saliency(network, image)
    probabilities = network.loss.probabilities(found.scores)[0]
    layers = [(o.name, o.kind, np.array(o.output[0])) for o in found.layers]
    return {
        "image": image,
        "predicted": int(found.target[0]),
        "probabilities": np.asarray(probabilities),
        "saliency": found.map[0],
        "layers": layers,
        "filters": conv_filters(network),
    }


def gallery_items(data, result, indices: np.ndarray) -> list[dict]:
    """What the gallery shows for the test samples ``indices``: picture and top probabilities."""
    items = []
    for index in indices:
        p = result.probabilities[index]
        top = np.argsort(p)[::-1][:2]
        text = " · ".join(f"{k}: {p[k]:.0%}" for k in top)
        x = data.x_test[index]
        image = x.reshape(28, 28) if x.size == 784 else None
        if image is None:
            text = "(" + ", ".join(f"{v:.2f}" for v in x.reshape(-1)[:4]) + ") " + text
        items.append({"index": int(index), "image": image, "text": text})
    return items
