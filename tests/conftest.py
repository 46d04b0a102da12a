"""Test-wide settings and fixtures: Qt draws offscreen; where MNIST is."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from netcore.data.mnist import data_dir, missing_files  # noqa: E402


def find_mnist_dir() -> Path:
    """The data folder whose ``mnist/`` holds the four MNIST files, or skip the calling test.

    Looks in ``$NETCORE_DATA_DIR`` (else the user cache folder). With ``NETCORE_REQUIRE_MNIST=1``
    (set in CI) a missing MNIST fails the test instead of skipping it.
    """
    root = data_dir()
    missing = missing_files(root / "mnist")
    if not missing:
        return root
    message = "MNIST not found: set NETCORE_DATA_DIR to a folder with mnist/ (CI does)"
    if os.environ.get("NETCORE_REQUIRE_MNIST") == "1":
        pytest.fail(f"{message}; {root / 'mnist'} lacks {', '.join(missing)}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Path of the data folder holding ``mnist/`` (skips, or fails in CI, when absent)."""
    return find_mnist_dir()


def small_cnn(input_shape: tuple[int, int, int], classes: int, **more) -> dict:
    """A spec for tests: 4 filters 3x3 "same" with ReLU, 2x2 max pooling, flatten, ``classes`` scores;
    (C, H, W) inputs; ``more`` adds keys (a name)."""
    return {
        **more,
        "input_shape": list(input_shape),
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"type": "maxpool2d", "pool_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": classes},
        ],
        "loss": "softmax_cross_entropy",
    }


def run_script(name: str, *args: str) -> str:
    """Run ``scripts/<name>`` with this Python (2 minutes at most); its standard output, after
    asserting it succeeded."""
    script = Path(__file__).resolve().parents[1] / "scripts" / name
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
