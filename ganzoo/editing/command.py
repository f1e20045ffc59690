"""``ganzoo edit VERB ...``: runs the command of any registered editor, a plugin's included.

An editor (``register_editors``) names its verbs in ``commands={"verb": "module:click_command"}``.
``ganzoo edit VERB`` runs that command; ``ganzoo edit EDITOR VERB`` does too, and an editor with
a single verb also answers to its own name (``ganzoo edit projection`` is ``ganzoo edit
project``). Commands are imported only when run or when their help is shown, so listing the
verbs stays cheap.
"""

from __future__ import annotations

import click

import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import GanzooError, PluginError, UnknownNameError, closest
from ganzoo.plugin.registry import load_ref


def verbs() -> dict[str, tuple[str, str]]:
    """``{verb: (editor name, "module:click_command")}`` of every registered editor; a verb
    two editors claim is a :class:`PluginError` naming both."""
    found: dict[str, tuple[str, str]] = {}
    for entry in plugins.registry("editors"):
        for verb, ref in entry.commands.items():
            if verb in found:
                other = plugins.registry("editors").get(found[verb][0])
                raise PluginError(f"`ganzoo edit {verb}` is claimed by two editors: "
                                  f"{other.name!r} ({other.plugin}) and {entry.name!r} "
                                  f"({entry.plugin}); rename one of the verbs")
            found[verb] = (entry.name, ref)
    return found


def _command(ref: str, name: str) -> click.Command:
    command = load_ref(ref)
    if not isinstance(command, click.Command):
        raise PluginError(f"editor command {ref!r} is a {type(command).__name__}, not a click "
                          "command (decorate it with @click.command())")
    command.name = name
    return command


class EditGroup(click.Group):
    """The verbs of the registered editors, resolved lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            return sorted(verbs())
        except GanzooError:
            return []

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        table = verbs()
        if name in table:
            return _command(table[name][1], name)
        editors = plugins.registry("editors")
        if name in editors:
            entry = editors.get(name)
            if len(entry.commands) == 1:
                verb, ref = next(iter(entry.commands.items()))
                return _command(ref, verb)
            if entry.commands:
                group = click.Group(name, help=entry.summary)
                for verb, ref in entry.commands.items():
                    group.add_command(_command(ref, verb))
                return group
            raise UnknownNameError(f"editor {name!r} ({entry.plugin}) has no command; use it "
                                   f"from Python ({entry.build})", name=name, kind="editors",
                                   suggestions=[])
        suggestions = closest(name, [*table, *editors.names()])
        hint = f" Did you mean {suggestions[0]!r}?" if suggestions else ""
        raise UnknownNameError(f"no editor command named {name!r}.{hint}\n"
                               f"  `ganzoo edit --help` lists them ({', '.join(sorted(table))})",
                               name=name, kind="editors", suggestions=suggestions)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The verbs with their editor's summary (their commands are not imported for it)."""
        try:
            table = verbs()
        except GanzooError as exc:
            formatter.write_paragraph()
            formatter.write_text(str(exc))
            return
        editors = plugins.registry("editors")
        rows = [(verb, f"[{editor}] {editors.get(editor).summary}")
                for verb, (editor, _) in sorted(table.items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=EditGroup)
def edit() -> None:
    """Edit what a generator draws with a registered editor (`ganzoo list editors`):
    `ganzoo edit VERB ...` runs the editor's command, e.g. `ganzoo edit fit MODEL --out AXES`."""
