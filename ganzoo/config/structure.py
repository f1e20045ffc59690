"""Turning TOML tables into frozen attrs configs, strictly, with errors a person can act on.

cattrs does the structuring. On top of it: scalars are not coerced (``"64"`` is not an int and
``2.7`` is not 2), unknown keys are refused, and every problem is reported with its TOML path and,
for a misspelt key, the closest valid one.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ganzoo.base.errors import did_you_mean


class StrictTypeError(TypeError):
    """A TOML value of the wrong type for its field."""


def _describe(value: Any) -> str:
    kinds = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


def _strict_int(value: Any, _type: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StrictTypeError(f"expected an integer, got {_describe(value)}")
    return value


def _strict_float(value: Any, _type: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StrictTypeError(f"expected a number, got {_describe(value)}")
    return float(value)


def _strict_bool(value: Any, _type: type) -> bool:
    if not isinstance(value, bool):
        raise StrictTypeError(f"expected true or false, got {_describe(value)}")
    return value


def _strict_str(value: Any, _type: type) -> str:
    if not isinstance(value, str):
        raise StrictTypeError(f"expected a string, got {_describe(value)}")
    return value


def _flag_or_auto(value: Any, _type: type) -> bool | str:
    if not (isinstance(value, bool) or value == "auto"):
        raise StrictTypeError(f'expected true, false or "auto", got {_describe(value)}')
    return value


def _path(value: Any, _type: type) -> Path:
    return Path(_strict_str(value, str))


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(Path, _path)
    from ganzoo.config.train_config import FlagOrAuto

    converter.register_structure_hook_func(lambda t: t == FlagOrAuto, _flag_or_auto)
    converter.register_unstructure_hook(Path, str)
    return converter


converter = make_converter()


def _leaf_message(exc: BaseException, cls: type | None) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        valid = [f.name for f in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        parts = []
        for key in sorted(exc.extra_fields):
            parts.append(f"has no key {key!r}{did_you_mean(key, valid)}")
        return "; ".join(parts) + (f"; valid keys: {', '.join(valid)}" if valid else "")
    if isinstance(exc, KeyError):
        return f"missing required key {exc.args[0]!r}"
    if isinstance(exc, StrictTypeError):
        return str(exc)
    if isinstance(exc, cattrs.errors.CattrsError) and "not in literal" in str(exc):
        options = ", ".join(repr(o) for o in typing.get_args(cls)) if cls else ""
        value = str(exc).split(" not in literal")[0]
        return f"{value} is not one of {options}" if options else str(exc)
    return str(exc) or type(exc).__name__


def _walk(exc: BaseException, path: tuple[str, ...], cls: type | None, out: list) -> None:
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            _walk(sub, (*path, str(note.name)), note.type, out)
        for sub in without:
            _walk(sub, path, exc.cl, out)
    elif isinstance(exc, IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            _walk(sub, (*path, f"[{note.index}]"), None, out)
        for sub in without:
            _walk(sub, path, None, out)
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            _walk(sub, path, cls, out)
    else:
        out.append((path, _leaf_message(exc, cls)))


def format_path(section: str, path: tuple[str, ...]) -> str:
    """``[train] batch_size`` style location of a value in a recipe."""
    where = f"[{section}]" if section else ""
    key = ".".join(path).replace(".[", "[")
    return f"{where} {key}".strip() if key else (where or "recipe")


def structure(raw: Any, cls: type, *, section: str) -> Any:
    """Structure ``raw`` into ``cls``; raise ``ValueError`` with one line per problem."""
    try:
        return converter.structure(raw, cls)
    except (ClassValidationError, IterableValidationError) as exc:
        problems: list[tuple[tuple[str, ...], str]] = []
        _walk(exc, (), cls, problems)
        lines = [f"{format_path(section, p)}: {m}" if p else f"{format_path(section, p)} {m}"
                 for p, m in problems]
        raise ValueError("\n".join(lines)) from None
    except (ValueError, TypeError) as exc:  # validators raised outside cattrs' collection
        raise ValueError(f"{format_path(section, ())} {exc}") from None


def unstructure(obj: Any) -> Any:
    """A plain dict of an attrs config (tuples become lists, paths strings, ``None`` dropped)."""
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return clean(converter.unstructure(obj))
