"""Screenshots of the Inside views after real runs (resources/screenshots/inside_*.png).

Trains a small ReLU MLP on the spirals (decision boundary, a neuron's map, training health),
then the MNIST CNN template for one epoch (confusion matrix and gallery, activations of a
gallery digit sent to the pad, the gradient check), grabbing each view under a real screen:

    SCREEN_SIZE=1366x768 NETCORE_DATA_DIR=../shared/datasets ../shared/tools/screenshot.sh \\
        /tmp/inside.png 900 -- python scripts/screenshot_inside.py resources/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPIRALS = {
    "input_shape": [2],
    "layers": [
        {"type": "dense", "units": 12, "activation": "relu"},
        {"type": "dense", "units": 12, "activation": "relu"},
        {"type": "dense", "units": 2},
    ],
    "loss": "softmax_cross_entropy",
}


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshots")
    cnn_epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.main_window import MainWindow
    from netcore.train import TrainSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, load_default_model=False)
    window.resize(1366, 740)
    window.show()
    inside, c = window.inside, window.controller
    steps = []

    def float_dock(kind: str, w: int = 820, h: int = 600):
        dock = inside.docks[kind]
        dock.show()
        dock.setFloating(True)
        dock.resize(w, h)
        return dock

    def grab(kind: str, name: str) -> None:
        picture = inside.docks[kind].grab()
        if kind == "activations":  # down to the last row drawn
            used = inside.activations.canvas.minimumHeight() + 100
            picture = picture.copy(0, 0, picture.width(), min(picture.height(), used))
        picture.save(str(out / f"inside_{name}.png"))
        print("saved", name, flush=True)

    def later(ms: int, fn) -> None:
        QTimer.singleShot(ms, fn)

    # -- stage A: spirals -------------------------------------------------------------------
    def spirals() -> None:
        window.designer.set_spec(SPIRALS)
        window.training.set_data_choice("spirals", {"n": 400, "noise": 0.1})
        window.training.set_settings(TrainSettings(epochs=400, batch_size=16, optimizer="adam", lr=0.01))
        float_dock("decision", 760, 600).move(600, 20)
        float_dock("health", 900, 640).move(40, 60)
        steps.append(spirals_done)
        window.train()

    def spirals_done() -> None:
        later(1500, lambda: (grab("decision", "decision"), grab("health", "health"), neuron()))

    def neuron() -> None:
        window.designer.view.neuron_clicked.emit(1, 4)
        later(600, lambda: (grab("decision", "neuron"), cnn()))

    # -- stage B: the MNIST CNN ------------------------------------------------------------
    def cnn() -> None:
        for kind in ("decision", "health"):
            inside.docks[kind].hide()
        window._load_template("mnist_cnn")  # asks about the spirals' unsaved weights: discard them
        for box in window.findChildren(QMessageBox):
            if box.isVisible():
                box.button(QMessageBox.StandardButton.Discard).click()
        window.training.set_data_choice("mnist")
        window.training.epochs.setValue(cnn_epochs)
        float_dock("confusion", 760, 700).move(560, 10)
        float_dock("activations", 640, 1160).move(10, 0)
        steps.append(cnn_done)
        window.train()

    def cnn_done() -> None:
        later(500, wait_confusion)

    def wait_confusion() -> None:
        matrix = inside.confusion.matrix
        if matrix is None or len(matrix) != 10 or window.inspection._running or window.inspection._waiting:
            later(500, wait_confusion)
            return
        matrix = inside.confusion.matrix.copy()
        np.fill_diagonal(matrix, 0)
        t, p = np.unravel_index(int(matrix.argmax()), matrix.shape)
        window.inspection.open_cell(int(t), int(p))
        later(800, pick_image)

    def pick_image() -> None:
        gallery = inside.confusion.gallery
        item = gallery.item(0)
        QTest.mouseClick(
            gallery.viewport(), Qt.MouseButton.LeftButton, pos=gallery.visualItemRect(item).center()
        )
        later(2500, lambda: (grab("confusion", "confusion"), grab("activations", "activations"), gradcheck()))

    def gradcheck() -> None:
        float_dock("gradcheck", 820, 420).move(300, 200)
        window.check_gradients()
        later(1000, wait_gradcheck)

    def wait_gradcheck() -> None:
        if inside.gradcheck.result is None:
            later(500, wait_gradcheck)
            return
        later(300, lambda: (grab("gradcheck", "gradcheck"), quit_now()))

    c.training_finished.connect(lambda _r: steps.pop(0)() if steps else None)
    c.error.connect(lambda m: print("error:", m, flush=True))
    later(1000, spirals)

    def quit_now() -> None:
        window.close_discarding()  # a window with unsaved weights refuses to close (and so to quit)
        app.quit()

    later(1500000, quit_now)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
