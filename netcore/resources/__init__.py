"""The files netcore ships: example network specs, the digit model, the icon, the Linux desktop entry.

They live in this package (``netcore/resources/<kind>/<file>``) and are found with
``importlib.resources``, so a source checkout, an editable install, a wheel and ``pipx``
all read the same files. Everything that needs one asks here, never relative to a
source file::

    resource_path("networks", "mnist_cnn.json")   # a template spec
    resource_path("models", "digits.npz")         # the shipped digit model
    template_paths()                              # {"xor": Path(...), ...}
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

NETWORKS = "networks"
MODELS = "models"
ICONS = "icons"
LINUX = "linux"


def resource_path(*parts: str) -> Path:
    """The file or folder ``netcore/resources/<parts...>`` as a real path (it may not exist).

    The package is installed as plain files (wheels are unpacked; zip imports are not
    supported), so the path can be handed to ``open``, NumPy or Qt directly.
    """
    return Path(str(files(__name__).joinpath(*parts)))


def template_paths() -> dict[str, Path]:
    """The shipped network specs, ``{name: path}`` sorted by name (``name`` is the file stem)."""
    folder = resource_path(NETWORKS)
    found = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return {p.stem: p for p in found}


def default_model_path() -> Path:
    """The digit model the drawing pad opens on first launch."""
    return resource_path(MODELS, "digits.npz")


def icon_path() -> Path:
    """The application icon (SVG)."""
    return resource_path(ICONS, "netcore.svg")
