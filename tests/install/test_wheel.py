"""The wheel, installed into a fresh virtual environment, runs with the files it ships.

Built from a copy of the package sources (nothing else of the checkout), installed with
``pip --no-deps`` into a venv made without pip, and run from a temporary folder with no
PYTHONPATH, so nothing can come from the source tree. The venv sees only the dependencies
the command line needs (NumPy, Pillow, platformdirs) through a ``.pth`` file naming their
folders here: no download, and no Qt, so ``netcore-studio --version`` is shown to need none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import PIL
import platformdirs
import pytest
from PIL import Image, ImageDraw

import netcore
from netcore.cli import main

ROOT = Path(netcore.__file__).resolve().parents[1]
SHIPPED = [
    "netcore/resources/models/digits.npz",
    "netcore/resources/networks/mnist_cnn.json",
    "netcore/resources/icons/netcore.svg",
    "netcore/resources/linux/netcore-studio.desktop",
]


def tool(bindir: Path, name: str) -> str:
    return str(bindir / (name + ".exe" if os.name == "nt" else name))


def run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("needs the source checkout (pyproject.toml) to build from")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in ("netcore", "desktop"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheels")
    # No build isolation: the test extra brings setuptools, so the build needs no download.
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(src),
        ],
        src,
    )
    (found,) = out.glob("netcore_studio-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(home)], home)
    bindir = home / ("Scripts" if os.name == "nt" else "bin")
    python = tool(bindir, "python")
    purelib = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], home).strip()
    )
    deps = {str(Path(m.__file__).resolve().parents[1]) for m in (np, PIL, platformdirs)}
    (purelib / "netcore_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        home,
    )
    return bindir


def test_wheel_carries_the_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names
    assert not any(n.startswith(("resources/", "tests/")) for n in names)


def test_installed_wheel_finds_its_files_in_the_venv(venv, tmp_path):
    python = tool(venv, "python")
    code = "import netcore, netcore.resources as r; print(netcore.__file__); print(r.default_model_path())"
    package, model = run([python, "-c", code], tmp_path).split()
    assert Path(venv.parent) in Path(package).parents and Path(venv.parent) in Path(model).parents
    assert Path(model).is_file()


def test_installed_commands_show_their_version(venv, tmp_path):
    assert run([tool(venv, "netcore"), "--version"], tmp_path).strip() == f"netcore {netcore.__version__}"
    # Qt is not visible in this venv: the version must not need it.
    studio = run([tool(venv, "netcore-studio"), "--version"], tmp_path).strip()
    assert studio == f"netcore-studio {netcore.__version__}"


def test_installed_predict_reads_a_drawn_one_with_the_shipped_model(venv, tmp_path):
    python = tool(venv, "python")
    model = run(
        [python, "-c", "import netcore.resources as r; print(r.default_model_path())"], tmp_path
    ).strip()
    canvas = Image.new("L", (280, 280), 255)  # dark ink on white, as a person draws
    ImageDraw.Draw(canvas).line([(150, 40), (130, 240)], fill=0, width=22)
    canvas.save(tmp_path / "one.png")
    reading = json.loads(run([tool(venv, "netcore"), "predict", model, "one.png", "--json"], tmp_path))
    assert reading["label"] == 1 and reading["probabilities"][1] > 0.5


def test_installed_summary_of_a_template_matches_the_source_tree(venv, tmp_path, capsys):
    python = tool(venv, "python")
    code = "import netcore.resources as r; print(r.resource_path('networks', 'mnist_cnn.json'))"
    spec = run([python, "-c", code], tmp_path).strip()
    installed = run([tool(venv, "netcore"), "summary", spec], tmp_path)
    assert main(["summary", str(ROOT / "netcore" / "resources" / "networks" / "mnist_cnn.json")]) == 0
    assert installed == capsys.readouterr().out and "total parameters" in installed
