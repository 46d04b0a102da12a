"""Entry point: ``netcore-studio`` or ``python -m desktop``."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import ROOT, MainWindow

    argv = sys.argv if argv is None else argv
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("netcore studio")
    app.setOrganizationName("netcore")
    icon = ROOT / "resources" / "icons" / "netcore.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    app.aboutToQuit.connect(window.controller.shutdown)
    window.show()
    for path in argv[1:]:
        if path.endswith(".npz") and os.path.exists(path):
            window.open_model(path)
        elif path.endswith(".json") and os.path.exists(path):
            window.open_design(path)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
