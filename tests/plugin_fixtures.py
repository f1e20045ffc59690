"""Plugins installed on disk as pip would (a dist-info with a ``ganzoo`` entry point), for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def install_fake(site: Path, dist: str, module: str, source: str, version: str = "1.2.0",
                 files: dict[str, str] | None = None) -> None:
    """Write the plugin ``module`` and a dist-info with a ``ganzoo`` entry point into ``site``.

    With ``files`` (name -> source) the plugin is a package: ``source`` is its ``__init__.py``.
    """
    if files is None:
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    else:
        package = site / module
        package.mkdir()
        (package / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
        for name, text in files.items():
            (package / name).write_text(textwrap.dedent(text), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch, ganzoo_plugins):
    """A fresh site-packages-like folder on sys.path; plugins reload with it."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    for var in ("GANZOO_DISABLE_PLUGINS", "GANZOO_TRACE_PLUGINS", "GANZOO_LOAD_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return folder
