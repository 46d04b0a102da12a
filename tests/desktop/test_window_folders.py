"""The window side of "Your own pictures" (issue 17): import an image folder with a preview,
train on it, classify a dropped picture; the colour template keeps the picture folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QThread, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QPushButton

from desktop import file_dialogs
from desktop.image_folders import NEEDS_FOLDER, PAD_HINT
from netcore.experiment import DataSource, saved_model
from netcore.network import Network
from netcore.serialization import save_model
from netcore.train import Trainer, TrainSettings
from tests.conftest import small_cnn

TINTS = {"blue": (40, 60, 220), "green": (40, 200, 60), "red": (220, 40, 40)}
PER_CLASS = 12
TINY_CNN = small_cnn((3, 16, 16), 3, name="tiny_cnn")


def picture(rng: np.random.Generator, tint: tuple[int, int, int]) -> Image.Image:
    """A tinted blob on a light background, 14 to 22 pixels a side (mixed sizes)."""
    h, w = (int(v) for v in rng.integers(14, 23, 2))
    a = np.full((h, w, 3), 235, np.uint8)
    top, left = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
    a[top : top + h // 2, left : left + w // 2] = tint
    a = np.clip(a.astype(int) + rng.integers(-15, 16, a.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """photos/<tint>/<i>.png, 12 per class, and one corrupt file in red/."""
    root = tmp_path_factory.mktemp("pictures") / "photos"
    rng = np.random.default_rng(0)
    for name, tint in TINTS.items():
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            picture(rng, tint).save(root / name / f"{i:02d}.png")
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture at all")
    return root


@pytest.fixture
def window(window, tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_DATA_DIR", str(tmp_path / "data"))  # the decoded-pixel cache
    window.controller.data_dir = str(tmp_path / "data")
    window.resize(1366, 768)
    window.show()
    return window


def drop_file(target, path: Path) -> QMimeData:
    """Drag ``path`` over ``target`` and drop it there, as the desktop's file manager would."""
    mime = QMimeData()  # kept by the caller: Qt does not own it, a temporary one is freed too early
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = target.rect().center()
    actions, none = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(centre), actions, mime, Qt.MouseButton.LeftButton, none)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), actions, mime, Qt.MouseButton.LeftButton, none)
    QApplication.sendEvent(target, drop)
    assert drop.isAccepted()
    return mime


def import_folder(qtbot, window, monkeypatch, folder: Path, size: str = "16"):
    """File > Import image folder… up to the preview at ``size``; returns the dialog."""
    monkeypatch.setattr(file_dialogs, "folder", lambda *a: str(folder))
    window.act_import_folder.trigger()
    dialog = window.pictures.preview_dialog
    qtbot.waitUntil(lambda: dialog.add_button.isEnabled(), timeout=20000)
    dialog.size.setText(size)
    dialog.size.editingFinished.emit()
    qtbot.waitUntil(
        lambda: dialog.add_button.isEnabled() and f"3x{size}x{size}" in dialog.summary.text(), timeout=20000
    )
    return dialog


def add_and_load(qtbot, window, dialog) -> None:
    dialog.add_button.click()
    qtbot.waitUntil(lambda: window.pictures.last_message is not None, timeout=30000)


def test_import_preview_train_and_classify_a_dropped_picture(qtbot, window, folder, monkeypatch):
    dialog = import_folder(qtbot, window, monkeypatch, folder)
    # the preview: one row per class, its name and its count (the corrupt file is not counted once
    # it fails to decode, but the listing counts files: red has 13 files)
    rows = dialog.class_rows()
    assert [r.split("<br>")[0] for r in rows] == [f"<b>{n}</b>" for n in sorted(TINTS)]
    assert [r.split("<br>")[1] for r in rows] == ["12 pictures", "12 pictures", "13 pictures"]
    assert "3 classes · 37 pictures" in dialog.summary.text()
    assert "MB in memory" in dialog.summary.text()
    preview = window.pictures.preview_dialog._preview
    assert preview.images.shape[2:] == (3, 16, 16) and preview.filled.all()
    red = preview.images[2, 0].reshape(3, -1).min(axis=1)  # the darkest pixels of a red picture
    assert red[0] > red[1] + 0.3 and red[0] > red[2] + 0.3

    add_and_load(qtbot, window, dialog)
    choice = window.training.data_choice()
    assert choice.name == f"folder:{folder}"
    assert choice.options == {"size": (16, 16), "mode": "auto", "fit": "pad"}
    assert window.training.dataset.currentText() == "Folder: photos"
    message = window.pictures.last_message
    assert "1 file skipped: red/broken.png" in message and "3 classes, each 3x16x16" in message
    assert window.last_info == message  # shown in a box: a skipped file is worth a second look

    # one short epoch of a tiny CNN on it, through the Train button's path
    window.designer.set_spec(TINY_CNN)
    window.training.epochs.setValue(1)
    window.training.batch_size.setValue(8)
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000) as finished:
        window.train()
    assert finished.args[0].status == "finished", finished.args[0].message
    assert len(window.controller.history) == 1
    assert window.controller.session.source.preprocessing["image"]["size"] == [16, 16]

    # a picture dropped on the window: the dialog shows the top classes and the fitted input
    qtbot.waitUntil(lambda: window.controller.display_network is window.controller.network, timeout=10000)
    keep = drop_file(window, folder / "green" / "03.png")
    qtbot.waitUntil(lambda: window.pictures.reading_dialog is not None, timeout=20000)
    dialog = window.pictures.reading_dialog
    assert dialog.isVisible()
    names = [name for name, _ in dialog.top_classes()]
    assert sorted(names) == sorted(TINTS)
    assert sum(p for _, p in dialog.top_classes()) == pytest.approx(1.0, abs=1e-4)
    assert "RGB 16x16" in dialog.caption.text()
    assert not dialog.picture.pixmap().isNull()
    assert window.digits.pad.message() == PAD_HINT  # the pad cannot read this model's input: it says what can
    del keep


def test_loading_shows_the_engines_count_and_cancel_keeps_the_choice(qtbot, window, folder, monkeypatch):
    import netcore.data.folder as engine
    from netcore.data.folder import LoadCancelled

    started = []

    def slow_decode(paths, size, mode, fit, workers, progress, should_stop, label):
        progress(5, len(paths), label)  # the engine's own label and count
        started.append(True)
        for _ in range(1000):  # until Cancel is pressed
            if should_stop():
                raise LoadCancelled("cancelled")
            QThread.msleep(10)
        raise AssertionError("Cancel never arrived")

    monkeypatch.setattr(engine, "decode_all", slow_decode)
    labels = []
    window.controller.task_progressed.connect(lambda done, total, label: labels.append((done, total, label)))
    dialog = import_folder(qtbot, window, monkeypatch, folder, size="12")
    dialog.add_button.click()
    qtbot.waitUntil(lambda: bool(started), timeout=20000)
    assert window.controller.state == "loading"
    window._download_dialog.findChild(QPushButton).click()  # the progress dialog's Cancel button
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=20000)
    assert (5, 37, "decoding pictures in photos: 5 of 37") in labels
    assert window._download_dialog is None  # closed
    assert "cancelled" in window.training.progress.format()
    assert window.last_error is None  # a cancel is no error
    choice = window.training.data_choice()
    assert choice.name == f"folder:{folder}" and window.controller.dataset(choice) is None


def test_a_model_that_reads_no_pictures_says_so(qtbot, window, tmp_path):
    xor = Network({"name": "xor", "input_shape": [2], "layers": [{"type": "dense", "units": 2}],
                   "loss": "softmax_cross_entropy"}, seed=0)  # fmt: skip
    trainer = Trainer(xor, TrainSettings(epochs=1), np.zeros((4, 2), np.float32), np.zeros(4, np.int64))
    path = tmp_path / "xor.npz"
    save_model(saved_model(trainer, DataSource({"name": "xor"})), path)
    with qtbot.waitSignal(window.controller.network_changed, timeout=10000):
        window.controller.open_reader(str(path), "xor model")
    picture(np.random.default_rng(1), TINTS["red"]).save(tmp_path / "photo.png")
    keep = drop_file(window.digits, tmp_path / "photo.png")  # on the pad panel
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=10000)
    assert window.last_error.startswith("cannot classify a picture with xor model: this network takes 2")
    assert "Import image folder" in window.last_error
    assert window.pictures.reading_dialog is None
    del keep


@pytest.mark.qt_log_ignore(
    "This plugin does not support raise"
)  # a floating dock is raised (offscreen: a no-op)
def test_a_digit_model_reads_a_dropped_picture_on_the_pad(qtbot, window, tmp_path, bar_network):
    window.controller._publish(bar_network, "bars")
    a = np.full((40, 30), 255, np.uint8)
    a[8:32, 13:17] = 0  # a dark vertical bar on white paper: a "1"
    Image.fromarray(a).save(tmp_path / "bar.png")
    window.panels["pad"].setFloating(True)  # the pad in a window of its own still takes the drop
    keep = drop_file(window.digits.pad, tmp_path / "bar.png")
    qtbot.waitUntil(lambda: not window.digits.pad.is_empty(), timeout=10000)
    assert window.digits.reading().label == 1
    assert window.pictures.reading_dialog is None
    del keep


def test_the_colour_template_keeps_the_picture_folder(qtbot, window, folder, monkeypatch):
    window._load_template("color_cnn")
    assert window.training.status.text() == NEEDS_FOLDER
    add_and_load(qtbot, window, import_folder(qtbot, window, monkeypatch, folder))
    window._load_template("color_cnn")
    qtbot.waitUntil(lambda: window.designer.spec()["input_shape"] == [3, 16, 16], timeout=20000)
    assert window.designer.spec()["layers"][-1]["units"] == 3
    assert window.training.data_choice().name == f"folder:{folder}"
    assert "color_cnn sized for Folder: photos" in window.training.status.text()


def test_the_preview_says_what_is_wrong_with_a_folder_or_a_size(qtbot, window, folder, monkeypatch, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    picture(np.random.default_rng(2), TINTS["blue"]).save(loose / "a.png")
    monkeypatch.setattr(file_dialogs, "folder", lambda *a: str(loose))
    window.act_import_folder.trigger()
    dialog = window.pictures.preview_dialog
    qtbot.waitUntil(lambda: dialog.problem.isVisibleTo(dialog), timeout=20000)
    assert "no class subfolders" in dialog.problem.text()
    assert not dialog.add_button.isEnabled()

    dialog = import_folder(qtbot, window, monkeypatch, folder)
    dialog.size.setText("2x")
    dialog.size.editingFinished.emit()
    assert "image size must be" in dialog.problem.text()
    assert not dialog.add_button.isEnabled()
    assert dialog.requested["size"] == (16, 16)  # nothing was asked for the refused size
