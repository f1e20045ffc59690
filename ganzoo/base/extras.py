"""Optional dependencies: import one, or fail with the one ``pip install`` line that brings it.

Every optional library ganzoo uses belongs to an extra of ``pyproject.toml``
(``[project.optional-dependencies]``); ``tests/test_extras.py`` checks that each extra named in
a :func:`require` call exists there and lists the package.
"""

from __future__ import annotations

import sys
from types import ModuleType

from ganzoo.base.errors import GanzooError


def install_line(extra: str) -> str:
    return f"pip install 'ganzoo[{extra}]'"


def require(module: str, extra: str, *, what: str, error: type[GanzooError] = GanzooError,
            package: str | None = None, otherwise: str | None = None) -> ModuleType:
    """Import ``module`` (``"plotly.graph_objects"``) or raise ``error`` with one line: what needs
    it, which package is missing, and ``pip install 'ganzoo[extra]'`` (then ``otherwise``, a
    way to do without, if given)."""
    try:
        __import__(module)  # through builtins.__import__, so import hooks and patches apply
        return sys.modules[module]
    except ImportError as exc:
        missing = package or (exc.name or module).split(".")[0]
        hint = install_line(extra) + (f", or {otherwise}" if otherwise else "")
        raise error(f"{what} needs {missing}, which is not installed: {hint}") from None
