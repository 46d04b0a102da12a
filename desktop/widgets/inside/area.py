"""The Inside area: the five views, each in a dock of its own (tabbed together by default)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from desktop.widgets.inside.activations import ActivationsView
from desktop.widgets.inside.confusion import ConfusionView
from desktop.widgets.inside.decision import DecisionView
from desktop.widgets.inside.gradcheck import GradCheckView
from desktop.widgets.inside.health import HealthView

TITLES = {
    "decision": "Decision boundary",
    "activations": "Activations",
    "confusion": "Confusion matrix",
    "health": "Training health",
    "gradcheck": "Gradient check",
}
SHORTCUTS = {
    "decision": "Alt+1",
    "activations": "Alt+2",
    "confusion": "Alt+3",
    "health": "Alt+4",
    "gradcheck": "Alt+5",
}


class InsideArea:
    """Holds the views (``.decision`` ... ``.gradcheck``) and their docks (``.docks[kind]``)."""

    def __init__(self) -> None:
        self.decision, self.activations = DecisionView(), ActivationsView()
        self.confusion, self.health, self.gradcheck = ConfusionView(), HealthView(), GradCheckView()
        self.docks: dict[str, QDockWidget] = {}

    def dock_into(self, window: QMainWindow, area=Qt.DockWidgetArea.RightDockWidgetArea) -> None:
        """Add one dock per view to ``window``, tabbed, hidden until the user opens one."""
        first = None
        for kind, title in TITLES.items():
            dock = QDockWidget(title, window)
            dock.setObjectName(f"inside_{kind}")  # saveState/restoreState key
            dock.setWidget(getattr(self, kind))
            dock.toggleViewAction().setShortcut(SHORTCUTS[kind])
            dock.toggleViewAction().setStatusTip(f"Show or hide the {title.lower()} (Inside)")
            window.addDockWidget(area, dock)
            if first is None:
                first = dock
            else:
                window.tabifyDockWidget(first, dock)
            dock.hide()
            self.docks[kind] = dock

    def actions(self) -> list:
        """The View menu's entries: one checkable action per dock."""
        return [dock.toggleViewAction() for dock in self.docks.values()]
