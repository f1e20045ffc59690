"""ganzoo: a plugin-based zoo of generative adversarial networks.

Importing ganzoo is cheap: torch is imported only when a model, dataset or training run is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import (
    CheckpointError,
    DataError,
    GanzooError,
    PluginError,
    RecipeError,
    RunDirError,
    TrainingDiverged,
    UnknownNameError,
    WriteError,
)
from .hookspecs import hookimpl
from .recipe import Recipe
from .train_config import AdversarialTrainConfig, TrainConfig, registry_name

if TYPE_CHECKING:  # pragma: no cover
    from .model import GANModel

__all__ = [
    "AdversarialTrainConfig", "CheckpointError", "DataError", "GANModel", "GanzooError",
    "PluginError", "Recipe", "RecipeError", "RunDirError", "TrainConfig", "TrainingDiverged",
    "UnknownNameError", "WriteError", "__version__", "create", "get", "hookimpl", "list_names", "load",
    "registry_name", "train",
]


def list_names(kind: str, pattern: str | None = None) -> list[str]:
    """Registered names of ``kind`` (``"architectures"``, ``"losses"``, ...), shell wildcards ok."""
    from . import plugins

    return plugins.registry(kind).names(pattern)


def get(kind: str, name: str):
    """The registry entry ``name`` of ``kind``; an :class:`UnknownNameError` with suggestions."""
    from . import plugins

    return plugins.registry(kind).get(name)


def create(architecture: str, **config: Any):
    """A freshly initialised model of ``architecture``; keyword arguments override its config."""
    from . import plugins
    from .structure import structure
    from .weights import build_model

    entry = plugins.registry("architectures").get(architecture)
    try:
        cfg = structure(config, entry.config_cls, section="model")
    except ValueError as exc:
        raise RecipeError(f"create({architecture!r}): {exc}") from None
    return build_model(entry.name, cfg)


def load(path: str, *, device: str = "cpu"):
    """Load a model for inference from a run directory or a weights folder (eval mode)."""
    from .loading import load as _load

    return _load(path, device=device)


def train(recipe: str | Recipe, out: str | None = None, *, overrides=(), progress: bool = True):
    """Train a recipe (a path or a :class:`Recipe`) into the run directory ``out``."""
    from .training.loop import train as _train

    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_toml(recipe, overrides)
    return _train(recipe, out, progress=progress)


def __getattr__(name: str) -> Any:
    if name == "GANModel":
        from .model import GANModel

        return GANModel
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
