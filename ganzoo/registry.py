"""Registries: what the plugins provide, by name.

Each registry holds frozen entry records. Entries reference code by ``"module:attribute"`` strings
(:func:`load_ref`) so that registering never imports torch.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Iterator
from typing import Any, Generic, Literal, TypeVar

import attrs

from .errors import DuplicateNameError, PluginError, UnknownNameError, closest


def load_ref(ref: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"bad reference {ref!r}: expected 'module:attribute'")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"{ref!r}: module {module_name!r} has no attribute {attr!r}") from None
    return obj


def _is_ref(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value.count(":") != 1:
        raise PluginError(
            f"{attribute.name}={value!r}: expected a 'module:attribute' string so that "
            "registration stays cheap"
        )


@attrs.frozen(kw_only=True)
class Entry:
    """Fields every entry has. ``plugin`` is filled in by the registrar."""

    name: str
    summary: str = ""
    plugin: str = ""

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (classes shown by their import path)."""
        out = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, type):
                value = f"{value.__module__}:{value.__qualname__}"
            out[field.name] = value
        return out


@attrs.frozen(kw_only=True)
class ArchitectureEntry(Entry):
    config_cls: type
    build: str = attrs.field(validator=_is_ref)
    trainer: str
    #: Optional and checked: what a model does comes from its kind (:mod:`ganzoo.kinds`); a
    #: plugin that still says ``task=`` must build a model of the kind that task names.
    task: Literal["unconditional", "conditional", "image-to-image", "text-to-image",
                  "super-resolution"] | None = None
    paper: str = ""
    tiny: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LossEntry(Entry):
    kind: Literal["adversarial", "reconstruction", "regularizer"]
    fn: str = attrs.field(validator=_is_ref)
    g_fn: str | None = attrs.field(default=None, validator=_is_ref)

    def __attrs_post_init__(self) -> None:
        if (self.kind == "adversarial") != (self.g_fn is not None):
            raise PluginError(f"loss {self.name!r}: g_fn is given exactly for adversarial losses")


@attrs.frozen(kw_only=True)
class TrainerEntry(Entry):
    step: str = attrs.field(validator=_is_ref)
    optimizers: str = attrs.field(default="ganzoo.training.context:default_optimizers",
                                  validator=_is_ref)
    config_cls: type | None = None  # None: ganzoo.TrainConfig


@attrs.frozen(kw_only=True)
class DatasetEntry(Entry):
    config_cls: type
    build: str = attrs.field(validator=_is_ref)
    kind: Literal["images", "labelled", "paired", "unpaired", "captioned"] = "images"


@attrs.frozen(kw_only=True)
class MetricEntry(Entry):
    compute: str = attrs.field(validator=_is_ref)


@attrs.frozen(kw_only=True)
class FeatureEntry(Entry):
    """A feature extractor: ``compute(images [N, C, H, W] in [-1, 1]) -> [N]`` (a regressor's
    value) or ``[N, K]`` (a classifier's class probabilities). Editors label generated images
    with them (TL-GAN axes); ``domain`` says what images it understands (``"digits"``)."""

    compute: str = attrs.field(validator=_is_ref)
    kind: str = attrs.field(default="regressor",
                            validator=attrs.validators.in_(("regressor", "classifier")))
    domain: str = ""


@attrs.frozen(kw_only=True)
class WeightsEntry(Entry):
    """Named pretrained weights.

    ``source``: a Hub repo in ganzoo's format, pinned (``"org/repo@revision"``), or a folder
    inside an installed package (``"package:pkg/relative/folder"``). ``url`` + ``converter``: a
    third-party checkpoint (a PyTorch state dict) and the ``"module:function"`` that turns its
    state dict into a model; it is downloaded once, converted and cached. When both are given,
    the Hub repo is tried first.
    """

    architecture: str
    source: str | None = None
    url: str | None = None
    converter: str | None = attrs.field(default=None, validator=_is_ref)
    sha256: str | None = None
    license: str = ""
    paper: str = ""
    dataset: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.source and not self.url:
            raise PluginError(f"weights {self.name!r}: give a source (Hub repo or package folder) "
                              "or a url with a converter")
        if self.url and not self.converter:
            raise PluginError(f"weights {self.name!r}: url needs a converter ('module:function')")


@attrs.frozen(kw_only=True)
class EditorEntry(Entry):
    """A latent-space editor: ``build`` is its Python entry point; ``commands`` maps each verb
    of ``ganzoo edit VERB ...`` to a ``"module:click_command"`` (imported only when run);
    ``load`` (optional, ``"module:function"``) reads a saved edit, e.g. feature axes from a
    folder or Hub repo, for ``ganzoo serve --axes``."""

    build: str = attrs.field(validator=_is_ref)
    commands: dict[str, str] = attrs.field(factory=dict)
    load: str | None = attrs.field(default=None, validator=_is_ref)

    def __attrs_post_init__(self) -> None:
        for verb, ref in self.commands.items():
            if not isinstance(verb, str) or not verb or " " in verb:
                raise PluginError(f"editor {self.name!r}: command name {verb!r} must be one word")
            _is_ref(self, attrs.fields(EditorEntry).build, ref)


@attrs.frozen(kw_only=True)
class CommandEntry(Entry):
    command: str = attrs.field(validator=_is_ref)


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """Entries of one kind, by name. ``kind`` is the plural used by ``ganzoo list KIND``."""

    def __init__(self, kind: str, entry_cls: type[E]):
        self.kind = kind
        self.entry_cls = entry_cls
        self._entries: dict[str, E] = {}

    @property
    def singular(self) -> str:
        return {"weights": "weights", "losses": "loss"}.get(self.kind, self.kind.rstrip("s"))

    def _add(self, entry: E, describe_plugin, first_party: frozenset[str] = frozenset()) -> None:
        previous = self._entries.get(entry.name)
        if previous is not None:
            # Suggest blocking the plugin that does not ship with ganzoo, if one of them doesn't.
            block = previous.plugin if entry.plugin in first_party else entry.plugin
            raise DuplicateNameError(
                f"{self.singular} {entry.name!r} is registered by two plugins:\n"
                f"  {describe_plugin(previous.plugin)} and {describe_plugin(entry.plugin)}\n"
                f"  Uninstall one, or block one with GANZOO_DISABLE_PLUGINS={block}"
            )
        self._entries[entry.name] = entry

    def get(self, name: str) -> E:
        """The entry called ``name``; an :class:`UnknownNameError` with suggestions otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            pass
        suggestions = closest(name, self._entries)
        hint = f" Did you mean {suggestions[0]!r}?" if suggestions else ""
        raise UnknownNameError(
            f"no {self.singular} named {name!r}.{hint}\n"
            f"  `ganzoo list {self.kind}` shows all registered {self.kind}.",
            name=name,
            kind=self.kind,
            suggestions=suggestions,
        )

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted names, optionally filtered by a shell wildcard (``"*gan*"``)."""
        names = sorted(self._entries)
        if pattern:
            names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        return names

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)


class Registrar(Generic[E]):
    """What a hook implementation receives: ``registry.add(name=..., ...)``.

    ``add`` accepts exactly the fields of the registry's entry class (its signature says which).
    The registrar records which plugin registered each entry, so errors can name it.
    """

    def __init__(self, registry: Registry, plugin: str, describe_plugin,
                 first_party: frozenset[str] = frozenset()):
        self._registry = registry
        self._plugin = plugin
        self._describe_plugin = describe_plugin
        self._first_party = first_party
        self.added: list[str] = []

    def add(self, **fields: Any) -> None:
        """Register one entry; the accepted fields are those of the registry's entry class."""
        entry_cls = self._registry.entry_cls
        allowed = [f.name for f in attrs.fields(entry_cls) if f.name != "plugin"]
        unknown = sorted(set(fields) - set(allowed))
        if unknown:
            raise PluginError(
                f"plugin {self._plugin!r}: register_{self._registry.kind} got unknown field(s) "
                f"{', '.join(unknown)}; accepted: {', '.join(allowed)}"
            )
        try:
            entry = entry_cls(plugin=self._plugin, **fields)
        except TypeError as exc:  # a missing required field
            raise PluginError(
                f"plugin {self._plugin!r}: register_{self._registry.kind}: {exc}"
            ) from None
        except PluginError as exc:
            raise PluginError(f"plugin {self._plugin!r}: {exc}") from None
        self._registry._add(entry, self._describe_plugin, self._first_party)
        self.added.append(entry.name)


def _add_signature(entry_cls: type[Entry]) -> inspect.Signature:
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    for field in attrs.fields(entry_cls):
        if field.name == "plugin":
            continue
        default = inspect.Parameter.empty
        if field.default is not attrs.NOTHING:
            default = (field.default.factory() if isinstance(field.default, attrs.Factory)
                       else field.default)
        params.append(inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=default, annotation=field.type))
    return inspect.Signature(params, return_annotation=None)


def registrar_for(registry: Registry, plugin: str, describe_plugin,
                  first_party: frozenset[str] = frozenset()) -> Registrar:
    """A registrar whose ``add`` shows the entry class's fields as its signature."""
    cls = _REGISTRAR_CLASSES.get(registry.kind)
    if cls is None:
        def add(self, **fields: Any) -> None:
            Registrar.add(self, **fields)

        add.__signature__ = _add_signature(registry.entry_cls)
        add.__doc__ = (f"Register one {registry.singular}: the fields of "
                       f"{registry.entry_cls.__name__}.")
        name = f"{registry.entry_cls.__name__.removesuffix('Entry')}Registrar"
        cls = type(name, (Registrar,), {"add": add, "__module__": __name__})
        _REGISTRAR_CLASSES[registry.kind] = cls
    return cls(registry, plugin, describe_plugin, first_party)


_REGISTRAR_CLASSES: dict[str, type[Registrar]] = {}

REGISTRY_KINDS: dict[str, type[Entry]] = {
    "architectures": ArchitectureEntry,
    "losses": LossEntry,
    "trainers": TrainerEntry,
    "datasets": DatasetEntry,
    "metrics": MetricEntry,
    "weights": WeightsEntry,
    "editors": EditorEntry,
    "features": FeatureEntry,
    "commands": CommandEntry,
}
