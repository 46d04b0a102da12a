"""Entry point: ``netcore-studio [FILE.npz|FILE.json ...]`` or ``python -m desktop``.

``--version`` and ``--install-desktop-entry`` answer without starting (or needing) Qt.
"""

from __future__ import annotations

import argparse
import os
import sys

import netcore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netcore-studio",
        description="Design a neural network, watch it learn live, draw digits for it.",
        epilog="Qt's own options (e.g. -platform offscreen) are passed on to Qt.",
    )
    parser.add_argument("--version", action="version", version=f"netcore-studio {netcore.__version__}")
    parser.add_argument("files", nargs="*", metavar="FILE", help="a model (.npz) or design (.json) to open")
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add netcore studio to the Linux applications menu (~/.local/share/applications) and exit",
    )
    entry.add_argument("--remove-desktop-entry", action="store_true", help="remove that menu entry and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    args, _ = build_parser().parse_known_args(argv[1:])  # the rest is Qt's (it removes its own)
    if args.install_desktop_entry or args.remove_desktop_entry:
        from desktop.desktop_entry import install_desktop_entry, remove_desktop_entry

        paths = install_desktop_entry() if args.install_desktop_entry else remove_desktop_entry()
        for path in paths:
            print(("wrote " if args.install_desktop_entry else "removed ") + str(path))
        return 0
    try:
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:  # typically a missing system library such as libEGL.so.1
        print(
            f"netcore-studio: Qt cannot start: {exc}\n"
            "  install the system libraries it needs: sudo scripts/install.sh "
            "(or apt-get install the packages in scripts/apt-packages.txt)",
            file=sys.stderr,
        )
        return 1

    from desktop.main_window import MainWindow
    from netcore.resources import icon_path

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("netcore studio")
    app.setOrganizationName("netcore")
    app.setApplicationVersion(netcore.__version__)
    app.setDesktopFileName("netcore-studio")
    icon = icon_path()
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    app.aboutToQuit.connect(window.controller.shutdown)
    window.show()
    for path in args.files:  # a Qt option's value lands here too; only existing .npz/.json open
        if path.endswith(".npz") and os.path.exists(path):
            window.open_model(path)
        elif path.endswith(".json") and os.path.exists(path):
            window.open_design(path)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
