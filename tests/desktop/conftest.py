"""Fixtures for the window tests: offscreen Qt, a tiny digit network, drawing helpers."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from netcore.network import Network  # noqa: E402
from netcore.train import Trainer, TrainSettings  # noqa: E402

BAR_SPEC = {"input_shape": [784], "layers": [{"type": "dense", "units": 10}], "loss": "softmax_cross_entropy"}
# Image input for the designer tests: a dense layer can only come after the flatten.
IMAGE_NET = {
    "input_shape": [1, 8, 8],
    "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}],
    "loss": "softmax_cross_entropy",
}


def bar_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-framed bars: vertical ones are class 1, horizontal ones class 0.

    Shapes: x (n, 784) float32 in 0..1, y (n,) int64. Each bar is 16-20 px long and about
    3 px wide (a soft edge on each side), centred near (14, 14) like a preprocessed digit.
    """
    x = np.zeros((n, 28, 28), np.float32)
    y = np.arange(n, dtype=np.int64) % 2
    for i in range(n):
        length = int(rng.integers(16, 21))
        col = int(rng.integers(12, 16))
        top = 14 - length // 2
        img = x[i]
        img[top : top + length, col - 1 : col + 1] = 1.0
        img[top : top + length, [col - 2, col + 1]] = 0.5
        if y[i] == 0:
            x[i] = img.T.copy()
    return x.reshape(n, 784), y


@pytest.fixture(scope="session")
def bar_network() -> Network:
    """A 784 -> 10 softmax layer that tells vertical strokes (1) from horizontal ones (0)."""
    x, y = bar_images(200, np.random.default_rng(0))
    net = Network(BAR_SPEC, seed=0)
    Trainer(net, TrainSettings(epochs=5, batch_size=32, lr=0.01), x, y).run()
    assert net.evaluate(x, y)["accuracy"] == 1.0
    return net


def draw_stroke(widget, points: list[tuple[int, int]]) -> None:
    """Press at the first point, move through the others with the left button held, release."""
    first, *rest = [QPoint(*p) for p in points]
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, first)
    for p in rest:
        QTest.mouseMove(widget, p)
    end = rest[-1] if rest else first
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def line(x0: int, y0: int, x1: int, y1: int, steps: int = 12) -> list[tuple[int, int]]:
    """Points along a straight line, as a hand moving the mouse would send them."""
    return [(round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)) for t in np.linspace(0, 1, steps + 1)]


@pytest.fixture(autouse=True)
def discard_unsaved_when_asked(monkeypatch):
    """A test that does not answer the save prompt gets Discard (a test that asks patches it again)."""
    from desktop import messages

    answers = []

    def answer(parent, text, then, can_save=True):
        answers.append(text)
        then("discard")

    monkeypatch.setattr(messages, "ask_unsaved", answer)
    return answers


@pytest.fixture
def window(qtbot, tmp_path):
    """A main window with a settings file of its own and no shipped model; its threads stopped after.

    Test modules adapt it by overriding: ``def window(window): window._load_template("xor"); ...``.
    """
    from desktop.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, load_default_model=False)
    qtbot.addWidget(w)
    yield w
    w.controller.shutdown()
