"""Who may import what on the window side (issue 11).

- Views (desktop/widgets/*) never import the controller or the worker: they emit requests
  and draw the plain data they are handed.
- Application state (desktop/state.py) and the engine modules the window's work runs on
  import without loading Qt.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = sorted((ROOT / "desktop" / "widgets").glob("*.py"))
FORBIDDEN = {"desktop.controller", "desktop.worker", "desktop.tasks"}
QT_FREE = [
    "desktop.pictures",
    "desktop.state",
    "netcore.data.handwriting",
    "netcore.digits",
    "netcore.evaluation",
    "netcore.experiment",
    "netcore.train",
]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (``from desktop import worker`` counts as desktop.worker)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", WIDGETS, ids=lambda p: p.name)
def test_no_widget_imports_the_controller_or_the_worker(path):
    assert not imported_modules(path) & FORBIDDEN


def test_the_check_sees_such_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from desktop import controller\nimport desktop.worker as w\nfrom desktop.tasks import Threads\n"
    )
    assert imported_modules(bad) & FORBIDDEN == FORBIDDEN


def test_app_state_and_its_engine_modules_import_without_qt():
    code = (
        "import sys\n"
        f"for name in {QT_FREE!r}: __import__(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
