"""Issue 14, Guidance: what to do first, what every setting does, where the maths lives."""

import pytest
from PySide6.QtCore import QSettings

from desktop.help import HelpPage
from desktop.main_window import MainWindow
from desktop.widgets.fields import FIELDS


def make_window(qtbot, path):
    w = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat), load_default_model=False)
    qtbot.addWidget(w)
    return w


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "settings.ini")
    yield w
    w.controller.shutdown()


def test_every_training_setting_says_what_it_does_and_its_usual_range(window):
    t = window.training
    for name in FIELDS:
        tip = getattr(t, name).toolTip()
        assert len(tip) > 40, name
    for name in ("noise", "samples", "test_ratio", "lr", "batch_size", "epochs", "l2"):
        assert "Usual" in getattr(t, name).toolTip(), name
    for combo in (t.dataset, t.augment, t.optimizer, t.schedule):
        assert len(combo.toolTip()) > 40
    for button in (t.train_button, t.pause_button, t.stop_button, t.step_button):
        assert button.toolTip()


def test_templates_show_their_description_and_expected_result(window):
    actions = {a.text(): a for a in window.templates_menu.actions()}
    cnn = next(a for text, a in actions.items() if text.startswith("mnist cnn —"))
    assert "99.2 % test accuracy after 3 epochs" in cnn.text()
    assert "convolutions" in cnn.toolTip() and "Expected:" in cnn.toolTip()
    assert window.templates_menu.toolTipsVisible()


def test_new_design_is_blank_not_xor(window):
    window._load_template("mnist_mlp")
    window.new_design()
    spec = window.designer.spec()
    assert spec["name"] == "untitled" and len(spec["layers"]) == 1 and window.designer.is_valid()


def test_the_first_run_hint_shows_until_dismissed(qtbot, tmp_path):
    first = make_window(qtbot, tmp_path / "s.ini")
    first.show()
    assert (
        first.hint.isVisible() and "press" in first.hint.label.text() and "Train" in first.hint.label.text()
    )
    first.hint.dismiss()
    first.close()
    second = make_window(qtbot, tmp_path / "s.ini")
    second.show()
    assert not second.hint.isVisible()
    second.act_getting_started.trigger()
    assert second.hint.isVisible()
    second.close()


def test_help_has_shortcuts_and_how_backpropagation_is_computed(qtbot, window):
    window.act_shortcuts.trigger()
    window.act_backprop.trigger()
    pages = {p.windowTitle(): p.browser.toPlainText() for p in window.findChildren(HelpPage)}
    shortcuts = next(text for title, text in pages.items() if title.startswith("Keyboard"))
    assert "Train" in shortcuts and "F5" in shortcuts and "Undo" in shortcuts and "Ctrl+Z" in shortcuts
    backprop = next(text for title, text in pages.items() if title.startswith("How backpropagation"))
    for path in ("netcore/network.py", "netcore/layers/dense.py", "netcore/losses.py", "netcore/train.py"):
        assert path in backprop
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in (
        "netcore/network.py",
        "netcore/layers/dense.py",
        "netcore/functional/im2col.py",
        "netcore/inspect/gradcheck.py",
    ):
        assert (root / path).exists()  # the page points at files that are there


def test_the_network_drawing_has_a_colour_legend(window):
    from PySide6.QtWidgets import QLabel

    texts = [label.text() for label in window.designer.findChildren(QLabel)]
    assert any("weight &gt; 0" in text and "weight &lt; 0" in text for text in texts)


def test_a_template_trained_here_shows_its_time_per_epoch_on_this_machine(qtbot, window):
    window._load_template("xor")
    window.training.epochs.setValue(50)
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000):
        window.training.train_button.click()
    xor = next(a for a in window.templates_menu.actions() if a.data() == "xor")
    assert "per epoch (measured on this machine)" in xor.toolTip()
    assert window.memory.template_seconds("xor") > 0
