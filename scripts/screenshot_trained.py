"""Open the window, train the MNIST MLP template for a few epochs, draw a digit, save a PNG.

    NETCORE_DATA_DIR=../shared/datasets ../shared/tools/screenshot.sh /tmp/screen.png 60 -- \\
        python scripts/screenshot_trained.py resources/screenshots/studio.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "studio.png"
    from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.show()
    window._load_template("mnist_mlp")
    window.training.set_data_choice("mnist")
    window.training.epochs.setValue(4)
    window.training.val_split.setValue(0.1)

    def draw_seven() -> None:
        pad = window.digits.pad
        points = [(70, 60), (210, 60), (200, 90), (150, 170), (125, 235)]
        QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[0]))
        for x, y in points[1:]:
            QTest.mouseMove(pad, QPoint(x, y))
        QTest.mouseRelease(
            pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*points[-1])
        )

    def finished(_result) -> None:
        draw_seven()
        QTimer.singleShot(1500, save)

    def save() -> None:
        window.grab().save(out)
        print("saved", out)
        app.quit()

    window.controller.training_finished.connect(finished)
    QTimer.singleShot(1500, window.train)
    QTimer.singleShot(300000, app.quit)
    app.exec()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
