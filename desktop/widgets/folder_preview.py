"""File > Import image folder: a few pictures per class, the class names and counts, the options.

The dialog draws the ``netcore.data.folder_preview.Preview`` it is handed and emits requests:
``options_changed(options)`` when the size, mode or fit changes (the window computes a new
preview off the UI thread and hands it back with ``show_preview``), ``accepted(options)`` on
"Add dataset". ``options``: {"size": None | (H, W), "mode": "auto"|"grey"|"rgb", "fit": "pad"|"crop"}.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.pictures import picture_pixmap
from netcore.data.dataset import DataError
from netcore.data.folder import BYTES_PER_VALUE, DEFAULT_MEMORY_MB, parse_size
from netcore.data.folder_preview import Preview

THUMB = 48  # px, the longer side of each picture in the grid
MODES = [("automatic (colour if any picture has it)", "auto"), ("grey", "grey"), ("RGB colour", "rgb")]
FITS = [("pad: keep the whole picture", "pad"), ("crop: fill the frame, cut the centre", "crop")]


def memory_line(pictures: int, shape: tuple[int, int, int]) -> str:
    """About how much memory the decoded set takes, against the loader's budget."""
    need = pictures * shape[0] * shape[1] * shape[2] * BYTES_PER_VALUE / 2**20
    text = f"about {need:,.0f} MB in memory" if need >= 10 else f"about {need:.1f} MB in memory"
    over = need > DEFAULT_MEMORY_MB
    budget = f"over the budget of {DEFAULT_MEMORY_MB:,} MB" if over else f"budget {DEFAULT_MEMORY_MB:,} MB"
    return f"{text} ({budget}{': an automatic size is reduced to fit' if over else ''})"


class FolderPreviewDialog(QDialog):
    options_changed = Signal(dict)
    accepted_options = Signal(dict)

    def __init__(self, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import image folder")
        self.folder = folder
        self._preview: Preview | None = None
        self._auto = ""  # "28x28", the engine's automatic size as last shown

        self.heading = QLabel(folder)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.size = QLineEdit()
        self.size.setToolTip("A side (32) or HEIGHTxWIDTH (32x24); empty: the median size, at most 64")
        self.mode = QComboBox()
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.fit = QComboBox()
        for label, value in FITS:
            self.fit.addItem(label, value)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b91c1c;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        form = QFormLayout()
        form.addRow("Input size", self.size)
        form.addRow("Colour", self.mode)
        form.addRow("Fit", self.fit)

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(4)
        area = QScrollArea()
        area.setWidget(self.grid_host)
        area.setWidgetResizable(True)
        area.setMinimumSize(560, 300)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add dataset", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setEnabled(False)
        self.buttons.accepted.connect(self._on_add_clicked)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addWidget(area, 1)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        self.size.editingFinished.connect(self._on_option_edited)
        self.mode.currentIndexChanged.connect(self._on_option_edited)
        self.fit.currentIndexChanged.connect(self._on_option_edited)
        self.requested = self._read_options()  # the options of the preview last asked for
        self.show_waiting()
        screen = self.screen().availableGeometry()
        self.resize(min(760, screen.width() - 40), min(640, screen.height() - 60))

    # -- what the window hands over ----------------------------------------------------------
    def show_waiting(self) -> None:
        self.summary.setText("reading a few pictures of each class…")
        self.add_button.setEnabled(False)

    def show_preview(self, preview: Preview) -> None:
        """Draw ``preview``: one row per class (its name and count, then its pictures)."""
        self._preview = preview
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for row, (name, count) in enumerate(zip(preview.class_names, preview.counts.tolist(), strict=True)):
            label = QLabel(f"<b>{name}</b><br>{count:,} pictures")
            label.setObjectName(f"class_{row}")
            self.grid.addWidget(label, row, 0)
            for col in range(preview.images.shape[1]):
                if preview.filled[row, col]:
                    cell = QLabel()
                    cell.setPixmap(picture_pixmap(preview.images[row, col], THUMB))
                    self.grid.addWidget(cell, row, col + 1)
        self.grid.setColumnStretch(preview.images.shape[1] + 1, 1)
        c, h, w = preview.images.shape[2:]
        if self.size.text().strip() == "":
            self._auto = f"{h}x{w}"
            self.size.setPlaceholderText(f"automatic: {h}x{w} (the median size, at most 64)")
        total = int(preview.counts.sum())
        colour = "grey" if c == 1 else "colour"
        self.summary.setText(
            f"{len(preview.class_names)} classes · {total:,} pictures · each read as {colour} "
            f"{c}x{h}x{w} · {memory_line(total, (c, h, w))}"
        )
        self.add_button.setEnabled(total > 0)

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
        if text:
            self.summary.setText("no preview")

    # -- what is shown ---------------------------------------------------------------------------
    def class_rows(self) -> list[str]:
        """The text of each class row, top to bottom (for the tests and screen readers)."""
        rows = [self.grid.itemAtPosition(r, 0) for r in range(self.grid.rowCount())]
        return [item.widget().text() for item in rows if item is not None and item.widget() is not None]

    def options(self) -> dict:
        """The options as chosen (ValueError with the reason when the size is not one)."""
        try:
            size = parse_size(self.size.text().strip() or None)
        except DataError as exc:
            raise ValueError(str(exc)) from None
        return {"size": size, "mode": self.mode.currentData(), "fit": self.fit.currentData()}

    def _read_options(self) -> dict | None:
        try:
            options = self.options()
        except ValueError as exc:
            self.show_problem(str(exc))
            self.add_button.setEnabled(False)
            return None
        self.show_problem("")
        return options

    def _on_option_edited(self, *_) -> None:
        options = self._read_options()
        if options is not None and options != self.requested:
            self.requested = options
            self.show_waiting()
            self.options_changed.emit(options)
        elif options is not None and self._preview is not None:
            self.add_button.setEnabled(True)

    def _on_add_clicked(self) -> None:
        options = self._read_options()
        if options is None:
            return
        if options != self.requested:  # typed but not yet previewed: show it first
            self._on_option_edited()
            return
        self.accepted_options.emit(options)
        self.accept()
