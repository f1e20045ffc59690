"""The plugin manager: finds plugins once, on first use, and fills the registries.

Order: plugins from the ``ganzoo`` entry-point group (third-party and first-party alike), then
the first-party plugins of a source checkout whose entry points are absent, then ganzoo's
default plugins (:mod:`ganzoo.default_plugins`).

- ``GANZOO_LOAD_PLUGINS`` (comma-separated entry-point, module or distribution names) loads only
  those entry-point plugins; ``GANZOO_LOAD_PLUGINS=ganzoo`` is ganzoo's own set. Default plugins
  are always loaded.
- ``GANZOO_DISABLE_PLUGINS`` (same names) blocks plugins, default plugins included.
- ``GANZOO_TRACE_PLUGINS=1`` prints what each plugin registers.

A broken plugin never takes the others down: it is recorded with the reason (one line naming the
plugin, the hook or entry, and the way out) and registers nothing. A plugin that fails to import
is skipped with a :class:`PluginWarning`; one that breaks the hook contract makes
:func:`registry` raise its :class:`PluginError`, so the mistake is seen where it was made rather
than as an unknown name later. ``ganzoo plugins`` and ``ganzoo list`` show broken plugins.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import attrs
import pluggy

import ganzoo.plugin.hookspecs as hookspecs
from ganzoo.default_plugins import DEFAULT_PLUGINS, FIRST_PARTY
from ganzoo.base.errors import PluginError, closest, did_you_mean
from ganzoo.plugin.registry import _REF_OWNERS, REGISTRY_KINDS, Registry, registrar_for

ENTRY_POINT_GROUP = "ganzoo"
BUILTIN_PLUGINS = DEFAULT_PLUGINS
HOOKS = tuple(f"register_{kind}" for kind in REGISTRY_KINDS)


@attrs.frozen(kw_only=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...] = ()
    registered: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    broken: str = ""  # why the plugin registers nothing; "" when it works

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
    objects: dict[str, Any] = attrs.field(factory=dict)  # plugin name -> module or object
    problems: dict[str, PluginError] = attrs.field(factory=dict)  # contract errors, by plugin


_state: _State | None = None


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {item.strip() for item in raw.split(",") if item.strip()}


def _disabled() -> set[str]:
    return _names("GANZOO_DISABLE_PLUGINS") or set()


def _skipped(name: str, module: str, dist: str | None, *, default: bool = False) -> str:
    """Why the plugin is not loaded (blocked, or not allowed), or ""."""
    ids = {name, module, dist} - {None}
    if ids & _disabled():
        return "blocked by GANZOO_DISABLE_PLUGINS"
    allowed = _names("GANZOO_LOAD_PLUGINS")
    if allowed is not None and not default and not ids & allowed:
        return "not in GANZOO_LOAD_PLUGINS"
    return ""


def _trace(message: str) -> None:
    if os.environ.get("GANZOO_TRACE_PLUGINS"):
        print(f"ganzoo-trace: {message}", file=sys.stderr)


def _way_out(info: PluginInfo) -> str:
    if info.builtin or info.distribution is None:
        return ""
    return f" (until it is fixed, skip it with GANZOO_DISABLE_PLUGINS={info.name})"


# -- checking a plugin before pluggy sees it -------------------------------------------------
def _hook_like(pm: pluggy.PluginManager, plugin: Any) -> list[tuple[str, Any, bool]]:
    """(name, function, is it a hookimpl) for the plugin's hookimpls and for its own callables
    named ``register_*`` (a module's functions, or a class's methods)."""
    names = dir(plugin) if inspect.ismodule(plugin) else dir(type(plugin))
    found = []
    for name in names:
        function = getattr(plugin, name, None)
        marked = pm.parse_hookimpl_opts(plugin, name) is not None
        own = (not inspect.ismodule(plugin)
               or getattr(function, "__module__", None) == plugin.__name__)
        if marked or (own and name.startswith("register_") and callable(function)):
            found.append((name, function, marked))
    return found


def _required_args(function: Any) -> list[str]:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _contract_problem(pm: pluggy.PluginManager, plugin: Any, where: str) -> str:
    """The first way ``plugin`` breaks the hook contract, as one line, or ""."""
    for name, function, marked in _hook_like(pm, plugin):
        if name not in HOOKS:
            if not marked and not closest(name, HOOKS):
                continue  # a helper of the plugin's own, never called by ganzoo
            if not marked:
                return (f"{where} defines {name} without @ganzoo.hookimpl, and it is not a "
                        f"ganzoo hook{did_you_mean(name, HOOKS)}; rename it and decorate it "
                        "with @ganzoo.hookimpl")
            return (f"{where} implements {name}, which is not a ganzoo hook"
                    f"{did_you_mean(name, HOOKS)}; the hooks are {', '.join(HOOKS)}")
        if not marked:
            return (f"{where} defines {name} without @ganzoo.hookimpl, so ganzoo would never "
                    "call it; decorate it with @ganzoo.hookimpl")
        bad = [arg for arg in _required_args(function) if arg != "registry"]
        if bad:
            return (f"{where}: {name}({', '.join(_required_args(function))}) asks for "
                    f"{', '.join(map(repr, bad))}{did_you_mean(bad[0], ['registry'])}; "
                    f"ganzoo passes only 'registry'")
    return ""


def _add_plugin(st: _State, plugin: Any, info: PluginInfo) -> None:
    """Check ``plugin``, then hand it to pluggy; a broken one is recorded, not registered."""
    st.infos[info.name] = info
    problem = _contract_problem(st.manager, plugin, f"plugin {info.describe()}")
    if not problem:
        try:
            st.manager.register(plugin, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            problem = f"plugin {info.describe()}: {exc}"
    if problem:
        _mark_broken(st, info.name, PluginError(problem + _way_out(info)))
        return
    st.objects[info.name] = plugin


def _mark_broken(st: _State, name: str, error: PluginError) -> None:
    """A contract error: the plugin registers nothing and :func:`registry` raises ``error``."""
    st.infos[name] = attrs.evolve(st.infos[name], broken=str(error), registered={})
    st.problems[name] = error
    _trace(f"plugin {name} is broken: {error}")


# -- finding plugins ---------------------------------------------------------------------------
def _load_entry_points(st: _State) -> None:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(found, key=lambda e: e.name):
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        if ep.name in st.infos:
            continue  # the same distribution seen twice on sys.path
        skipped = _skipped(ep.name, ep.value, dist)
        if skipped:
            _trace(f"plugin {ep.name} ({dist}) {skipped}")
            continue
        if (dist == "ganzoo" and ep.value in FIRST_PARTY.values()
                and importlib.util.find_spec(ep.value) is None):
            # Metadata of a checkout (ganzoo.egg-info) without plugins/ on the path: the
            # first-party fallback below loads it from the checkout.
            continue
        info = PluginInfo(name=ep.name, module=ep.value, distribution=dist, version=version,
                          builtin=False)
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin bug must not stop the others
            message = (f"plugin {info.describe()} failed to import and was skipped: "
                       f"{type(exc).__name__}: {exc}{_way_out(info)}")
            st.infos[ep.name] = attrs.evolve(info, broken=message)
            warnings.warn(message, PluginWarning, stacklevel=3)
            continue
        _add_plugin(st, module, info)
        _trace(f"loaded plugin {ep.name} from {dist} {version}")


def _load_first_party(st: _State) -> None:
    """First-party plugins whose entry points are absent: a checkout used without pip install."""
    from ganzoo._version import __version__

    loaded = {info.module for info in st.infos.values()}
    checkout = Path(__file__).resolve().parents[2] / "plugins"
    for name, module_name in FIRST_PARTY.items():
        if name in st.infos or module_name in loaded or _skipped(name, module_name, "ganzoo"):
            continue
        if importlib.util.find_spec(module_name) is None:
            if not (checkout / module_name / "__init__.py").is_file():
                continue
            sys.path.append(str(checkout))  # the checkout's plugins/ folder, last in line
            importlib.invalidate_caches()
        info = PluginInfo(name=name, module=module_name, distribution="ganzoo",
                          version=__version__, builtin=False)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001
            message = (f"plugin {info.describe()} failed to import and was skipped: "
                       f"{type(exc).__name__}: {exc}{_way_out(info)}")
            st.infos[name] = attrs.evolve(info, broken=message)
            warnings.warn(message, PluginWarning, stacklevel=3)
            continue
        _add_plugin(st, module, info)
        _trace(f"loaded first-party plugin {name} from {module.__file__} (no entry point)")


def _load_defaults(st: _State) -> None:
    from ganzoo._version import __version__

    for module_name in DEFAULT_PLUGINS:
        if _skipped(module_name, module_name, None, default=True):
            continue
        info = PluginInfo(name=module_name, module=module_name, distribution="ganzoo",
                          version=__version__, builtin=True)
        _add_plugin(st, importlib.import_module(module_name), info)


# -- filling the registries --------------------------------------------------------------------
def _builtin_commands() -> set[str]:
    from ganzoo.apps.cli import cli

    return set(cli.commands)


def _call_hooks(st: _State, name: str, describe, first_party) -> dict[str, list]:
    """Run every hook of the plugin ``name`` into fresh registrars; its entries by kind."""
    staged: dict[str, list] = {}
    for kind, registry in st.registries.items():
        caller = getattr(st.manager.hook, f"register_{kind}")
        for impl in caller.get_hookimpls():
            if impl.plugin_name != name:
                continue
            registrar = registrar_for(registry, name, describe, first_party)
            # pluggy's calling convention: the hookimpl names the arguments it takes.
            args = {"registry": registrar}
            try:
                impl.function(*[args[arg] for arg in impl.argnames])
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise PluginError(f"plugin {describe(name)} failed in register_{kind}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            staged[kind] = registrar.entries
    return staged


def _fill_registries(st: _State) -> None:
    st.registries = {kind: Registry(kind, cls) for kind, cls in REGISTRY_KINDS.items()}
    _REF_OWNERS.clear()

    def describe(plugin_name: str) -> str:
        info = st.infos.get(plugin_name)
        return info.describe() if info else plugin_name

    first_party = frozenset(n for n, i in st.infos.items() if i.distribution == "ganzoo")
    reserved: set[str] | None = None
    for name in list(st.objects):
        info = st.infos[name]
        try:
            staged = _call_hooks(st, name, describe, first_party)
            commands = [e.name for e in staged.get("commands", ())]
            if commands and not info.builtin:
                reserved = _builtin_commands() if reserved is None else reserved
                clash = [c for c in commands if c in reserved]
                if clash:
                    raise PluginError(
                        f"plugin {info.describe()} registers the command {clash[0]!r}, which is "
                        f"a built-in ganzoo command; register it under another name")
            # All or nothing: every name is checked before the registries change.
            trial = {kind: st.registries[kind].extended(entries, describe, first_party)
                     for kind, entries in staged.items()}
        except PluginError as exc:
            if _way_out(info) and "GANZOO_DISABLE_PLUGINS" not in str(exc):
                exc = type(exc)(f"{exc}{_way_out(info)}")
            _mark_broken(st, name, exc)
            continue
        for kind, registry in trial.items():
            st.registries[kind] = registry
        registered = {kind: tuple(e.name for e in entries) for kind, entries in staged.items()
                      if entries}
        for kind, names in registered.items():
            _trace(f"{name} registered {kind}: {', '.join(names)}")
        hooks = tuple(sorted(h.name for h in st.manager.get_hookcallers(st.objects[name]) or ()))
        st.infos[name] = attrs.evolve(info, hooks=hooks, registered=registered, broken="")


def _load() -> _State:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    st = _State(manager=pm, infos={}, registries={})
    _load_entry_points(st)
    _load_first_party(st)
    _load_defaults(st)
    _fill_registries(st)
    return st


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


def registry(kind: str, *, strict: bool = True) -> Registry:
    """The registry of ``kind`` (``"architectures"``, ``"losses"``, ...).

    A plugin that breaks the hook contract makes this raise its one-line :class:`PluginError`;
    ``strict=False`` gives what the working plugins registered instead (listings use it).
    """
    st = state()
    if strict and st.problems:
        raise next(iter(st.problems.values()))
    try:
        return st.registries[kind]
    except KeyError:
        from ganzoo.base.errors import UnknownNameError

        raise UnknownNameError(
            f"no registry named {kind!r}; registries: {', '.join(REGISTRY_KINDS)}",
            name=kind, kind="registries", suggestions=closest(kind, REGISTRY_KINDS),
        ) from None


def plugins() -> list[PluginInfo]:
    """The plugins found, entry-point plugins first, default plugins last; broken ones too
    (their :attr:`PluginInfo.broken` says why)."""
    return list(state().infos.values())


def broken() -> list[PluginInfo]:
    """The plugins that register nothing because of a problem, with the reason."""
    return [info for info in plugins() if info.broken]


def register_plugin(plugin: Any, name: str) -> None:
    """Register an in-process plugin object (tests, notebooks); registries are rebuilt.

    A broken plugin raises its :class:`PluginError` and leaves everything as it was."""
    st = state()
    if name in st.infos:
        raise PluginError(f"a plugin named {name!r} is already loaded; choose another name")
    info = PluginInfo(name=name, module=getattr(plugin, "__name__", name), distribution=None,
                      version=None, builtin=False)
    _add_plugin(st, plugin, info)
    if name not in st.problems:
        _fill_registries(st)
    error = st.problems.pop(name, None)
    if error is not None:
        if name in st.objects:
            st.manager.unregister(name=name)
            del st.objects[name]
        del st.infos[name]
        _fill_registries(st)
        raise error
