"""Old module names of the flat layout, kept importable for third-party code.

``import ganzoo.blocks`` (and ``from ganzoo.recipe import Recipe``, ``"ganzoo.losses:bce"`` in a
registry entry, ``monkeypatch.setattr("ganzoo.hub.x", ...)``) give the very module object of the new
layered name, so nothing that worked with the flat layout breaks. New code uses the new names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

OLD_NAMES = {
    "ganzoo.errors": "ganzoo.base.errors",
    "ganzoo.io": "ganzoo.base.io",
    "ganzoo.safe_pickle": "ganzoo.base.safe_pickle",
    "ganzoo.images": "ganzoo.base.images",
    "ganzoo.structure": "ganzoo.config.structure",
    "ganzoo.recipe": "ganzoo.config.recipe",
    "ganzoo.train_config": "ganzoo.config.train_config",
    "ganzoo.hookspecs": "ganzoo.plugin.hookspecs",
    "ganzoo.registry": "ganzoo.plugin.registry",
    "ganzoo.plugins": "ganzoo.plugin.manager",
    "ganzoo.authoring": "ganzoo.plugin.authoring",
    "ganzoo.model": "ganzoo.nn.model",
    "ganzoo.kinds": "ganzoo.nn.kinds",
    "ganzoo.blocks": "ganzoo.nn.blocks",
    "ganzoo.losses": "ganzoo.nn.losses",
    "ganzoo.budget": "ganzoo.nn.budget",
    "ganzoo.bundle": "ganzoo.hub.bundle",
    "ganzoo.card": "ganzoo.hub.card",
    "ganzoo.convert": "ganzoo.hub.convert",
    "ganzoo.cli": "ganzoo.apps.cli",
    "ganzoo.serve": "ganzoo.apps.serve",
    "ganzoo.serve_editing": "ganzoo.apps.serve_editing",
    "ganzoo.report": "ganzoo.apps.report",
    "ganzoo.export": "ganzoo.apps.export",
    "ganzoo.docs_reference": "ganzoo.apps.docs_reference",
    "ganzoo.grids": "ganzoo.apps.grids",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # already executed under its new name; the import system has just set __spec__ to the
        # alias's: give the module its own back
        module.__spec__ = self.real_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = OLD_NAMES.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())  # before path finders: stale files lose
