"""The Linux menu entry and ``netcore-studio --version``: both work without starting Qt."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys

import pytest

import netcore
from desktop.app import main
from desktop.desktop_entry import entry_text, install_desktop_entry, quote_exec_arg, remove_desktop_entry
from netcore.resources import icon_path


def read_entry(path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_writes_entry_and_icon_then_removes_them(tmp_path):
    launcher = "/opt/my apps/bin/netcore-studio"
    entry, icon = install_desktop_entry([launcher], home=tmp_path)
    assert entry == tmp_path / "applications" / "netcore-studio.desktop"
    fields = read_entry(entry)
    assert fields["Type"] == "Application" and fields["Name"] == "netcore studio"
    assert fields["Exec"] == f'"{launcher}" %F'
    assert fields["Icon"] == "netcore-studio" == icon.stem
    assert icon.read_bytes() == icon_path().read_bytes()
    assert sorted(remove_desktop_entry(home=tmp_path)) == sorted([entry, icon])
    assert not entry.exists() and not icon.exists()


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [
        ("/usr/bin/netcore-studio", "/usr/bin/netcore-studio"),
        ("/home/a b/netcore-studio", '"/home/a b/netcore-studio"'),
        # $ is escaped for the command line (\$), and that backslash again for the key's value.
        ("/x$y", '"/x\\\\$y"'),
    ],
)
def test_exec_arguments_are_quoted_as_the_specification_asks(arg, quoted):
    assert quote_exec_arg(arg) == quoted


def test_entry_keeps_one_exec_line():
    text = entry_text(["/a/python", "-m", "desktop"])
    assert [line for line in text.splitlines() if line.startswith("Exec=")] == [
        "Exec=/a/python -m desktop %F"
    ]


def test_command_line_install_follows_xdg_data_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["netcore-studio", "--install-desktop-entry"]) == 0
    assert (tmp_path / "applications" / "netcore-studio.desktop").exists()
    assert "wrote" in capsys.readouterr().out


def test_relative_xdg_data_home_is_ignored(tmp_path, monkeypatch):
    from desktop.desktop_entry import data_home

    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / ".local" / "share"


def test_version_needs_no_qt():
    code = "import sys; sys.modules['PySide6'] = None; from desktop.app import main; main(['netcore-studio', '--version'])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"netcore-studio {netcore.__version__}"


def test_missing_qt_is_one_clear_message():
    code = "import sys; sys.modules['PySide6'] = None; from desktop.app import main; sys.exit(main(['netcore-studio']))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.startswith("netcore-studio: Qt cannot start") and "apt-packages.txt" in run.stderr


def test_netcore_version(capsys):
    from netcore.cli import main as cli_main

    with pytest.raises(SystemExit) as exit_:
        cli_main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"netcore {netcore.__version__}"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_installed_entry_passes_desktop_file_validate(tmp_path):
    entry, _ = install_desktop_entry(["/home/a b/.venv/bin/netcore-studio"], home=tmp_path)
    run = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout
