"""Screenshots of issue 17's window side: the image-folder preview and a classified picture.

    NETCORE_DATA_DIR=../shared/datasets SCREEN_SIZE=1366x768 ../shared/tools/screenshot.sh \\
        /tmp/screen.png 240 -- python scripts/screenshot_folders.py resources/screenshots

Builds a folder of MNIST test digits at mixed sizes, tinted per class (300 pictures), opens
File > Import image folder's preview (folder_preview.png), adds it, loads the color_cnn
template (sized to the folder), trains 3 epochs and reads a dropped-in picture
(classify_image.png). Both are grabs of the whole screen.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINTS = [(220, 40, 40), (230, 130, 20), (200, 180, 0), (60, 170, 60), (20, 150, 160),
         (40, 90, 220), (120, 60, 200), (200, 50, 150), (110, 80, 50), (90, 90, 90)]  # fmt: skip
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def make_folder(root: Path, per_class: int = 30) -> Path:
    from PIL import Image

    from netcore.data.mnist import load_mnist

    data = load_mnist(download=False)
    rng = np.random.default_rng(0)
    for k, name in enumerate(NAMES):
        (root / name).mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(data.y_test == k)[:per_class]):
            ink = data.x_test[index].reshape(28, 28, 1)
            paper = np.array([245, 240, 230], np.float32)
            rgb = paper * (1 - ink) + np.array(TINTS[k], np.float32) * ink
            side = int(rng.integers(24, 41))
            im = Image.fromarray(rgb.astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR)
            im.save(root / name / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    return root


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    temp = Path(tempfile.mkdtemp())
    folder = make_folder(temp / "tinted_digits")
    settings = QSettings(str(temp / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.controller.data_dir = str(temp / "data")
    window.resize(window.screen().availableGeometry().size())
    window.show()
    window.hint.dismiss()
    window.reset_layout()

    def grab(name: str) -> None:
        window.screen().grabWindow(0).save(str(out / name))
        print("saved", out / name)

    def previewed() -> None:
        dialog = window.pictures.preview_dialog
        if not dialog.add_button.isEnabled():
            QTimer.singleShot(300, previewed)
            return
        QTimer.singleShot(500, lambda: (grab("folder_preview.png"), dialog.add_button.click()))
        QTimer.singleShot(1500, template)

    def template() -> None:
        if window.controller.busy:
            QTimer.singleShot(300, template)
            return
        window._load_template("color_cnn")
        window.training.epochs.setValue(3)
        QTimer.singleShot(1500, window.train)

    def trained(_result) -> None:
        window.pictures.classify(str(folder / "seven" / "005.png"))
        QTimer.singleShot(2500, lambda: (grab("classify_image.png"), finish()))

    def finish() -> None:
        window.close_discarding()
        app.quit()

    window.controller.training_finished.connect(trained)
    window.pictures.preview(str(folder))
    QTimer.singleShot(800, previewed)
    QTimer.singleShot(400000, app.quit)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
