"""The plugin API: hookspecs, registries, the plugin manager, the default plugins."""
