"""The window's panels: docks the user can move, float, hide, tab and resize, and their defaults.

The design sits in the middle of the window; ``Panels.add`` puts any other view around it
in a titled dock (inside a scroll area unless told otherwise, so that no panel makes the
window taller or wider than a laptop screen). The View menu lists every dock's show/hide
action; ``reset`` puts them all back.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from desktop.widgets.frame import scrolled

Area = Qt.DockWidgetArea
Feature = QDockWidget.DockWidgetFeature


class Panels:
    """The docks of one main window, by name ("pad", "plot", "training", ...)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self._docks: dict[str, QDockWidget] = {}
        self._default = QByteArray()
        window.setDockNestingEnabled(True)

    def add(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Area,
        scroll: bool = True,
        beside: str | None = None,
    ) -> QDockWidget:
        """A titled dock holding ``widget`` in ``area``.

        ``scroll``: inside a scroll area; ``beside``: the name of a dock to split with (side
        by side); otherwise tabbed with the docks already in ``area``.
        """
        window = self.window
        dock = QDockWidget(title, window)
        dock.setObjectName(f"panel_{name}")  # saveState/restoreState find docks by this name
        dock.setWidget(scrolled(widget) if scroll else widget)
        dock.setFeatures(Feature.DockWidgetMovable | Feature.DockWidgetFloatable | Feature.DockWidgetClosable)
        others = [d for d in self._docks.values() if window.dockWidgetArea(d) == area]
        if beside is not None:
            window.splitDockWidget(self._docks[beside], dock, Qt.Orientation.Horizontal)
        elif others:
            window.tabifyDockWidget(others[-1], dock)
        else:
            window.addDockWidget(area, dock)
        self._docks[name] = dock
        return dock

    def __getitem__(self, name: str) -> QDockWidget:
        return self._docks[name]

    def docks(self) -> list[QDockWidget]:
        return list(self._docks.values())

    def remember_default(self) -> None:
        """The arrangement that ``reset`` goes back to (call once every dock is added)."""
        self._default = self.window.saveState()

    def reset(self) -> None:
        self.window.restoreState(self._default)
        for dock in self._docks.values():
            dock.show()
        self.size_defaults()

    def size_defaults(self) -> None:
        """The pad as wide as it needs (no sideways scrolling), the bottom row 40 % of the height."""
        window, docks = self.window, self._docks
        width, height = window.width(), window.height()
        pad = docks["pad"].widget()
        need = pad.widget().minimumSizeHint().width() + pad.verticalScrollBar().sizeHint().width() + 8
        window.resizeDocks([docks["pad"]], [min(need, width // 2)], Qt.Orientation.Horizontal)
        window.resizeDocks([docks["plot"]], [max(300, height * 2 // 5)], Qt.Orientation.Vertical)
        window.resizeDocks(
            [docks["plot"], docks["training"]], [width * 11 // 20, width * 9 // 20], Qt.Orientation.Horizontal
        )
