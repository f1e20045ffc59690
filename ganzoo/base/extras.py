"""Optional dependencies: import one, or fail with the one ``pip install`` line that brings it.

Every optional library ganzoo uses belongs to an extra of ``pyproject.toml``
(``[project.optional-dependencies]``); ``tests/test_extras.py`` checks that each extra named in
a :func:`require` call exists there and lists the package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ganzoo.base.errors import GanzooError


def install_line(extra: str) -> str:
    return f"pip install 'ganzoo[{extra}]'"


def require(module: str, extra: str, *, what: str, error: type[GanzooError] = GanzooError,
            package: str | None = None) -> ModuleType:
    """Import ``module`` (``"plotly.graph_objects"``) or raise ``error`` with one line: what needs
    it, which package is missing, and ``pip install 'ganzoo[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = package or (exc.name or module).split(".")[0]
        raise error(f"{what} needs {missing}, which is not installed: {install_line(extra)}"
                    ) from None
