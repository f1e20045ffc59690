"""The line between ganzoo's public API and its insides, and between core and plugins.

Public: the names in ``ganzoo.__all__`` and the modules in ``ganzoo.PUBLIC_MODULES`` (with their
submodules), less anything whose name starts with ``_``. Plugins (plugins/, examples/ and what
``ganzoo new-plugin`` writes) use nothing else; core imports no ``ganzoo_*`` plugin package.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from conftest import ROOT

import ganzoo

REF = re.compile(r"^(ganzoo(?:\.\w+)*):([\w.]+)$")  # a "module:attribute" reference string


def _is_public_module(name: str) -> bool:
    if any(part.startswith("_") for part in name.split(".")):
        return False
    return name == "ganzoo" or any(name == m or name.startswith(m + ".")
                                   for m in ganzoo.PUBLIC_MODULES)


def _is_layer(name: str) -> bool:
    """A layer package (``ganzoo.nn``) that holds public modules without being one itself."""
    return not _is_public_module(name) and any(m.startswith(name + ".")
                                               for m in ganzoo.PUBLIC_MODULES)


def _public_in(module: str, name: str) -> bool:
    """May a plugin use ``module.name``?"""
    if name.startswith("_") and name != "__version__":
        return False
    if module == "ganzoo" or _is_layer(module):
        return (module == "ganzoo" and name in ganzoo.__all__
                or _is_public_module(f"{module}.{name}") or _is_layer(f"{module}.{name}"))
    return _is_public_module(module)


def private_uses(source: str, where: str) -> list[str]:
    """Every use of a non-public ganzoo module or name in ``source``, as 'file:line: what'."""
    found = []
    tree = ast.parse(source)
    # Only the outermost attribute of a chain (ganzoo.a.b, not also ganzoo.a) is looked at.
    inner_attrs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ganzoo" and not _is_public_module(alias.name):
                    found.append(f"{line}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module.split(".")[0] == "ganzoo"):
            if not (_is_public_module(node.module) or _is_layer(node.module)):
                found.append(f"{line}: from {node.module} import ...")
                continue
            for alias in node.names:
                if not _public_in(node.module, alias.name):
                    found.append(f"{line}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Attribute) and id(node) not in inner_attrs:
            chain = []
            inner: ast.AST = node
            while isinstance(inner, ast.Attribute):
                chain.insert(0, inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "ganzoo":
                module = "ganzoo"
                for attr in chain:
                    if not _public_in(module, attr):
                        found.append(f"{line}: ganzoo.{'.'.join(chain)}")
                        break
                    if not (_is_public_module(f"{module}.{attr}") or _is_layer(f"{module}.{attr}")):
                        break  # a name in a public module: what follows is its own
                    module = f"{module}.{attr}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            ref = REF.match(node.value)
            if ref and not (_is_public_module(ref[1])
                            and not ref[2].split(".")[0].startswith("_")):
                found.append(f"{line}: reference {node.value!r}")
    return sorted(set(found))


def plugin_sources(tmp_path: Path) -> list[Path]:
    from ganzoo.plugin.authoring import scaffold

    scaffolded = scaffold("api-check", tmp_path)
    files = [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "examples").rglob("*.py"),
             *scaffolded.rglob("*.py")]
    return [f for f in files if ".venv" not in f.parts and "build" not in f.parts]


def test_plugins_and_the_example_use_only_the_public_api(tmp_path):
    files = plugin_sources(tmp_path)
    assert len(files) > 30 and any("ganzoo-api-check" in str(f) for f in files)
    problems = [p for f in files for p in private_uses(f.read_text(encoding="utf-8"), str(f))]
    assert not problems, "plugins use ganzoo's insides:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, expected", [
    ("from ganzoo.hub.loading import _hub_error", "from ganzoo.hub.loading import _hub_error"),
    ("from ganzoo.config.structure import structure", "from ganzoo.config.structure import ..."),
    ("import ganzoo.training.loop", "import ganzoo.training.loop"),
    ("import ganzoo\nganzoo.apps.cli.main()", "ganzoo.apps.cli.main"),
    ("import ganzoo\nganzoo.hub.loading._hub_error", "ganzoo.hub.loading._hub_error"),
    ("from ganzoo.plugin import manager\nfrom ganzoo.config import structure",
     "from ganzoo.config import ..."),
    # the flat layout's names still import (ganzoo._aliases) but are not the public API
    ("from ganzoo import hookimpl, structure", "from ganzoo import structure"),
    ("x = 'ganzoo.training.loop:train'", "reference 'ganzoo.training.loop:train'"),
])
def test_the_check_catches_each_way_of_reaching_inside(source, expected):
    assert [p.split(": ", 1)[1] for p in private_uses(source, "x.py")] == [expected]


def test_the_check_lets_the_public_api_through():
    source = ("import ganzoo\nimport ganzoo.nn.blocks\nfrom ganzoo import hookimpl\n"
              "from ganzoo.base import images\n"
              "from ganzoo.metrics.paired import l1\nganzoo.base.images.as_batch(x).shape\n"
              "ganzoo.TrainConfig.lr\nref = 'ganzoo.nn.losses:l1'\n")
    assert private_uses(source, "x.py") == []


def test_the_public_api_exists_and_is_documented():
    for name in ganzoo.__all__:
        assert getattr(ganzoo, name) is not None, name
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for module in ganzoo.PUBLIC_MODULES:
        importlib.import_module(module)
        assert f"`{module}`" in docs, f"docs/plugins.md does not list the public module {module}"


def core_files() -> list[Path]:
    return sorted((ROOT / "ganzoo").rglob("*.py"))




def plugin_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        found += [f"{path.name}:{node.lineno}: {n}" for n in names if n.startswith("ganzoo_")]
    return found


@pytest.mark.parametrize("path", core_files(),
                         ids=lambda p: p.relative_to(ROOT / "ganzoo").as_posix())
def test_core_imports_no_plugin_package(path):
    assert plugin_imports(path) == [], "core must not know any architecture plugin"
