"""The MkDocs site builds with --strict: a broken link, a missing page or a bad API reference
fails the suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT


def test_docs_site_builds_strict_with_the_api_reference(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    # The reference is generated from the docstrings, not written by hand.
    assert "All networks of one GAN plus its config." in api
    assert "register_architectures" in api and "check_architecture" in api
    # Every page of docs/ is in the navigation, with its pictures.
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    built = {p.parent.name for p in site.glob("*/index.html")}
    assert pages - {"index"} <= built, pages - built
    assert (site / "images" / "dcgan_digits.png").is_file()


def test_every_docs_page_is_in_the_navigation():
    import re

    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", nav, re.M))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages == listed, f"not in mkdocs.yml's nav: {sorted(pages - listed)}; " \
                            f"listed but missing: {sorted(listed - pages)}"
