"""Entry point: ``netcore-studio`` or ``python -m desktop``."""

from __future__ import annotations

import os
import sys

# The worker thread trains in NumPy, the UI thread paints in Python (pyqtgraph); both need the
# GIL. CPython hands it over only every 5 ms by default, and every slot or paint callback waits
# for one hand-over. A 1 ms interval lets the window in five times as often.
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import ROOT, MainWindow

    argv = sys.argv if argv is None else argv
    share_the_interpreter()
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("netcore studio")
    app.setOrganizationName("netcore")
    icon = ROOT / "resources" / "icons" / "netcore.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    app.aboutToQuit.connect(window.controller.shutdown)
    app.aboutToQuit.connect(window.digits.shutdown)
    window.show()
    for path in argv[1:]:
        if path.endswith(".npz") and os.path.exists(path):
            window.open_model(path)
        elif path.endswith(".json") and os.path.exists(path):
            window.open_design(path)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
