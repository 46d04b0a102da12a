"""The window's actions and menu bar, in one table: a new menu entry is one line here.

``ACTIONS`` maps an attribute name to (menu, text, slot, shortcut, tip); the slot is a method
name on the window ("train") or a dotted path from it ("controller.stop"); "sep..." entries
are separators; a menu "&File > E&xport model" is a submenu, placed where its first line is.
``build_menus`` creates the QActions as attributes of the window (``window.act_train``...)
and the menus in table order (``window.menus`` by name).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Key = QKeySequence.StandardKey
EXPORT_MENU = "&File > E&xport model"

# attribute: (menu, text, window slot, shortcut, status tip)
ACTIONS: dict[str, tuple[str, str, str, object, str]] = {
    "act_new": ("&File", "&New design", "new_design", Key.New, ""),
    "templates": ("&File", "New from &template", "", None, ""),  # a submenu, filled below
    "sep_file1": ("&File", "", "", None, ""),
    "act_open": ("&File", "&Open model…", "open_model_dialog", Key.Open, ""),
    "recent": ("&File", "Open &recent", "", None, ""),  # a submenu, see refresh_recent
    "act_save": ("&File", "&Save model", "save_model_current", Key.Save, ""),
    "act_save_as": ("&File", "Save model &as…", "save_model_as", "Ctrl+Shift+S", ""),
    "act_export_onnx": (EXPORT_MENU, "&ONNX…", "exchange.export_onnx", None, ""),  # tips: model_exchange
    "act_export_torch": (
        EXPORT_MENU,
        "&PyTorch (model.py, weights, train.py)…",
        "exchange.export_torch",
        None,
        "",
    ),
    "act_export_numpy": (EXPORT_MENU, "&NumPy script…", "exchange.export_numpy", None, ""),
    "sep_file2": ("&File", "", "", None, ""),
    "act_open_design": ("&File", "Open &design…", "open_design_dialog", None, ""),
    "act_save_design": ("&File", "Save d&esign…", "save_design_dialog", None, ""),
    "sep_file3": ("&File", "", "", None, ""),
    "act_import_idx": ("&File", "Import dataset &folder (IDX)…", "import_idx", None, ""),
    "act_import_csv": ("&File", "Import &CSV…", "import_csv", None, ""),
    "act_import_folder": (
        "&File",
        "Import &image folder…",
        "pictures.import_folder",
        None,
        "A folder with one subfolder of pictures per class: preview, options, then train on it",
    ),
    "act_classify_image": (
        "&File",
        "C&lassify image…",
        "pictures.classify_dialog",
        "Ctrl+I",
        "Read a picture file with the current model (or drop one on the window)",
    ),
    "sep_file4": ("&File", "", "", None, ""),
    "act_export_csv": ("&File", "Export curves as CSV…", "export_csv", None, ""),
    "act_export_png": ("&File", "Export plot as PNG…", "export_png", None, ""),
    "sep_file5": ("&File", "", "", None, ""),
    "act_quit": ("&File", "&Quit", "close", Key.Quit, ""),
    "undo": ("&Edit", "", "", None, ""),  # the designer's undo/redo actions
    "act_train": ("&Train", "&Train", "train", "F5", ""),
    "act_step": ("&Train", "&Step one epoch", "step", "F6", ""),
    "act_pause": ("&Train", "&Pause / Resume", "toggle_pause", "F7", ""),
    "act_stop": ("&Train", "St&op", "controller.stop", "Shift+F5", ""),
    "act_reset": ("&Train", "&Reset weights", "reset", "Ctrl+R", ""),
    "sep_train": ("&Train", "", "", None, ""),
    "act_finetune": (
        "&Train",
        "&Fine-tune on MNIST + my handwriting",
        "fine_tune",
        None,
        "One epoch at a low learning rate on MNIST plus most of your saved digits; "
        "measured on the rest and on MNIST's test set",
    ),
    "act_eval_mine": ("&Train", "&Evaluate on my handwriting", "evaluate_handwriting", None, ""),
    "sep_train2": ("&Train", "", "", None, ""),
    "act_gradcheck": (
        "&Train",
        "Check &gradients",
        "check_gradients",
        None,
        "Compare every parameter's gradient with float64 central differences on a small batch",
    ),
    "act_clear_runs": ("&View", "&Clear earlier runs from the plot", "clear_earlier_runs", None, ""),
    "act_reset_layout": (
        "&View",
        "&Reset the layout",
        "reset_layout",
        None,
        "Put every panel back in its place",
    ),
    "sep_view": ("&View", "", "", None, ""),
    "panel_toggles": ("&View", "", "", None, ""),  # each panel's show/hide action, filled below
    "sep_view2": ("&View", "", "", None, ""),
    "inside": ("&View", "", "", None, ""),  # the Inside docks' show/hide actions (Alt+1..5)
    "act_getting_started": ("&Help", "&Getting started", "show_getting_started", "F1", ""),
    "act_shortcuts": ("&Help", "&Keyboard shortcuts", "show_shortcuts", None, ""),
    "act_backprop": ("&Help", "How &backpropagation is computed here", "show_backprop", None, ""),
    "sep_help": ("&Help", "", "", None, ""),
    "act_about": ("&Help", "&About", "about", None, ""),
}


def build_menus(
    window: QMainWindow, templates: list[tuple[str, str, str]], load_template: Callable[[str], None]
) -> None:
    """Create every action of ``ACTIONS`` on ``window`` and the menu bar that shows them.

    ``templates``: (name, menu text, tooltip) for File > New from template; ``window.docks()``
    gives the panels whose show/hide actions the View menu lists.
    """
    menus: dict[str, QMenu] = {}
    window.menus = menus
    for attr, (menu_name, text, slot, shortcut, tip) in ACTIONS.items():
        menu = _menu(window, menus, menu_name)
        if attr == "templates":
            window.templates_menu = sub = menu.addMenu(text)
            sub.setToolTipsVisible(True)
            for name, label, tip in templates:
                action = sub.addAction(label, lambda n=name: load_template(n))
                action.setData(name)
                action.setToolTip(tip)
                action.setStatusTip(tip)
        elif attr == "panel_toggles":
            for dock in window.docks():
                menu.addAction(dock.toggleViewAction())
        elif attr == "recent":
            window.recent_menu = menu.addMenu(text)
        elif attr == "undo":
            menu.addAction(window.designer.undo_action)
            menu.addAction(window.designer.redo_action)
            for action in [None, *window.designer.edit_actions()]:  # the drawing's gestures; None: a line
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)
        elif attr == "inside":
            for action in window.inside.actions():
                menu.addAction(action)
        elif attr.startswith("sep"):
            menu.addSeparator()
        else:
            action = QAction(text, window)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            if tip:
                action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, s=slot: _resolve(window, s)())
            menu.addAction(action)
            setattr(window, attr, action)


def _menu(window: QMainWindow, menus: dict[str, QMenu], name: str) -> QMenu:
    """The menu called ``name``, created on first use ("A > B": submenu B of menu A)."""
    if name not in menus:
        parent, sep, sub = name.rpartition(" > ")
        if sep:
            menus[name] = _menu(window, menus, parent).addMenu(sub)
            menus[name].setToolTipsVisible(True)  # a disabled entry says why
        else:
            menus[name] = window.menuBar().addMenu(name)
    return menus[name]


def _resolve(window: QMainWindow, path: str) -> Callable[[], object]:
    """``"train"`` -> window.train; ``"controller.stop"`` -> window.controller.stop."""
    target = window
    for name in path.split("."):
        target = getattr(target, name)
    return target


IDLE_ONLY = ("act_open", "act_save", "act_save_as", "act_open_design", "act_new", "act_reset",
             "act_import_idx", "act_import_csv", "act_import_folder")  # fmt: skip


def update_actions(window: QMainWindow, state: str, design_valid: bool) -> None:
    """Enable what the controller's ``state`` (idle, loading, training, paused) allows."""
    idle = state == "idle"
    window.act_train.setEnabled(idle and design_valid)
    window.act_step.setEnabled(idle and design_valid)
    window.act_pause.setEnabled(state in ("training", "paused"))
    window.act_stop.setEnabled(not idle)
    for name in IDLE_ONLY:
        getattr(window, name).setEnabled(idle)
    window.recent_menu.menuAction().setEnabled(idle)


def refresh_recent(menu: QMenu, paths: list[str], open_model: Callable[[str], None]) -> None:
    """Fill the "Open recent" submenu with ``paths`` (newest first)."""
    menu.clear()
    for path in paths:
        menu.addAction(path, lambda p=path: open_model(p))
    menu.setEnabled(bool(paths))
