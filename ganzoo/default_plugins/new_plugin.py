"""Default plugin: the ``ganzoo new-plugin`` command, registered like any plugin's command."""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_commands(registry) -> None:
    registry.add(name="new-plugin", command="ganzoo.plugin.authoring:new_plugin",
                 summary="Scaffold an installable plugin package.")
