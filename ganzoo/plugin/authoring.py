"""``ganzoo new-plugin``: scaffold an installable plugin package.

The command reaches the CLI through ``register_commands`` of the default plugin
``ganzoo.default_plugins.new_plugin``, the same hook third-party plugins use.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

import click

from ganzoo._version import __version__
from ganzoo.base.errors import GanzooError

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")

# template file -> path in the new package (placeholders: $name, $module_name, ...)
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "ganzoo_$module_name/__init__.py",
    "config.py.tmpl": "ganzoo_$module_name/config.py",
    "networks.py.tmpl": "ganzoo_$module_name/networks.py",
    "train.py.tmpl": "ganzoo_$module_name/train.py",
    "recipe.toml.tmpl": "recipes/${module_name}_digits.toml",
    "test.py.tmpl": "tests/test_$module_name.py",
}


def scaffold(name: str, directory: str | Path = ".") -> Path:
    """Write the package ``ganzoo-NAME`` (module ``ganzoo_NAME``) into ``directory``."""
    if not NAME.match(name):
        raise GanzooError(f"plugin name {name!r}: use lowercase letters and digits, words joined by "
                          "'-' or '_' (e.g. 'info-gan'), starting with a letter")
    module_name = name.replace("-", "_")
    values = {
        "name": name,
        "module_name": module_name,
        "class_name": "".join(part.capitalize() for part in re.split(r"[-_]", name)),
        "title": name.replace("-", " ").replace("_", " ").title(),
        "ganzoo_version": __version__,
    }
    root = Path(directory) / f"ganzoo-{name}"
    if root.exists():
        raise GanzooError(f"{root}: already exists; choose another --dir or name")
    templates = resources.files("ganzoo") / "templates" / "plugin"
    for template, target in LAYOUT.items():
        text = string.Template((templates / template).read_text(encoding="utf-8"))
        path = root / string.Template(target).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
    return root


@click.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where to create it.")
def new_plugin(name: str, directory: Path) -> None:
    """Scaffold an installable plugin package ganzoo-NAME registering the architecture NAME."""
    root = scaffold(name, directory)
    click.echo(f"created {root}\n  next: pip install -e {root}[dev] && python -m pytest {root}")
