"""ganzoo: a plugin-based zoo of generative adversarial networks.

Importing ganzoo is cheap: torch is imported only when a model, dataset or training run is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganzoo._version import __version__

from ganzoo import _aliases

_aliases.install()

from ganzoo.base.errors import (
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
from ganzoo.plugin.hookspecs import hookimpl
from ganzoo.config.train_config import (
    LR_SCHEDULES,
    AdversarialTrainConfig,
    TrainConfig,
    finite,
    one_of,
    registry_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from ganzoo.config.recipe import Recipe
    from ganzoo.nn.model import GANModel

__all__ = [
    "AdversarialTrainConfig", "CheckpointError", "DataError", "GANModel", "GanzooError",
    "PluginError", "Recipe", "RecipeError", "RunDirError", "TrainConfig", "TrainingDiverged",
    "UnknownNameError", "WriteError", "__version__", "create", "finite", "get", "hookimpl",
    "list_names", "load", "registry_name", "train", "one_of", "LR_SCHEDULES",
    "LatentGenerator", "ConditionalGenerator", "TextToImage", "Translator", "Upscaler",
    "DiscreteInput", "ContinuousInput",
]

# The public API: the names above and these modules, with their submodules and every name in
# them that does not start with "_". Plugins import nothing else from ganzoo (a test checks
# plugins/ and examples/); docs/plugins.md lists them. Everything else may change any release.
PUBLIC_MODULES = (
    "ganzoo.plugin.hookspecs", "ganzoo.plugin.registry", "ganzoo.plugin.manager", "ganzoo.base.errors", "ganzoo.nn.kinds",
    "ganzoo.nn.model", "ganzoo.nn.blocks", "ganzoo.nn.losses", "ganzoo.base.images", "ganzoo.base.io",
    "ganzoo.base.safe_pickle", "ganzoo.base.extras", "ganzoo.hub.bundle", "ganzoo.hub.loading", "ganzoo.apps.export", "ganzoo.testing",
    "ganzoo.data", "ganzoo.metrics", "ganzoo.editing", "ganzoo.training.context",
    "ganzoo.training.schedules", "ganzoo.training.trackers", "ganzoo.nn.inference",
    "ganzoo.apps.onnx_runtime", "ganzoo.apps.cli_inference",
)


def list_names(kind: str, pattern: str | None = None) -> list[str]:
    """Registered names of ``kind`` (``"architectures"``, ``"losses"``, ...), shell wildcards ok."""
    import ganzoo.plugin.manager as plugins

    return plugins.registry(kind).names(pattern)


def get(kind: str, name: str):
    """The registry entry ``name`` of ``kind``; an :class:`UnknownNameError` with suggestions."""
    import ganzoo.plugin.manager as plugins

    return plugins.registry(kind).get(name)


def create(architecture: str, **config: Any):
    """A freshly initialised model of ``architecture``; keyword arguments override its config."""
    import ganzoo.plugin.manager as plugins
    from ganzoo.config.structure import structure
    from ganzoo.hub.bundle import build_model

    entry = plugins.registry("architectures").get(architecture)
    try:
        cfg = structure(config, entry.config_cls, section="model")
    except ValueError as exc:
        raise RecipeError(f"create({architecture!r}): {exc}") from None
    return build_model(entry.name, cfg)


def load(name_or_path: str, *, revision: str | None = None, components: str = "inference",
         device: str = "cpu", **download: Any):
    """A ready, eval-mode model from a run directory, a bundle folder, a registered weights name
    (``ganzoo list weights``) or a Hub repo id (``"org/repo"``, optionally ``"org/repo@rev"``).

    Only the generator side is downloaded unless ``components="all"`` (discriminators and the
    training checkpoint, for fine-tuning); without it the discriminators are left out (a
    stand-in that says how to load them), never randomly initialised. Extra keyword arguments (``cache_dir``, ``token``,
    ``force_download``, ``local_files_only``) go to ``huggingface_hub``.
    """
    from ganzoo.hub.loading import load as _load

    return _load(name_or_path, revision=revision, components=components, device=device,
                 **download)


def train(recipe: str | Recipe, out: str | None = None, *, overrides=(), progress: bool = True):
    """Train a recipe (a path or a :class:`Recipe`) into the run directory ``out``;
    ``overrides`` (``"train.steps=10"``, as ``--set``) apply to either."""
    from ganzoo.config.recipe import Recipe
    from ganzoo.training.loop import train as _train

    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_toml(recipe, overrides)
    elif overrides:
        recipe = recipe.with_overrides(overrides)
    return _train(recipe, out, progress=progress)


_KINDS = ("LatentGenerator", "ConditionalGenerator", "TextToImage", "Translator", "Upscaler",
          "DiscreteInput", "ContinuousInput")


def __getattr__(name: str) -> Any:
    if name == "Recipe":  # on first use: cattrs is not needed by `ganzoo --help` or `ganzoo list`
        from ganzoo.config.recipe import Recipe

        return Recipe
    if name == "GANModel":
        from ganzoo.nn.model import GANModel

        return GANModel
    if name in _KINDS:
        import ganzoo.nn.kinds as kinds

        return getattr(kinds, name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
