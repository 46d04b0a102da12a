"""Editors for one layer setting in the designer's form: spin boxes, combos, line edits.

``setting_editor`` picks the editor from the setting's name and value and returns it with a
function that shows a new value in it without emitting (the form refreshes after every
change, undo included, and must not echo it back as a new edit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from desktop.design import NEW_LAYER, format_shape, parse_shape
from desktop.design_edits import STEP_LIMITS
from netcore.layers.activations import ACTIVATIONS
from netcore.layers.dense import INITS

# Spinbox ranges (int) and (min, max, step, decimals) for float settings.
INT_RANGES = {**STEP_LIMITS, "kernel_size": (1, 31), "pool_size": (1, 16), "stride": (1, 16)}
FLOAT_RANGES = {
    "rate": (0.0, 0.95, 0.05, 2),
    "alpha": (0.0, 0.99, 0.01, 3),
    "momentum": (0.0, 0.999, 0.01, 3),
    "eps": (1e-8, 0.1, 1e-5, 8),
}
CHOICES = {
    "activation": [name for name in ACTIVATIONS if name != "none"],
    "init": list(INITS),
}
PADDINGS = ["valid", "same", "0", "1", "2"]


def setting_editor(
    kind: str, name: str, value: Any, default: Any, emit: Callable[[Any], None]
) -> tuple[QWidget, Callable[[Any], None]]:
    """An editor for setting ``name`` of a ``kind`` layer that calls ``emit(value)`` on each edit,
    and a function that shows a value in it (without signals)."""

    if name in INT_RANGES and (isinstance(value, int) or value is None):
        spin = QSpinBox()
        low, high = INT_RANGES[name]
        optional = default is None and name not in NEW_LAYER.get(kind, {})
        if optional:  # e.g. a pooling stride that defaults to the pool size
            low = 0
            spin.setSpecialValueText("default")
        spin.setRange(low, high)
        spin.valueChanged.connect(lambda v: emit(None if optional and v == 0 else v))
        return spin, lambda v: _set_value(spin, low if v is None else v)
    if name in FLOAT_RANGES and isinstance(value, (int, float)):
        spin = QDoubleSpinBox()
        low, high, step, decimals = FLOAT_RANGES[name]
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(decimals)
        spin.setStepType(QAbstractSpinBox.StepType.DefaultStepType)
        spin.valueChanged.connect(lambda v: emit(round(v, decimals)))
        return spin, lambda v: _set_value(spin, float(v))
    if name in CHOICES:
        combo = QComboBox()
        combo.addItems(CHOICES[name])
        combo.currentTextChanged.connect(emit)
        return combo, lambda v: _set_combo(combo, "linear" if v in (None, "none") else str(v))
    if name == "padding":
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(PADDINGS)
        combo.setToolTip('"valid" (none), "same" (keep the size) or a number of pixels')
        combo.currentTextChanged.connect(lambda t: emit(int(t) if t.strip().isdigit() else t.strip()))
        return combo, lambda v: _set_combo(combo, str(v))
    edit = QLineEdit()
    if name == "shape":
        edit.textEdited.connect(lambda t: emit(parse_shape(t)))
        return edit, lambda v: set_text(edit, format_shape(v), parse_shape)
    edit.textEdited.connect(lambda t: emit(_parse_value(t)))
    return edit, lambda v: set_text(edit, "" if v is None else json.dumps(v), _parse_value)


def narrow(combo: QComboBox) -> None:
    """Size a combo for about ten characters, not for its longest entry."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _set_value(spin: QSpinBox | QDoubleSpinBox, value: Any) -> None:
    if spin.value() != value:
        spin.blockSignals(True)
        spin.setValue(value)
        spin.blockSignals(False)


def _set_combo(combo: QComboBox, text: str) -> None:
    if combo.currentText() != text:
        combo.blockSignals(True)
        if combo.findText(text) < 0 and not combo.isEditable():
            combo.addItem(text)
        combo.setCurrentText(text)
        combo.blockSignals(False)


def set_text(edit: QLineEdit, text: str, parse: Any) -> None:
    """Show ``text`` unless the edit already says the same thing (keeps the cursor while typing)."""
    if parse(edit.text()) != parse(text):
        edit.setText(text)
