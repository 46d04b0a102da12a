"""The engine's import contract: every module of netcore imports, and none of them loads Qt."""

import pkgutil
import subprocess
import sys

import netcore

QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


def netcore_modules() -> list[str]:
    return ["netcore"] + sorted(
        m.name for m in pkgutil.walk_packages(netcore.__path__, "netcore.") if m.name != "netcore.__main__"
    )


def test_the_walk_finds_every_part_of_the_engine():
    names = netcore_modules()
    for expected in (
        "netcore.preprocess.reading",
        "netcore.layers.init",
        "netcore.cli.train",
        "netcore.recipe",
    ):
        assert expected in names
    assert len(names) > 40


def test_every_netcore_module_imports_in_a_fresh_interpreter_without_qt():
    code = (
        "import importlib, sys\n"
        f"names = {netcore_modules()!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        f"qt = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
        "print(len(names), qt)\n"
        "assert not qt, qt\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == str(len(netcore_modules()))
