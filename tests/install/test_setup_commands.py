"""The README's set-up commands, .ci/run and scripts/install.sh agree, and the script's apt step works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if not (ROOT / "scripts" / "install.sh").exists():
    pytest.skip("needs the source checkout", allow_module_level=True)


def readme_setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```\n(.*?)```", section, flags=re.S)][:2]


def apt_packages() -> list[str]:
    lines = (ROOT / "scripts" / "apt-packages.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_ci_runs_exactly_the_readme_test_command():
    install, test = readme_setup_commands()
    assert install == "sh scripts/install.sh && .venv/bin/netcore-studio"
    ci = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert ci[-1] == test


def test_apt_packages_are_listed_once():
    packages = apt_packages()
    assert len(packages) == len(set(packages)) and "libegl1" in packages and "python3-venv" in packages
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) for p in packages)
    for other in (ROOT / ".ci" / "run", ROOT / "README.md"):
        text = other.read_text(encoding="utf-8")
        assert not [p for p in packages if re.search(rf"(?<![\w.-]){re.escape(p)}(?![\w.-])", text)], other


def fake_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.mark.skipif(os.name == "nt" or shutil.which("sh") is None, reason="a POSIX shell script")
def test_install_script_asks_apt_for_exactly_the_missing_packages(tmp_path):
    """dpkg knows every package but two, one of them under Ubuntu's t64 name: apt gets the other."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "apt.log"
    fake_tool(bin_, "dpkg", 'case "$2" in libxcb-icccm4*|libglib2.0-0) exit 1 ;; esac; exit 0')
    fake_tool(bin_, "apt-get", f'echo "$*" >> "{log}"')
    fake_tool(bin_, "sudo", 'exec "$@"')  # when the tests do not run as root
    env = {**os.environ, "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        ["sh", str(ROOT / "scripts" / "install.sh"), "--system-only"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "update -qq" and calls[1] == "install -y -qq --no-install-recommends libxcb-icccm4"


def test_install_script_rejects_an_unknown_option():
    run = subprocess.run(
        ["sh", str(ROOT / "scripts" / "install.sh"), "--bogus"], capture_output=True, text=True
    )
    assert run.returncode == 1 and run.stderr.strip() == "install: error: unknown option --bogus (see --help)"
