"""The window's actions and menu bar, in one table: a new menu entry is one line here.

``ACTIONS`` maps an attribute name to (menu, text, slot, shortcut, tip); the slot is a method
name on the window ("train") or a dotted path from it ("controller.stop"); "sep..." entries
are separators. ``build_menus`` creates the QActions as attributes of the
window (``window.act_train``...) and the menus in table order.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Key = QKeySequence.StandardKey

# attribute: (menu, text, window slot, shortcut, status tip)
ACTIONS: dict[str, tuple[str, str, str, object, str]] = {
    "act_new": ("&File", "&New design", "new_design", Key.New, ""),
    "templates": ("&File", "New from &template", "", None, ""),  # a submenu, filled below
    "sep_file1": ("&File", "", "", None, ""),
    "act_open": ("&File", "&Open model…", "open_model_dialog", Key.Open, ""),
    "recent": ("&File", "Open &recent", "", None, ""),  # a submenu, see refresh_recent
    "act_save": ("&File", "&Save model", "save_model_current", Key.Save, ""),
    "act_save_as": ("&File", "Save model &as…", "save_model_as", "Ctrl+Shift+S", ""),
    "sep_file2": ("&File", "", "", None, ""),
    "act_open_design": ("&File", "Open &design…", "open_design_dialog", None, ""),
    "act_save_design": ("&File", "Save d&esign…", "save_design_dialog", None, ""),
    "sep_file3": ("&File", "", "", None, ""),
    "act_import_idx": ("&File", "Import dataset &folder (IDX)…", "import_idx", None, ""),
    "act_import_csv": ("&File", "Import &CSV…", "import_csv", None, ""),
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
    "inside": ("&View", "", "", None, ""),  # the Inside docks' show/hide actions (Alt+1..5)
    "act_about": ("&Help", "&About", "about", None, ""),
}


def build_menus(window: QMainWindow, templates: list[str], load_template: Callable[[str], None]) -> None:
    """Create every action of ``ACTIONS`` on ``window`` and the menu bar that shows them."""
    menus: dict[str, QMenu] = {}
    for attr, (menu_name, text, slot, shortcut, tip) in ACTIONS.items():
        menu = menus.get(menu_name) or menus.setdefault(menu_name, window.menuBar().addMenu(menu_name))
        if attr == "templates":
            sub = menu.addMenu(text)
            for name in templates:
                sub.addAction(name.replace("_", " "), lambda n=name: load_template(n))
        elif attr == "recent":
            window.recent_menu = menu.addMenu(text)
        elif attr == "undo":
            menu.addAction(window.designer.undo_action)
            menu.addAction(window.designer.redo_action)
            menu.addSeparator()
            for action in window.designer.edit_actions():  # the drawing's gestures as menu entries
                menu.addAction(action) if action is not None else menu.addSeparator()
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


def _resolve(window: QMainWindow, path: str) -> Callable[[], object]:
    """``"train"`` -> window.train; ``"controller.stop"`` -> window.controller.stop."""
    target = window
    for name in path.split("."):
        target = getattr(target, name)
    return target


IDLE_ONLY = ("act_open", "act_save", "act_save_as", "act_open_design", "act_new", "act_reset",
             "act_import_idx", "act_import_csv")  # fmt: skip


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
