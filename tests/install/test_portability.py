"""Paths Windows and macOS users take, with the POSIX-only calls they lack simulated away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest

from netcore import bench
from netcore.cli import main
from netcore.files import atomic_write_bytes
from netcore.resources import resource_path


def test_atomic_save_works_without_fchmod(monkeypatch, tmp_path):
    """Windows before Python 3.13 has no os.fchmod: a save must still replace the file whole."""
    monkeypatch.delattr(os, "fchmod")
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_bench_imports_without_the_resource_module():
    """``resource`` is Unix-only; importing the bench (and so the CLI) must not need it."""
    code = "import sys; sys.modules['resource'] = None; import netcore.cli, netcore.bench as b; print(b.peak_rss_mib())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None"


def fake_resource(maxrss: int) -> types.ModuleType:
    module = types.ModuleType("resource")
    module.RUSAGE_SELF = 0
    module.getrusage = lambda who: types.SimpleNamespace(ru_maxrss=maxrss)
    return module


@pytest.mark.parametrize(("platform", "maxrss"), [("linux", 300 * 1024), ("darwin", 300 * 2**20)])
def test_peak_memory_units_per_platform(monkeypatch, platform, maxrss):
    """ru_maxrss is KiB on Linux and bytes on macOS: both are 300 MiB here."""
    monkeypatch.setitem(sys.modules, "resource", fake_resource(maxrss))
    monkeypatch.setattr(sys, "platform", platform)
    assert bench.peak_rss_mib() == pytest.approx(300)


def test_bench_runs_where_peak_memory_is_unknown(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: import resource fails
    spec = str(resource_path("networks", "mnist_mlp.json"))
    args = ["bench", "--spec", spec, "--batch-size", "16", "--samples", "64", "--no-torch", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["peak_rss_mib"] is None and len(report["results"]) == 1
