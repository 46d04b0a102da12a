"""The Linux menu entry: ``netcore-studio --install-desktop-entry`` (no Qt needed).

Writes the freedesktop.org entry shipped in ``netcore/resources/linux/`` to
``$XDG_DATA_HOME/applications`` (default ``~/.local/share``) with ``Exec`` pointing at
the launcher that ran the command, so the menu starts the same installation (a venv's,
pipx's) even when its ``bin`` folder is not on the desktop session's PATH. The icon goes
to ``icons/hicolor/scalable/apps/netcore-studio.svg`` beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from netcore.files import atomic_write_bytes
from netcore.resources import LINUX, icon_path, resource_path

APP_ID = "netcore-studio"


def data_home() -> Path:
    """``$XDG_DATA_HOME`` if set and absolute, else ``~/.local/share`` (the XDG base-dir rule)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher_command() -> list[str]:
    """The command that starts this installation: its ``netcore-studio`` script, else ``python -m desktop``."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name.startswith(APP_ID) and script.exists():
        return [str(script.absolute())]  # not resolved: pipx's ~/.local/bin link outlives its venv
    found = shutil.which(APP_ID)
    if found:
        return [found]
    return [sys.executable, "-m", "desktop"]


def quote_exec_arg(arg: str) -> str:
    """One argument of a desktop entry's ``Exec`` key, quoted as the specification asks."""
    if arg and not re.search(r'[\s"\'\\><~|&;$*?#()`]', arg):
        return arg
    escaped = re.sub(r'(["`$\\])', r"\\\1", arg)
    # The key's value is itself unescaped once (\\ -> \) before the command line is split.
    return '"' + escaped.replace("\\", "\\\\") + '"'


def entry_text(command: list[str]) -> str:
    """The shipped entry with ``Exec`` set to ``command`` (files opened from the menu follow as ``%F``)."""
    template = resource_path(LINUX, f"{APP_ID}.desktop").read_text(encoding="utf-8")
    exec_line = "Exec=" + " ".join(quote_exec_arg(a) for a in command) + " %F"
    return re.sub(r"^Exec=.*$", lambda _: exec_line, template, count=1, flags=re.M)


def install_desktop_entry(command: list[str] | None = None, home: Path | None = None) -> list[Path]:
    """Write the menu entry and the icon under ``home`` (default: :func:`data_home`); the paths written."""
    home = home or data_home()
    entry = home / "applications" / f"{APP_ID}.desktop"
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    for path in (entry, icon):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(entry, entry_text(command or launcher_command()).encode("utf-8"))
    atomic_write_bytes(icon, icon_path().read_bytes())
    return [entry, icon]


def remove_desktop_entry(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install_desktop_entry` wrote; the paths removed."""
    home = home or data_home()
    paths = [
        home / "applications" / f"{APP_ID}.desktop",
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
    ]
    removed = [p for p in paths if p.exists()]
    for path in removed:
        path.unlink()
    return removed
