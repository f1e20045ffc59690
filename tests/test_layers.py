"""ganzoo's layers, and the flat layout's names that still import.

A module may import (at module level) from its own layer and the layers below it, never above:
lazy imports inside functions are how a lower layer reaches up (the CLI for a message, say).
"""

from __future__ import annotations

import ast
import importlib

import pytest
from conftest import ROOT

from ganzoo import _aliases
from ganzoo.plugin.registry import load_ref

#: lowest first
LAYERS = ("base", "plugin", "config", "nn", "data", "metrics", "hub", "training", "editing",
          "apps")


def upward_imports(path) -> list[str]:
    mine = LAYERS.index(path.relative_to(ROOT / "ganzoo").parts[0])
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "ganzoo" and len(parts) > 1 and parts[1] in LAYERS and (
                    LAYERS.index(parts[1]) > mine):
                found.append(f"line {node.lineno}: {name}")
    return found


@pytest.mark.parametrize("path", [p for layer in LAYERS for p in (ROOT / "ganzoo" / layer)
                                  .rglob("*.py")],
                         ids=lambda p: p.relative_to(ROOT / "ganzoo").as_posix())
def test_no_module_imports_a_higher_layer(path):
    assert upward_imports(path) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = ROOT / "ganzoo" / "base" / "x.py"
    monkeypatch.setattr(type(fake), "read_text", lambda self, encoding=None:
                        "import ganzoo.apps.cli\nfrom ganzoo.base import io\n")
    assert upward_imports(fake) == ["line 1: ganzoo.apps.cli"]


@pytest.mark.parametrize("old, new", sorted(_aliases.OLD_NAMES.items()))
def test_every_flat_name_is_the_very_module_of_its_layered_name(old, new):
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new


def test_flat_references_in_registry_strings_and_from_imports_still_resolve():
    from ganzoo.blocks import PatchDiscriminator  # noqa: F401 - the flat layout's spelling
    from ganzoo.recipe import Recipe

    assert Recipe is importlib.import_module("ganzoo.config.recipe").Recipe
    assert load_ref("ganzoo.losses:bce_g") is load_ref("ganzoo.nn.losses:bce_g")
