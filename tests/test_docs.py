"""Every code block in docs/ and the README runs: python, bash and (whole-recipe) TOML.

A block preceded by ``<!-- not run: REASON -->`` is skipped; the reason must be given.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from ganzoo import Recipe

DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"(<!-- not run: (?P<why>[^>]+) -->\s*)?```(?P<lang>\w+)\n(?P<code>.*?)```",
                   re.S)


def blocks(path: Path):
    for match in BLOCK.finditer(path.read_text(encoding="utf-8")):
        line = path.read_text(encoding="utf-8")[: match.start("code")].count("\n") + 1
        yield match["lang"], match["code"], match["why"], line


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_doc_code_blocks_run(path, tmp_path, monkeypatch, ganzoo_plugins):
    found = list(blocks(path))
    if not found:
        pytest.skip(f"{path.name} has no code blocks")
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    monkeypatch.chdir(tmp_path)
    with contextlib.ExitStack() as stack:
        if path.name == "hub.md":  # its examples download from a Hub: serve one on loopback
            stack.enter_context(local_hub(tmp_path, monkeypatch))
        if path.name == "datasets.md":  # its example reads a huggan-format dataset repo
            stack.enter_context(local_hub_dataset(tmp_path, monkeypatch))
        run_blocks(path, found, tmp_path)


@contextlib.contextmanager
def local_hub(tmp_path, monkeypatch):
    """olah serving ganzoo's packaged dcgan-digits bundle as the Hub repo ganzoo/dcgan-digits."""
    from hub_server import publish, start_hub, use_hub

    import ganzoo_dcgan

    folder = Path(ganzoo_dcgan.__file__).parent / "weights" / "dcgan-digits"
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in folder.rglob("*") if p.is_file()}
    publish(tmp_path / "mirrors", "ganzoo/dcgan-digits", files)
    with start_hub(tmp_path / "mirrors") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf-home")
        yield server


@contextlib.contextmanager
def local_hub_dataset(tmp_path, monkeypatch):
    """olah serving a tiny huggan/facades: 20 random 20x20 pairs in huggan's parquet format."""
    from hub_data_fixtures import PAIRED, facades_like, publish_dataset
    from hub_server import start_hub, use_hub

    publish_dataset(tmp_path / "mirrors", "huggan/facades",
                    {"train": facades_like(20, size=(20, 20))}, PAIRED)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "ganzoo-cache"))
    with start_hub(tmp_path / "mirrors") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf-home")
        yield server


def run_blocks(path, found, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    namespace: dict = {"__name__": "__docs__"}
    for lang, code, skip_reason, line in found:
        where = f"{path.name}:{line}"
        if skip_reason:
            continue
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
        elif lang == "bash":
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env,
                                  capture_output=True, text=True)
            assert proc.returncode == 0, f"{where}: {proc.stdout}\n{proc.stderr}"
        elif lang == "toml":
            data = tomllib.loads(code)
            if "architecture" in data:
                Recipe.from_dict(data, source=where)
        elif lang != "text":
            pytest.fail(f"{where}: code block in {lang!r}, which the docs test cannot run")


def test_the_hook_reference_in_docs_is_generated_from_the_hookspecs():
    from ganzoo.apps.docs_reference import BEGIN, END, hook_reference

    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN): text.index(END) + len(END)]
    assert section == hook_reference(), ("docs/plugins.md is out of date: run "
                                         "`python -m ganzoo.apps.docs_reference docs/plugins.md`")


def test_the_api_reference_is_plain_markdown_generated_from_the_docstrings():
    # GitHub shows docs/api.md as it is: no mkdocstrings directives, and it matches the code
    from ganzoo.apps.api_reference import PAGE, api_reference

    text = (ROOT / PAGE).read_text(encoding="utf-8")
    assert ":::" not in text
    assert "### `ganzoo.load`" in text and "#### `ganzoo.nn.kinds.Translator`" in text
    assert text == api_reference(), ("docs/api.md is out of date: run "
                                      "`python -m ganzoo.apps.api_reference`")
