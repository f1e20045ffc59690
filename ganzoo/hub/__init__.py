"""Bundles on disk and on the Hugging Face Hub: save, load, model cards, converters."""

from ganzoo.hub.loading import load  # noqa: F401  (ganzoo.hub.load, as before)
