"""What the network is asked to read: the pad's digits, my handwriting, a picture file, the test set.

``ReadingJobs`` is mixed into ``Controller`` (desktop/controller.py), which provides the session,
``display_network`` and ``network_name`` (what the pad reads with), ``data_dir``, ``dataset``
and its cache ``_datasets``, ``busy``, ``run_task``, ``start_training`` (a fine-tune is a short
run), ``_trainer``, ``_set_identity``, ``_replace_design`` and the ``error`` signal. Each job
copies the network it reads with on the UI thread (training or the pad may use the original
meanwhile), runs the engine off the UI thread through ``run_task`` and hands its result to a
callback on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from desktop.pictures import picture_work
from desktop.state import DataChoice, copy_network, design_key
from netcore.data.handwriting import MNIST_WITH_HANDWRITING, load_samples
from netcore.digits import digit_input_problem, pick_digit
from netcore.evaluation import evaluate
from netcore.experiment import DataSource, evaluate_on_test, fine_tune_settings
from netcore.network import Network
from netcore.train import TrainSettings


class ReadingJobs:
    """The digit pad's, my handwriting's, a picture's and the test set's jobs, for ``Controller``."""

    # -- the digit pad and my handwriting ------------------------------------------------------
    def digit_network(self) -> Network | None:
        """The network that reads digits (trained or shown); None after an error saying why."""
        network = self.session.network or self.display_network
        problem = "there is no network yet" if network is None else digit_input_problem(network)
        if problem:
            self.error.emit(f"cannot use my handwriting: {problem}")
            return None
        return network

    def fine_tune(self, settings: TrainSettings) -> None:
        """One epoch of the fine-tune recipe on MNIST plus my handwriting (the shipped reader: a copy)."""
        network = None if self.busy else self.digit_network()
        if network is None:
            return
        if network is not self.session.network:
            self.session.start(copy_network(network))
            self._trainer = None
            self._set_identity(
                trained=True, dirty=False, path=None, name=f"{self.network_name}, fine-tuned", epochs=0
            )
        self._replace_design(network.spec)
        recipe = fine_tune_settings(settings)
        self.start_training(network.spec, recipe, DataChoice(MNIST_WITH_HANDWRITING), epochs=recipe.epochs)

    def evaluate_handwriting(self, then: Callable[[int, dict], None]) -> None:
        """Figures of the digit network on every saved handwriting sample: ``then(count, figures)``."""
        network = self.digit_network()
        if network is None:
            return
        network = copy_network(network)

        def work(progress, should_stop):
            x, y = load_samples()
            if len(x) == 0:
                raise ValueError(
                    "there are no saved handwriting samples yet: draw digits and use 'Save to my handwriting'"
                )
            return len(x), evaluate(network, x.reshape((len(x),) + network.input_shape), y)

        self.run_task(work, lambda result: then(*result))

    def pick_test_digit(
        self, wrong: bool, then: Callable[[dict], None], failed: Callable[[str], None]
    ) -> None:
        """An MNIST test digit (one the pad's network misreads if ``wrong``), loaded off the UI thread.

        ``then`` gets {"image": (28, 28), "label", "index", "predicted"}; ``failed`` one line.
        """
        network = self.display_network
        if wrong and (network is None or digit_input_problem(network)):
            failed("a test digit the model gets wrong needs a model that reads digits")
            return
        network = copy_network(network) if wrong else None
        cached, data_dir = self.dataset(DataChoice("mnist")), self.data_dir
        seed = int(np.random.default_rng().integers(2**31))

        def work(progress, should_stop):
            from netcore.data.mnist import load_mnist

            data = cached or load_mnist(data_dir, download=False)
            index, predicted = pick_digit(data.x_test, data.y_test, np.random.default_rng(seed), network)
            return data, {
                "image": data.x_test[index].reshape(28, 28),
                "label": int(data.y_test[index]),
                "index": index,
                "predicted": predicted,
            }

        def picked(result) -> None:
            data, digit = result
            if self.data_dir == data_dir:
                self._datasets.setdefault(DataChoice("mnist").key(), data)
            then(digit)

        self.run_task(work, picked, failed)

    # -- a picture file (issue 17) ------------------------------------------------------------
    def classify_picture(
        self, path: str, then: Callable[[tuple], None], failed: Callable[[str], None]
    ) -> None:
        """Read the image file ``path`` with the pad's network off the UI thread (desktop/pictures.py).

        ``then((kind, reading, how, model name))``: kind "picture" with an ImageReading for a picture
        model; "digit" with ink (S, S) 0..1 for the pad of a digit model; else ``failed(one line)``.
        """
        network, name = self.display_network, self.network_name
        if network is None:
            failed("there is no model to read the picture with yet: train one or open a model")
            return
        mine = self.session.network  # the pad reads with it or its copy: its recipe and class names
        same = mine is not None and design_key(mine.spec) == design_key(network.spec)
        source = self.session.source if same else DataSource()
        try:
            work = picture_work(copy_network(network), source, path)
        except ValueError as exc:
            failed(f"cannot classify a picture with {name}: {exc}")
            return
        self.run_task(lambda progress, should_stop: (*work(), name), then, failed)

    # -- the test set -----------------------------------------------------------------------------
    def evaluate_test(self, then: Callable[[dict], None]) -> None:
        """Test figures of the current network, off the UI thread.

        After a fine-tune: ``accuracy`` on MNIST's test set and ``handwriting_accuracy`` on the
        held-out own samples (``handwriting_count`` of them).
        """
        network, choice = self.session.network, self.session.data_choice
        data = self.dataset(choice)
        if network is None or data is None or self.busy:
            return
        mnist = self.dataset(DataChoice("mnist")) if choice.name == MNIST_WITH_HANDWRITING else None
        network = copy_network(network)  # the pad may read with the original meanwhile

        def work(progress, should_stop):
            if mnist is None:
                return evaluate_on_test(network, data)
            figures = dict(evaluate_on_test(network, mnist), handwriting_count=len(data.y_test))
            if len(data.y_test):
                figures["handwriting_accuracy"] = evaluate_on_test(network, data)["accuracy"]
            return figures

        self.run_task(work, then)
