"""Applications built on the library: the CLI, the demo page, reports, export."""
