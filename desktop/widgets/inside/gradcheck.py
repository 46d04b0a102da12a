"""The result of a gradient check: one row per parameter tensor, relative error and pass/fail.

``show_check(result)`` takes a ``netcore.inspect.GradientCheck``; ``show_progress(done, total,
name)`` while it runs; the button emits ``check_requested``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("tensor", "layer", "shape", "checked", "relative error", "result")
PASS, FAIL = QColor(198, 246, 213), QColor(254, 215, 215)


class GradCheckView(QWidget):
    check_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result = None
        self.caption = QLabel(
            "Compares every parameter's backward-pass gradient with central differences in float64 "
            "on a small random batch (Train ▸ Check gradients)."
        )
        self.caption.setWordWrap(True)
        self.button = QPushButton("Check gradients")
        self.button.clicked.connect(self.check_requested)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)

    def show_progress(self, done: int, total: int, name: str) -> None:
        self.button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"checking {name} ({done + 1} of {total})")

    def show_failed(self, message: str) -> None:
        self.button.setEnabled(True)
        self.progress.setVisible(False)
        self.caption.setText(f"The gradient check could not run: {message}")

    def show_check(self, result) -> None:
        """A GradientCheck: tensors (name, layer, shape, checked, at_kinks, relative_error, passed)."""
        self.result = result
        self.button.setEnabled(True)
        self.progress.setVisible(False)
        self.table.setRowCount(len(result.tensors))
        for row, t in enumerate(result.tensors):
            checked = f"{t.checked}" + (f" (+{t.at_kinks} at kinks, skipped)" if t.at_kinks else "")
            cells = (t.name, t.layer, "×".join(map(str, t.shape)), checked, f"{t.relative_error:.2e}",
                     "pass" if t.passed else "FAIL")  # fmt: skip
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 5:
                    item.setBackground(PASS if t.passed else FAIL)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        worst = result.worst
        verdict = "All gradients agree" if result.passed else "Some gradients disagree"
        self.caption.setText(
            f"{verdict} with central differences (tolerance {result.tolerance:.0e}, float64, loss "
            f"{result.loss:.4g}); worst: {worst.name} at {worst.relative_error:.1e}."
            if worst else "The design has no parameters to check."
        )  # fmt: skip
