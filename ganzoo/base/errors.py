"""Errors that ganzoo raises for user mistakes.

Every class here derives from :class:`GanzooError`. The CLI turns a ``GanzooError`` into one line
on stderr and a non-zero exit; anything else is a bug in ganzoo or a plugin and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """Base class of the errors a user can cause and fix."""


class RecipeError(GanzooError):
    """A recipe file, an override or a structured config is invalid."""


class PluginError(GanzooError):
    """A plugin is broken or two plugins claim the same name."""


class DuplicateNameError(PluginError):
    """Two plugins registered the same name in one registry."""


class UnknownNameError(GanzooError, KeyError):
    """A name that is not in a registry. A ``KeyError`` too, so ``except KeyError`` works."""

    def __init__(self, message: str, *, name: str, kind: str, suggestions: list[str]):
        super().__init__(message)
        self.name = name
        self.kind = kind
        self.suggestions = suggestions

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class DataError(GanzooError):
    """A dataset folder is missing or not in the expected layout."""


class CheckpointError(GanzooError):
    """A checkpoint or weights folder cannot be read or written."""


class WriteError(GanzooError):
    """An output file (checkpoint, weights, samples) could not be written; the old one is kept."""


class TrainingDiverged(GanzooError):
    """A loss became NaN or infinite."""


class RunDirError(GanzooError):
    """An output directory cannot be used for a run (it holds another run, or is not a run)."""


class TrackerError(GanzooError):
    """An experiment tracker (``[train] loggers``) could not start a run's tracking."""


class GanzooWarning(UserWarning):
    """Something the user should know that does not stop ganzoo; the CLI shows it as one line."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates closest to ``name``, best first (for "did you mean" hints)."""
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or the empty string."""
    best = closest(name, candidates, n=1)
    return f" (did you mean {best[0]!r}?)" if best else ""
