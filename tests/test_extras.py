"""Every optional library says, when it is missing, the one pip line that brings it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib

import pytest
from conftest import ROOT

from ganzoo.base.errors import GanzooError
from ganzoo.base.extras import require

EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _require_calls():
    for path in [*(ROOT / "ganzoo").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require"
                    and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2])):
                yield path.relative_to(ROOT), node.args[0].value, node.args[1].value


CALLS = sorted(set(_require_calls()))


def _distribution(module: str) -> str:
    top = module.split(".")[0]
    return {"cv2": "opencv-python-headless", "sentence_transformers": "sentence-transformers",
            "torch_fidelity": "torch-fidelity"}.get(top, top)


def test_the_optional_imports_are_found():
    assert len(CALLS) >= 8, CALLS  # the scan itself works


@pytest.mark.parametrize("where,module,extra", CALLS, ids=lambda v: str(v))
def test_each_hint_names_an_extra_that_brings_the_package(where, module, extra):
    assert extra in EXTRAS, f"{where}: ganzoo[{extra}] is not an extra of pyproject.toml"
    names = {re.split(r"[<>=!\[; ]", req, maxsplit=1)[0].lower() for req in EXTRAS[extra]}
    assert _distribution(module).lower() in names, f"{where}: ganzoo[{extra}] lacks {module}"
    dev = {re.split(r"[<>=!\[; ]", req, maxsplit=1)[0].lower() for req in EXTRAS["dev"]}
    if extra != "sentence":  # the sentence model needs a download, so CI does without it
        assert _distribution(module).lower() in dev, f"CI's [dev] extra lacks {module}"


def test_a_missing_library_is_one_line_with_its_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)  # what an uninstalled package looks like
    with pytest.raises(GanzooError) as caught:
        require("plotly.graph_objects", "map", what="the sphere map's page")
    assert str(caught.value) == ("the sphere map's page needs plotly, which is not installed: "
                                 "pip install 'ganzoo[map]'")


def test_every_pip_line_in_the_code_names_an_existing_extra():
    # the hints written out by hand (logger registrations, messages) as well as require()'s
    pattern = re.compile(r"pip install '?ganzoo\[([\w-]+)\]")
    named = {(path.relative_to(ROOT), extra)
             for path in [*(ROOT / "ganzoo").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
             for extra in pattern.findall(path.read_text(encoding="utf-8"))
             if path.name != "extras.py"}  # its docstring spells the pattern itself
    assert len(named) >= 10, named
    missing = sorted((str(where), extra) for where, extra in named if extra not in EXTRAS)
    assert not missing, f"pip lines naming extras pyproject.toml does not have: {missing}"


def test_missing_opencv_names_the_editing_extra(monkeypatch):
    from ganzoo.editing import transfer

    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(GanzooError, match=r"edit transfer needs OpenCV .*ganzoo\[editing\]"):
        transfer._cv2()
