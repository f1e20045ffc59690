"""Recipes: a TOML file that says what to train, on what data, and how.

```toml
base = "dcgan_base.toml"     # optional: inherit, then override
architecture = "dcgan"
seed = 0
[data]
dataset = "digits"           # the rest of [data] is the dataset's own config
resolution = 32
[model]                      # the architecture's own config class
z_dim = 100
[train]                      # the trainer's config class (a ganzoo.TrainConfig subclass)
steps = 2000
```

:meth:`Recipe.from_toml` checks everything (keys, types, values, registry names) before any work
starts and raises :class:`~ganzoo.base.errors.RecipeError` naming the file, the TOML path and the
closest valid key or name.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import RecipeError, UnknownNameError, did_you_mean
from ganzoo.config.structure import structure, unstructure
from ganzoo.config.train_config import TrainConfig

TOP_LEVEL_KEYS = ("base", "name", "architecture", "trainer", "seed", "data", "model", "train")
SECTIONS = ("data", "model", "train")


@attrs.frozen(kw_only=True)
class DataSpec:
    """The ``[data]`` table: a dataset name and that dataset's config."""

    dataset: str
    config: Any


@attrs.frozen(kw_only=True)
class Recipe:
    """A fully resolved, validated recipe."""

    name: str
    architecture: str
    trainer: str
    seed: int
    data: DataSpec
    model: Any
    train: TrainConfig
    source: str = "<recipe>"

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path, overrides: Iterable[str] = (), *,
                  allow_base: bool = True) -> Recipe:
        """Read ``path`` (following ``base =`` unless ``allow_base=False``), apply
        ``key.path=value`` overrides, validate."""
        path = Path(path)
        raw = load_raw(path, allow_base=allow_base)
        raw = apply_overrides(raw, overrides, source=str(path))
        raw.setdefault("name", _UNSAFE_NAME.sub("-", path.stem)[:MAX_NAME] or "run")
        return cls.from_dict(raw, source=str(path))

    def with_overrides(self, overrides: Iterable[str]) -> Recipe:
        """This recipe with ``key.path=value`` overrides applied (as ``--set``), validated again."""
        source = str(self.source)
        return Recipe.from_dict(apply_overrides(self.to_dict(), overrides, source=source),
                                source=source)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "<recipe>") -> Recipe:
        """Validate a recipe given as nested dicts (as TOML would parse it)."""
        raw = dict(raw)
        raw.pop("base", None)

        def fail(message: str) -> RecipeError:
            return RecipeError(f"{source}: {message}")

        unknown = [k for k in raw if k not in TOP_LEVEL_KEYS]
        if unknown:
            key = unknown[0]
            raise fail(f"unknown top-level key {key!r}{did_you_mean(key, TOP_LEVEL_KEYS)}; "
                       f"valid keys: {', '.join(TOP_LEVEL_KEYS)}")
        for section in SECTIONS:
            if section in raw and not isinstance(raw[section], Mapping):
                raise fail(f"{section!r} must be a table ([{section}]), got {raw[section]!r}")
        for key, kind in (("architecture", str), ("name", str), ("trainer", str), ("seed", int)):
            if key in raw and (not isinstance(raw[key], kind) or isinstance(raw[key], bool)):
                raise fail(f"{key} must be {'an integer' if kind is int else 'a string'}, "
                           f"got {raw[key]!r}")
        if "name" in raw:
            _check_name(raw["name"], fail)
        if "seed" in raw and not 0 <= raw["seed"] < 2**63:
            raise fail(f"seed = {raw['seed']}: expected 0 <= seed < 2**63")
        if "architecture" not in raw:
            raise fail("missing required key 'architecture' (e.g. architecture = \"dcgan\")")
        if "dataset" not in raw.get("data", {}):
            raise fail("[data] is missing required key 'dataset' (e.g. dataset = \"digits\")")

        def lookup(kind: str, name: Any, where: str):
            if not isinstance(name, str):
                raise fail(f"{where} must be a string, got {name!r}")
            try:
                return plugins.registry(kind).get(name)
            except UnknownNameError as exc:
                raise fail(f"{where} = {name!r}: {exc}") from None

        arch = lookup("architectures", raw["architecture"], "architecture")
        trainer_name = raw.get("trainer", arch.trainer)
        trainer = lookup("trainers", trainer_name, "trainer")
        data_raw = dict(raw["data"])
        dataset = lookup("datasets", data_raw.pop("dataset"), "[data] dataset")

        def section(name: str, table: Any, config_cls: type) -> Any:
            try:
                return structure(dict(table), config_cls, section=name)
            except ValueError as exc:
                raise fail(str(exc)) from None

        recipe = cls(
            name=raw.get("name", "run"),
            architecture=arch.name,
            trainer=trainer.name,
            seed=raw.get("seed", 0),
            data=DataSpec(dataset=dataset.name,
                          config=section("data", data_raw, dataset.config_cls)),
            model=section("model", raw.get("model", {}), arch.config_cls),
            train=section("train", raw.get("train", {}), trainer.config_cls or TrainConfig),
            source=source,
        )
        for name in SECTIONS:
            _check_registry_names(getattr(recipe, name) if name != "data" else recipe.data.config,
                                  name, fail)
        return recipe

    # -- output -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe as TOML-ready dicts; ``Recipe.from_dict`` reads it back."""
        return {
            "name": self.name,
            "architecture": self.architecture,
            "trainer": self.trainer,
            "seed": self.seed,
            "data": {"dataset": self.data.dataset, **unstructure(self.data.config)},
            "model": unstructure(self.model),
            "train": unstructure(self.train),
        }

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())


MAX_NAME = 100
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")


def _check_name(name: str, fail) -> None:
    """A run name becomes a folder name under runs/: one safe path component, nothing more."""
    if len(name) > MAX_NAME or not _SAFE_NAME.fullmatch(name):
        shown = name if len(name) <= 40 else f"{name[:40]}..."
        raise fail(f"name = {shown!r}: a run name is one folder name of at most {MAX_NAME} "
                   "letters, digits and . _ + - (starting with a letter or digit), e.g. "
                   "name = \"dcgan-digits\"")


def _check_registry_names(config: Any, section: str, fail) -> None:
    """Fields declared with ``ganzoo.registry_name`` must name a registered entry."""
    if not attrs.has(type(config)):
        return
    for field in attrs.fields(type(config)):
        kind = field.metadata.get("registry")
        value = getattr(config, field.name)
        if kind is None or value is None:
            continue
        for name in value if isinstance(value, (tuple, list)) else [value]:
            try:
                entry = plugins.registry(kind).get(name)
            except UnknownNameError as exc:
                where = (f"{field.name}: {name!r}" if isinstance(value, (tuple, list))
                         else f"{field.name} = {name!r}")
                if field.metadata.get("list_known"):
                    known = plugins.registry(kind).names()
                    raise fail(f"[{section}] {where} is not a registered {kind.rstrip('s')}"
                               f"{did_you_mean(name, known)}; the {kind} are: "
                               f"{', '.join(known)}") from None
                raise fail(f"[{section}] {where}: {exc}") from None
            want = field.metadata.get("loss_kind")
            if want and entry.kind != want:
                names = [e.name for e in plugins.registry(kind) if e.kind == want]
                raise fail(f"[{section}] {field.name} = {name!r} is a {entry.kind} loss; "
                           f"expected a {want} loss: {', '.join(names)}")


MAX_BASE_DEPTH = 16  # a chain of bases this long is a mistake (or an attack), not a recipe
RECIPE_LIMIT = 1 << 20  # bytes: shipped recipes are about 1 KB


def load_raw(path: Path, _seen: tuple[Path, ...] = (), *,
             allow_base: bool = True) -> dict[str, Any]:
    """Parse ``path`` and merge it over its ``base`` chain (tables merge key by key).

    Only regular files of at most 1 MiB are read; ``allow_base=False`` (a recipe that came with
    a downloaded bundle) refuses ``base`` outright: a file from elsewhere does not get to choose
    which local file ganzoo reads.
    """
    from ganzoo.base.io import read_text_limited

    resolved = path.resolve()
    if resolved in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, resolved))
        raise RecipeError(f"{path}: recipes inherit from each other in a loop: {chain}")
    if len(_seen) >= MAX_BASE_DEPTH:
        raise RecipeError(f"{path}: more than {MAX_BASE_DEPTH} recipes deep in a chain of base = "
                          f"files (from {_seen[0]}); flatten the chain")
    try:
        text = read_text_limited(path, error=RecipeError, limit=RECIPE_LIMIT)
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise RecipeError(f"{path}: invalid TOML: tables or arrays nested too deeply") from None
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not allow_base:
        raise RecipeError(f"{path}: base = {base!r} refused: a recipe that came with a bundle "
                          "must be complete (it may not name other files to read)")
    if not isinstance(base, str) or not base:
        raise RecipeError(f"{path}: base must be a path string, got {base!r}")
    parent = load_raw(path.parent / base, (*_seen, resolved))
    return _merge(parent, raw)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.steps=10"`` → (["train", "steps"], 10). Values are TOML; bare words are strings."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise RecipeError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. train.steps=100")
    if key == "base":
        raise RecipeError(f"--set {text!r}: base is read before overrides apply; put base = "
                          "in the recipe file instead")
    if any(ord(c) < 32 for c in text):
        raise RecipeError(f"--set {text!r}: a newline or other control character in an "
                          "override (TOML would read only part of it); give one value per --set")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.split("."), parsed


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str], *, source: str) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for text in overrides:
        keys, value = parse_override(text)
        node = out
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise RecipeError(f"{source}: --set {text!r}: {where} is a value, not a table")
            node = child
        node[keys[-1]] = value
    return out
