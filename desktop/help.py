"""The Help menu's pages: getting started, keyboard shortcuts, how backpropagation is computed here.

Each page is HTML shown in a non-modal ``HelpPage`` (a QTextBrowser); the shortcuts page is
generated from the window's actions, so it never disagrees with the menus.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from desktop import messages
from desktop.menus import ACTIONS

FIRST_STEPS = (
    "<b>Start here:</b> pick a template (File ▸ New from template, e.g. <i>mnist mlp</i>), "
    "press <b>Train</b> (F5) and watch the plot, then draw a digit on the pad."
)

GETTING_STARTED = f"""
<h2>Getting started</h2>
<p>{FIRST_STEPS}</p>
<ol>
<li><b>Network design</b> (top left): the network as a drawing. Drag a layer type from the
palette between two columns, +/− change a layer's units, right-click for everything else.
The list and form beside it edit the same design. Every edit can be undone (Ctrl+Z).</li>
<li><b>Training</b>: the dataset and how to learn it. Every field's tooltip says what it does
and its usual range; a field outside its range turns red and says why, and Train waits.</li>
<li><b>Live plot</b>: loss (lower is better) and accuracy, per batch (the line) and per epoch
(the dots); validation in orange. Earlier runs stay as grey curves until you clear them.</li>
<li><b>Drawing pad</b>: draw a digit with the mouse; the bars show what the network reads.
It reads with the model named above the bars.</li>
</ol>
<p>The window title shows the model's file (or <i>new design</i>) and a <b>*</b> while trained
weights are not saved. Changing the design sets the trained model aside: Undo brings it back.</p>
"""

BACKPROP = """
<h2>How backpropagation is computed here</h2>
<p>Nothing is automatic: every layer has a <code>forward</code> and a hand-written
<code>backward</code> in plain NumPy, and the network calls them in order.</p>
<ol>
<li><b>Forward</b> (<code>netcore/network.py</code>, <code>Network.forward</code>): each layer
turns its input into its output and keeps only what its backward needs (a dense layer keeps
its input <i>x</i>).</li>
<li><b>Loss</b> (<code>netcore/losses.py</code>): softmax cross-entropy on the raw scores; its
backward is <code>(softmax − one-hot) / N</code>, the gradient of the mean loss.</li>
<li><b>Backward</b> (<code>Network.backward</code>): the layers in reverse. A dense layer
(<code>netcore/layers/dense.py</code>) computes dL/dW = xᵀ·dz, dL/db = Σ dz and passes
dL/dx = dz·Wᵀ to the layer before it; an activation multiplies by its derivative
(<code>netcore/layers/activations.py</code>). Convolutions unfold patches into a matrix
(<code>netcore/functional/im2col.py</code>, <code>kernel_rows.py</code>) so that their
gradients are matrix products too (<code>netcore/layers/conv.py</code>); max pooling sends
the gradient to the input that won (<code>netcore/layers/pooling.py</code>).</li>
<li><b>Update</b> (<code>netcore/optimizers.py</code>): all weights live in one flat array
(<code>flat_params</code>) with their gradients beside them (<code>flat_grads</code>); SGD,
momentum or Adam update it in one pass. One batch of that is <code>Trainer._step</code>
in <code>netcore/train.py</code>.</li>
</ol>
<p><b>Checked</b>: every backward is compared with float64 central differences
(<code>netcore/inspect/gradcheck.py</code>; <code>netcore gradcheck SPEC.json</code> does it for any
design) and agrees to about 1e-9.</p>
"""


def shortcuts_html(actions: Iterable[QAction | None]) -> str:
    """A table of every action that has a shortcut: what it does, its keys."""
    rows = []
    for action in actions:
        if action is None or not action.shortcuts():
            continue
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
        text = action.text().replace("&", "")
        rows.append(f"<tr><td>{html.escape(text)}</td><td><b>{html.escape(keys)}</b></td></tr>")
    pad = (
        "<tr><td>Clear the pad</td><td><b>Esc</b> or right-click</td></tr>"
        "<tr><td>Remove the pad's last stroke</td><td><b>Ctrl+Z</b> on the pad</td></tr>"
    )
    return (
        "<h2>Keyboard shortcuts</h2><table cellspacing='4'>"
        + "".join(rows)
        + pad
        + "</table><p>The designer's keys act while the drawing has the focus (click it first).</p>"
    )


class HelpPage(QDialog):
    """A non-modal page of help text; links open in the page."""

    def __init__(self, parent: QWidget, title: str, text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title} — netcore studio")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.browser = QTextBrowser()
        self.browser.setHtml(text)
        self.browser.setOpenExternalLinks(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(close)
        self.resize(620, 520)


class HelpActions:
    """The Help menu's slots for ``MainWindow`` (which provides ``hint``, ``designer`` and the actions)."""

    def about(self) -> None:
        messages.about(self)

    def show_getting_started(self) -> None:
        self.hint.show()
        HelpPage(self, "Getting started", GETTING_STARTED).show()

    def show_shortcuts(self) -> None:
        actions = [a for a in (getattr(self, name, None) for name in ACTIONS) if isinstance(a, QAction)] + [
            self.designer.undo_action,
            self.designer.redo_action,
        ]
        actions += self.designer.edit_actions()
        HelpPage(self, "Keyboard shortcuts", shortcuts_html(actions)).show()

    def show_backprop(self) -> None:
        HelpPage(self, "How backpropagation is computed here", BACKPROP).show()

    def clear_earlier_runs(self) -> None:
        self.plot.clear_earlier()
