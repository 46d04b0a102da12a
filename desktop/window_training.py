"""The main window's Train-menu slots, and what the window does when a run starts and ends.

``TrainingActions`` is mixed into ``MainWindow``, which provides the views, the controller and
``memory``; every slot is one controller call or a few view updates.
"""

from __future__ import annotations

from desktop import template_times
from desktop.state import loss_hint
from netcore.train import BatchStats, EpochStats, TrainResult, TrainSettings


class TrainingActions:
    """Train / Step / Pause / Reset / fine-tune for ``MainWindow``; the run's start and end."""

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
