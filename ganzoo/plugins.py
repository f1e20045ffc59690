"""The plugin manager: finds plugins once, on first use, and fills the registries.

Order: third-party and first-party plugins from the ``ganzoo`` entry-point group, then ganzoo's
built-in plugins. ``GANZOO_DISABLE_PLUGINS`` (comma-separated plugin or distribution names) blocks
plugins; ``GANZOO_TRACE_PLUGINS=1`` prints what each plugin registers.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import warnings
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .errors import PluginError
from .registry import REGISTRY_KINDS, Registry, registrar_for

ENTRY_POINT_GROUP = "ganzoo"
BUILTIN_PLUGINS = ("ganzoo.builtin_plugin", "ganzoo.authoring")


@attrs.frozen(kw_only=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...] = ()
    registered: dict[str, tuple[str, ...]] = attrs.field(factory=dict)

    def describe(self) -> str:
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version})"
        return self.name


class PluginWarning(UserWarning):
    """A plugin could not be loaded; the others still are."""


@attrs.define
class _State:
    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    registries: dict[str, Registry]


_state: _State | None = None


def _disabled() -> set[str]:
    raw = os.environ.get("GANZOO_DISABLE_PLUGINS", "")
    return {item.strip() for item in raw.split(",") if item.strip()}


def _trace(message: str) -> None:
    if os.environ.get("GANZOO_TRACE_PLUGINS"):
        print(f"ganzoo-trace: {message}", file=sys.stderr)


def _load_entry_points(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    disabled = _disabled()
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        if ep.name in disabled or (dist and dist in disabled) or ep.value in disabled:
            _trace(f"plugin {ep.name} ({dist}) blocked by GANZOO_DISABLE_PLUGINS")
            continue
        if ep.name in infos:
            continue  # the same distribution seen twice on sys.path
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin bug must not stop the others
            warnings.warn(
                f"ganzoo: plugin {ep.name!r} from distribution {dist or '?'} {version or ''} "
                f"failed to import and was skipped: {type(exc).__name__}: {exc}",
                PluginWarning,
                stacklevel=2,
            )
            continue
        pm.register(module, name=ep.name)
        infos[ep.name] = PluginInfo(
            name=ep.name, module=ep.value, distribution=dist, version=version, builtin=False
        )
        _trace(f"loaded plugin {ep.name} from {dist} {version}")


def _load_builtins(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    from ._version import __version__

    disabled = _disabled()
    for module_name in BUILTIN_PLUGINS:
        if module_name in disabled:
            continue
        pm.register(importlib.import_module(module_name), name=module_name)
        infos[module_name] = PluginInfo(
            name=module_name, module=module_name, distribution="ganzoo", version=__version__,
            builtin=True,
        )


def _fill_registries(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> dict[str, Registry]:
    registries = {kind: Registry(kind, cls) for kind, cls in REGISTRY_KINDS.items()}

    def describe(plugin_name: str) -> str:
        info = infos.get(plugin_name)
        return info.describe() if info else plugin_name

    first_party = frozenset(n for n, i in infos.items() if i.distribution == "ganzoo")
    registered: dict[str, dict[str, tuple[str, ...]]] = {name: {} for name in infos}
    for kind, registry in registries.items():
        caller = getattr(pm.hook, f"register_{kind}")
        # Called one plugin at a time so each entry records the plugin that added it.
        for impl in reversed(caller.get_hookimpls()):
            registrar = registrar_for(registry, impl.plugin_name, describe, first_party)
            try:
                impl.function(registry=registrar)
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise PluginError(
                    f"plugin {describe(impl.plugin_name)} failed in register_{kind}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if registrar.added:
                registered.setdefault(impl.plugin_name, {})[kind] = tuple(registrar.added)
                _trace(f"{impl.plugin_name} registered {kind}: {', '.join(registrar.added)}")
    for name, info in list(infos.items()):
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(name)) or ()))
        infos[name] = attrs.evolve(info, hooks=hooks, registered=registered.get(name, {}))
    return registries


def _load() -> _State:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    _load_entry_points(pm, infos)
    _load_builtins(pm, infos)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin {exc.plugin!r} implements a hook that ganzoo does not define: {exc}. "
            "Hook names start with 'register_' (see `ganzoo.hookspecs`)."
        ) from None
    registries = _fill_registries(pm, infos)
    return _State(manager=pm, infos=infos, registries=registries)


def state() -> _State:
    """Load the plugins once and return the manager, plugin infos and registries."""
    global _state
    if _state is None:
        _state = _load()
    return _state


def reset() -> None:
    """Forget loaded plugins; the next use loads them again (tests, or after installing one)."""
    global _state
    _state = None


def registry(kind: str) -> Registry:
    """The registry of ``kind`` (``"architectures"``, ``"losses"``, ...)."""
    try:
        return state().registries[kind]
    except KeyError:
        from .errors import UnknownNameError, closest

        raise UnknownNameError(
            f"no registry named {kind!r}; registries: {', '.join(REGISTRY_KINDS)}",
            name=kind, kind="registries", suggestions=closest(kind, REGISTRY_KINDS),
        ) from None


def plugins() -> list[PluginInfo]:
    """The loaded plugins, third-party and first-party first, built-ins last."""
    return list(state().infos.values())


def register_plugin(plugin: Any, name: str) -> None:
    """Register an in-process plugin object (tests, notebooks); registries are rebuilt."""
    st = state()
    st.manager.register(plugin, name=name)
    st.infos[name] = PluginInfo(name=name, module=getattr(plugin, "__name__", name),
                                distribution=None, version=None, builtin=False)
    try:
        st.manager.check_pending()
    except pluggy.PluginValidationError as exc:
        st.manager.unregister(name=name)
        del st.infos[name]
        raise PluginError(f"plugin {name!r}: {exc}") from None
    try:
        st.registries = _fill_registries(st.manager, st.infos)
    except PluginError:
        st.manager.unregister(name=name)
        del st.infos[name]
        st.registries = _fill_registries(st.manager, st.infos)
        raise
