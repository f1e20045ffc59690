"""Registries: what the plugins provide, by name.

Each registry holds frozen entry records. Entries reference code by ``"module:attribute"`` strings
(:func:`load_ref`) so that registering never imports torch.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.machinery
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Iterator
from typing import Any, Generic, Literal, TypeVar

import attrs

from ganzoo.base.errors import DuplicateNameError, PluginError, UnknownNameError, closest, did_you_mean

# "module:attribute" -> "plugin X (dist 1.0): architecture 'x' build" for the first entry that
# registered it, so an import that fails at first use names who asked for it. Filled by the
# registrar, cleared when plugins are reloaded.
_REF_OWNERS: dict[str, str] = {}


def _owner(ref: str) -> str:
    owner = _REF_OWNERS.get(ref)
    return f"{owner}={ref!r}" if owner else repr(ref)


def load_ref(ref: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute.

    Every failure (no such module, an error while importing it, no such attribute) is one
    :class:`PluginError` line naming the plugin and entry that registered ``ref``.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{_owner(ref)}: bad reference, expected 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            siblings = missing_module(module_name) or []
            raise PluginError(f"{_owner(ref)}: no module named {exc.name!r}"
                              f"{did_you_mean(exc.name, siblings)}") from exc
        raise PluginError(f"{_owner(ref)}: importing {module_name} failed: "
                          f"ModuleNotFoundError: {exc} (install it, or fix the import)") from exc
    except Exception as exc:  # noqa: BLE001 - a plugin's bug, named in one line
        raise PluginError(f"{_owner(ref)}: importing {module_name} failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise PluginError(f"{_owner(ref)}: module {module_name!r} has no attribute "
                              f"{attr!r}{did_you_mean(part, public)}") from None
    return obj


def missing_module(name: str) -> list[str] | None:
    """``None`` when the module ``name`` can be found; else the modules that sit where it was
    looked for (for a "did you mean"). Nothing is imported: packages already imported are read
    from ``sys.modules``, the rest are located by their import specs. When the top-level
    package itself is not installed, ``[]`` is returned (an optional dependency, maybe)."""
    parts = name.split(".")
    locations = None
    try:
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            module = sys.modules.get(prefix)
            if module is not None:
                locations = getattr(module, "__path__", None)
                spec_found = True
            elif i == 1:
                spec = importlib.util.find_spec(prefix)  # a top-level name imports nothing
                spec_found = spec is not None
                locations = spec.submodule_search_locations if spec_found else None
            elif locations is None:
                return []  # the parent is a module, not a package
            else:
                spec = importlib.machinery.PathFinder.find_spec(prefix, list(locations))
                if spec is None:
                    return [f"{'.'.join(parts[:i - 1])}.{m.name}"
                            for m in pkgutil.iter_modules(list(locations))]
                spec_found, locations = True, spec.submodule_search_locations
            if not spec_found:
                return []
            if i < len(parts) and locations is None:
                return []
    except (ImportError, ValueError, AttributeError):
        return None  # cannot tell without importing: leave it to the first use
    return None


def _is_ref(_inst: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value.count(":") != 1:
        raise PluginError(
            f"{attribute.name}={value!r}: expected a 'module:attribute' string so that "
            "registration stays cheap"
        )


def _checks_ref(validator: Any) -> bool:
    """Is ``validator`` :func:`_is_ref`, alone or wrapped (``optional``, ``and_``)?"""
    if validator is _is_ref:
        return True
    inner = [getattr(validator, "validator", None), *getattr(validator, "_validators", ())]
    return any(v is not None and _checks_ref(v) for v in inner)


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
    #: Optional and checked: what a model does comes from its kind (:mod:`ganzoo.nn.kinds`); a
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
    setup: str | None = attrs.field(default=None, validator=attrs.validators.optional(_is_ref))
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
class LoggerEntry(Entry):
    """An experiment tracker a run can log to (``[train] loggers = ["NAME"]``).

    ``build``: ``"module:callable"`` taking no arguments and returning a
    :class:`ganzoo.training.trackers.Logger`. ``requires``: the modules it imports (checked
    before a run writes anything); ``install``: the one line that installs them.
    """

    build: str = attrs.field(validator=_is_ref)
    requires: tuple[str, ...] = attrs.field(
        default=(), converter=lambda names: (names,) if isinstance(names, str) else tuple(names))
    install: str = ""


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
        if previous is not None and previous.plugin == entry.plugin:
            raise DuplicateNameError(
                f"plugin {describe_plugin(entry.plugin)} registers {self.singular} "
                f"{entry.name!r} twice; give each registry.add(...) its own name")
        if previous is not None:
            # Suggest blocking the plugin that does not ship with ganzoo, if one of them doesn't.
            block = previous.plugin if entry.plugin in first_party else entry.plugin
            raise DuplicateNameError(
                f"{self.singular} {entry.name!r} is registered by two plugins:\n"
                f"  {describe_plugin(previous.plugin)} and {describe_plugin(entry.plugin)}\n"
                f"  Uninstall one, or block one with GANZOO_DISABLE_PLUGINS={block}"
            )
        self._entries[entry.name] = entry

    def extended(self, entries: list[E], describe_plugin,
                 first_party: frozenset[str] = frozenset()) -> Registry[E]:
        """A copy with ``entries`` added, all or nothing: a clash raises and changes nothing."""
        new = Registry(self.kind, self.entry_cls)
        new._entries = dict(self._entries)
        for entry in entries:
            new._add(entry, describe_plugin, first_party)
        return new

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
    The registrar records which plugin registered each entry, so errors can name it. Entries are
    collected in :attr:`entries`; the plugin manager adds them to the registry once every hook of
    the plugin has run, so a plugin that fails half-way registers nothing.
    """

    def __init__(self, registry: Registry, plugin: str, describe_plugin,
                 first_party: frozenset[str] = frozenset()):
        self._registry = registry
        self._plugin = plugin
        self._describe_plugin = describe_plugin
        self._first_party = first_party
        self.entries: list[Entry] = []
        self.added: list[str] = []

    def add(self, **fields: Any) -> None:
        """Register one entry; the accepted fields are those of the registry's entry class."""
        entry_cls = self._registry.entry_cls
        where = f"plugin {self._describe_plugin(self._plugin)}: register_{self._registry.kind}"
        allowed = [f.name for f in attrs.fields(entry_cls) if f.name != "plugin"]
        unknown = sorted(set(fields) - set(allowed))
        if unknown:
            raise PluginError(
                f"{where} got unknown field(s) {', '.join(unknown)}"
                f"{did_you_mean(unknown[0], allowed)}; accepted: {', '.join(allowed)}"
            )
        try:
            entry = entry_cls(plugin=self._plugin, **fields)
        except TypeError as exc:  # a missing required field
            raise PluginError(f"{where}: {exc}") from None
        except PluginError as exc:
            raise PluginError(f"{where}: {exc}") from None
        if entry.name in self.added:
            raise DuplicateNameError(
                f"plugin {self._describe_plugin(self._plugin)} registers "
                f"{self._registry.singular} {entry.name!r} twice; give each registry.add(...) "
                "its own name")
        what = f"plugin {self._describe_plugin(self._plugin)}: {self._registry.singular} " \
               f"{entry.name!r}"
        for field in attrs.fields(entry_cls):
            ref = getattr(entry, field.name)
            if not _checks_ref(field.validator) or ref is None:
                continue
            _REF_OWNERS.setdefault(ref, f"{what}: {field.name}")
            module = ref.partition(":")[0]
            siblings = missing_module(module)
            # A module of a package that is not installed at all may come with an optional
            # dependency: that one is reported at first use, by load_ref.
            if siblings is not None and (siblings or importlib.util.find_spec(
                    module.partition(".")[0]) is not None):
                raise PluginError(f"{what}: {field.name}={ref!r}: no module named {module!r}"
                                  f"{did_you_mean(module, siblings)}")
        self.entries.append(entry)
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
    "loggers": LoggerEntry,
    "commands": CommandEntry,
}
