"""How long a template's epoch took on this machine, remembered for the template menu's tips."""

from __future__ import annotations

import statistics
from typing import Any

from PySide6.QtWidgets import QMenu

from desktop.design import template_entry, template_spec
from desktop.state import design_key
from desktop.widgets.training import format_seconds
from desktop.window_settings import WindowSettings


def measure(spec: dict[str, Any], history: list[dict[str, Any]], memory: WindowSettings) -> None:
    """Remember the median time of the last whole epochs, if ``spec`` is a template left unchanged."""
    name = str(spec.get("name"))
    template = template_spec(name)
    if template is None or design_key(template) != design_key(spec):
        return
    seconds = [row["seconds"] for row in history if row.get("fraction", 1.0) == 1.0 and row.get("seconds")]
    if seconds:
        memory.remember_template_seconds(name, statistics.median(seconds[-5:]))


def refresh_tips(menu: QMenu, memory: WindowSettings) -> None:
    """Each template's description and expected result, and its time per epoch here if known."""
    for action in menu.actions():
        name = action.data()
        _, _, tip = template_entry(name)
        if (seconds := memory.template_seconds(name)) is not None:
            took = format_seconds(seconds) if seconds >= 1 else f"{seconds:.2g} s"
            tip += f" Here: {took} per epoch (measured on this machine)."
        action.setToolTip(tip)
        action.setStatusTip(tip)
