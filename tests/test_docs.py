"""Every code block in docs/ and the README runs: python, bash and (whole-recipe) TOML.

A block preceded by ``<!-- not run: REASON -->`` is skipped; the reason must be given.
"""

from __future__ import annotations

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
