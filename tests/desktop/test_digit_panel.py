"""The digit panel: readings after drawing, the inspector, saving my handwriting, test digits."""

from __future__ import annotations

import os

import numpy as np
import pytest

from desktop import handwriting
from desktop.widgets.digit_panel import DigitPanel
from netcore.data.mnist import data_dir, missing_files
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


def test_a_missing_mnist_is_reported_in_the_status(panel, tmp_path, qtbot):
    panel.set_data_dir(tmp_path / "nowhere")
    done = lambda m: not m.startswith("loading")  # noqa: E731
    with qtbot.waitSignal(panel.status_message, timeout=5000, check_params_cb=done) as b:
        panel.random_button.click()
    assert "MNIST not found" in b.args[0]
    assert panel.random_button.isEnabled() and panel.pad.is_empty()


@pytest.mark.mnist
def test_test_digits_load_off_the_ui_thread(panel, bar_network, qtbot):
    root = data_dir()
    if missing_files(root / "mnist"):
        if os.environ.get("NETCORE_REQUIRE_MNIST") == "1":
            pytest.fail(f"MNIST missing from {root / 'mnist'}")
        pytest.skip("MNIST not found: set NETCORE_DATA_DIR to a folder with mnist/")
    panel.set_network(bar_network, "bars")
    panel.set_data_dir(root)
    with qtbot.waitSignal(panel.status_message, timeout=20000, check_params_cb=lambda m: "#" in m) as b:
        panel.random_button.click()
    assert not panel.random_button.isEnabled() or panel.pad.stroke_count() == 0
    assert b.args[0].startswith("MNIST test digit #")
    assert not panel.pad.is_empty() and panel.pad.image().max() > 0.9
    assert panel.reading() is not None and panel.reading().image is not None

    # the second pick reuses the loaded test set; the bar model misreads most digits
    with qtbot.waitSignal(panel.status_message, timeout=20000, check_params_cb=lambda m: "#" in m) as b:
        panel.wrong_button.click()
    assert "the model says" in b.args[0]
    said = int(b.args[0].rsplit(" ", 1)[1])
    labelled = int(b.args[0].split("labelled ")[1].split(";")[0])
    assert said != labelled


# ------------------------------------------------------------------------ my handwriting on disk


def test_samples_round_trip_through_png(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((5, 28, 28)).astype(np.float32)
    labels = [3, 0, 9, 3, 5]
    paths = [handwriting.save_sample(img, lab, tmp_path) for img, lab in zip(images, labels, strict=True)]
    assert len(set(paths)) == 5
    assert [p.parent.name for p in paths] == [str(lab) for lab in labels]
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind
    x, y = handwriting.load_samples(tmp_path)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert sorted(y.tolist()) == sorted(labels)
    for img, lab in zip(images, labels, strict=True):  # files come back grouped by label
        matches = [i for i in range(5) if y[i] == lab and np.abs(x[i, 0] - img).max() <= 0.5 / 255 + 1e-6]
        assert matches
    assert handwriting.count_samples(tmp_path) == 5


def test_the_folder_comes_from_the_environment_and_may_be_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCORE_HANDWRITING_DIR", str(tmp_path / "mine"))
    assert handwriting.handwriting_dir() == tmp_path / "mine"
    x, y = handwriting.load_samples()
    assert x.shape == (0, 1, 28, 28) and y.shape == (0,)
    assert handwriting.count_samples() == 0
    handwriting.save_sample(np.zeros((28, 28), np.float32), 4)
    assert handwriting.count_samples() == 1 and (tmp_path / "mine" / "4").is_dir()


def test_bad_samples_are_refused_or_skipped(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        handwriting.save_sample(np.zeros((20, 20), np.float32), 1, tmp_path)
    with pytest.raises(ValueError, match="label"):
        handwriting.save_sample(np.zeros((28, 28), np.float32), 10, tmp_path)
    handwriting.save_sample(np.ones((28, 28), np.float32), 2, tmp_path)
    (tmp_path / "2" / "broken.png").write_bytes(b"not a png")
    x, y = handwriting.load_samples(tmp_path)
    assert y.tolist() == [2] and x.min() == 1.0
