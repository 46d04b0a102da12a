"""The shipped files are found through netcore.resources, inside the package."""

from __future__ import annotations

import json
from pathlib import Path

import netcore
from desktop.design import KNOWN_TEMPLATES, available_templates
from netcore.resources import default_model_path, icon_path, resource_path, template_paths
from netcore.serialization import load_model


def test_resources_live_inside_the_package():
    package = Path(netcore.__file__).resolve().parent
    for path in (resource_path("networks"), default_model_path(), icon_path()):
        assert path.exists() and package in path.resolve().parents


def test_templates_are_the_shipped_specs():
    paths = template_paths()
    assert set(KNOWN_TEMPLATES) <= set(paths)
    assert available_templates()[: len(KNOWN_TEMPLATES)] == list(KNOWN_TEMPLATES)
    for name, path in paths.items():
        assert path.name == f"{name}.json" and "layers" in json.loads(path.read_text(encoding="utf-8"))


def test_shipped_model_loads():
    model = load_model(default_model_path())
    assert model.network.output_shape == (10,)
