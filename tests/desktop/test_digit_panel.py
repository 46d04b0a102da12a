"""The digit panel: readings after drawing, the inspector, saving my handwriting, test digits.

Loading test digits is the controller's work (tests/desktop/test_controller.py); here the panel
asks for one and shows what it is handed."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.widgets.digit_panel import DigitPanel
from netcore.data import handwriting
from netcore.network import Network
from tests.desktop.conftest import draw_stroke, line

# The offscreen platform cannot resize a window to new size hints and says so each time a label's
# text changes the panel's minimum size; real platforms (xcb, Windows, macOS) do it silently.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture
def panel(qtbot, tmp_path) -> DigitPanel:
    widget = DigitPanel(handwriting_dir=tmp_path / "handwriting")
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def draw_vertical(pad) -> None:
    draw_stroke(pad, line(140, 50, 140, 230))


def test_a_vertical_stroke_reads_as_1_and_a_horizontal_one_as_0(panel, bar_network):
    panel.set_network(bar_network, "bars")
    draw_vertical(panel.pad)
    reading = panel.reading()
    assert reading is not None and reading.label == 1
    assert panel.view.headline() == "1"
    assert panel.view.detail().endswith("% sure")
    names = [name for name, _ in panel.view.top_classes()]
    assert names[0] == "1" and len(names) == 3
    panel.pad.clear()
    draw_stroke(panel.pad, line(50, 140, 230, 140))
    assert panel.view.headline() == "0"


def test_an_empty_pad_has_nothing_to_read(panel, bar_network):
    panel.set_network(bar_network, "bars")
    assert panel.view.headline() == "?"
    assert panel.view.detail().startswith("nothing to read")
    assert panel.view.top_classes() == []
    assert panel.inspector.stage_names()[:2] == ["raw", "ink"]
    assert panel.inspector.answers() == {}  # no answers for stages that hold no digit


def test_below_the_threshold_the_view_is_unsure(panel, bar_network):
    panel.set_network(bar_network, "bars")
    draw_vertical(panel.pad)
    panel.threshold.setValue(1.0)
    assert panel.view.headline() == "?"
    assert panel.view.detail().startswith("unsure: best guess 1 at")
    assert panel.view.top_classes()[0][0] == "1"  # the bars still show what it thinks
    panel.threshold.setValue(0.5)
    assert panel.view.headline() == "1"


def test_without_a_network_the_pad_says_no_model(panel):
    panel.set_network(None, "")
    draw_vertical(panel.pad)
    assert panel.pad.message() == "no model"
    assert panel.view.detail().startswith("no model")
    assert panel.reading() is None and panel.network_problem is None
    assert not panel.wrong_button.isEnabled()


def test_a_network_with_two_inputs_cannot_classify(panel):
    xor = Network(
        {"input_shape": [2], "layers": [{"type": "dense", "units": 2}], "loss": "softmax_cross_entropy"}
    )
    panel.set_network(xor, "xor")
    draw_vertical(panel.pad)
    assert panel.network_problem is not None and "takes 2 inputs" in panel.network_problem
    assert panel.view.detail().startswith("cannot classify digits: this network takes 2 inputs")
    assert panel.view.headline() != "1" and panel.reading() is None
    assert panel.pad.message() is not None


def test_the_inspector_shows_each_stage_and_its_answer(panel, bar_network, qtbot):
    panel.set_network(bar_network, "bars")
    draw_vertical(panel.pad)
    names = panel.inspector.stage_names()
    assert names[0] == "raw" and "crop" in names and names[-1] == "centred"
    answers = panel.inspector.answers()
    assert "raw" not in answers
    label, p = answers["centred"]
    assert label == panel.reading().label and p == pytest.approx(panel.reading().confidence, abs=1e-6)

    box = panel.inspector._boxes["crop"]
    with qtbot.waitSignal(panel.inspector.options_changed, timeout=1000) as blocker:
        box.setChecked(False)
    assert blocker.args[0]["crop"] is False
    assert "crop" not in panel.inspector.stage_names()

    panel.inspector.set_options({"crop": True, "deskew": True})
    assert "deskew" in panel.inspector.stage_names()
    assert panel.view.headline() == "1"
    with pytest.raises(ValueError, match="unknown preprocessing options"):
        panel.inspector.set_options({"blur": True})


def test_saving_keeps_what_the_network_saw(panel, bar_network, tmp_path, qtbot):
    panel.set_network(bar_network, "bars")
    with qtbot.waitSignal(panel.status_message, timeout=1000) as blocker:
        panel.save_button.click()
    assert blocker.args[0].startswith("nothing to save")

    draw_vertical(panel.pad)
    panel.save_label.setCurrentIndex(7)
    panel.save_button.click()
    x, y = handwriting.load_samples(tmp_path / "handwriting")
    assert x.shape == (1, 1, 28, 28) and y.tolist() == [7]
    np.testing.assert_allclose(x[0, 0], panel.reading().image, atol=0.5 / 255 + 1e-6)
    assert panel.count_label.text() == "1 saved"


def test_test_digits_are_requested_and_shown_as_handed(panel, bar_network, qtbot):
    panel.set_network(bar_network, "bars")
    with qtbot.waitSignal(panel.test_digit_requested, timeout=1000) as asked:
        panel.wrong_button.click()
    assert asked.args == [True]
    assert not panel.random_button.isEnabled() and not panel.wrong_button.isEnabled()
    panel.random_button.click()  # ignored while one is on its way
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:16] = 1.0
    with qtbot.waitSignal(panel.status_message, timeout=1000) as said:
        panel.show_test_digit({"image": image, "label": 1, "index": 7, "predicted": 4})
    assert said.args[0] == "MNIST test digit #7, labelled 1; on the raw test image the model says 4"
    assert panel.random_button.isEnabled() and panel.pad.image().max() > 0.9
    assert panel.reading() is not None and panel.reading().label == 1
    panel.random_button.click()
    panel.show_test_digit_failed("MNIST not found in /nowhere")
    assert panel.status_label.text() == "MNIST not found in /nowhere" and panel.random_button.isEnabled()


def test_without_a_digit_model_no_misread_digit_is_asked_for(panel, qtbot):
    asked = []
    panel.test_digit_requested.connect(asked.append)
    panel._load_test_digit(wrong=True)
    assert asked == [] and "needs a model that reads digits" in panel.status_label.text()
