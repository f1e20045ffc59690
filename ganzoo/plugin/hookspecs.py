"""The hooks a ganzoo plugin implements.

A plugin is a module (or object) with functions decorated by :data:`ganzoo.hookimpl` whose names
match the hooks below. Each hook receives a *registrar*: call its ``add(...)`` once per thing the
plugin provides. Registration must stay cheap: reference heavy code (anything importing torch) by a
``"module:attribute"`` string, which ganzoo imports on first use.

Hooks are called the pluggy way: ``registry`` is the only argument, and an implementation may
leave it out. A ``register_*`` function without ``@ganzoo.hookimpl``, a name that is not one of
these hooks, or an argument other than ``registry`` makes the plugin broken, with one line
saying so (see docs/plugins.md).

These docstrings are the reference documentation for plugin authors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - only for type checkers and editors
    from ganzoo.plugin.registry import (
        ArchitectureEntry,
        CommandEntry,
        DatasetEntry,
        EditorEntry,
        FeatureEntry,
        LoggerEntry,
        LossEntry,
        MetricEntry,
        Registrar,
        TrainerEntry,
        WeightsEntry,
    )

PROJECT = "ganzoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_architectures(registry: Registrar[ArchitectureEntry]) -> None:
    """Register GAN architectures.

    ``registry.add(name=, config_cls=, build=, trainer=, summary=, paper=, tiny=)``:

    - ``config_cls``: a frozen attrs class; the recipe's ``[model]`` table is structured into it.
    - ``build``: ``"module:callable"`` taking the config and returning a :class:`ganzoo.GANModel`
      of its kind (:class:`ganzoo.LatentGenerator`, :class:`ganzoo.Translator` ...): the kind
      decides what the tools do with it.
    - ``trainer``: the name of the registered trainer used by default.
    - ``tiny``: config overrides that make the network small enough for CPU tests.
    - ``task`` (optional, kept for older plugins): checked against the model's kind.
    """


@hookspec
def register_losses(registry: Registrar[LossEntry]) -> None:
    """Register loss functions.

    ``registry.add(name=, kind=, fn=, g_fn=, summary=)`` where ``kind`` is ``"adversarial"``
    (``fn`` is the discriminator loss on real and fake logits, ``g_fn`` the generator loss on fake
    logits), ``"reconstruction"`` (``fn(pred, target)``) or ``"regularizer"``.
    Functions are ``"module:function"`` strings, pure functions of tensors.
    """


@hookspec
def register_trainers(registry: Registrar[TrainerEntry]) -> None:
    """Register training-step functions.

    ``registry.add(name=, step=, optimizers=, setup=, config_cls=, summary=)``:

    - ``step``: ``"module:function"`` with signature ``step(batch, model, opt, ctx) -> dict`` that
      performs one update of every network and returns the detached losses to log. The loop
      sets learning rates (``[train] lr_schedule``) and checks the data: a step is the math.
    - ``setup`` (optional): ``"module:function"`` with signature
      ``setup(model, cfg, ctx, data)``, called once per session before the optimizers are made
      (and before a resumed run loads its checkpoint): refuse model/``[train]`` combinations
      the trainer cannot train, load pretrained parts, learn a vocabulary from ``data`` (the
      training dataset).
    - ``optimizers`` (optional): ``"module:function"`` with signature
      ``optimizers(model, cfg, ctx) -> dict`` that only makes optimizers; by default Adam for
      every network, ``lr_gen`` for the generator side and ``lr_disc`` for the others.
    - ``config_cls``: a frozen attrs subclass of :class:`ganzoo.TrainConfig` for the ``[train]``
      table.
    """


@hookspec
def register_datasets(registry: Registrar[DatasetEntry]) -> None:
    """Register datasets.

    ``registry.add(name=, config_cls=, build=, kind=, summary=)``: the recipe's ``[data]`` table
    (less its ``dataset`` key) is structured into ``config_cls``; ``build(cfg, split)`` returns a
    ``torch.utils.data.Dataset`` of dicts (``{"image": tensor in [-1, 1], "label": int, ...}``).
    """


@hookspec
def register_metrics(registry: Registrar[MetricEntry]) -> None:
    """Register evaluation metrics: ``registry.add(name=, compute=, summary=)``."""


@hookspec
def register_weights(registry: Registrar[WeightsEntry]) -> None:
    """Register named pretrained weights.

    ``registry.add(name=, architecture=, source=, license=, paper=, dataset=, summary=)``.
    """


@hookspec
def register_editors(registry: Registrar[EditorEntry]) -> None:
    """Register latent-space editors: ``registry.add(name=, build=, commands=, load=, summary=)``.

    - ``build``: ``"module:function"``, the editor's Python entry point.
    - ``commands``: ``{"verb": "module:click_command"}``; ``ganzoo edit VERB ...`` runs it.
    - ``load``: ``"module:function"`` reading a saved edit (feature axes) from a folder or Hub
      repo, for ``ganzoo serve --axes``.
    """


@hookspec
def register_features(registry: Registrar[FeatureEntry]) -> None:
    """Register feature extractors that label images for editors (TL-GAN axes):
    ``registry.add(name=, compute="module:function", kind="regressor"|"classifier", domain=,
    summary=)``.

    ``compute(images)`` takes ``[N, C, H, W]`` images in [-1, 1] and returns ``[N]`` values (a
    regressor: thickness, age ...) or ``[N, K]`` class probabilities (a classifier). Make it
    differentiable in the images where you can: editors then hold the feature fixed by its local
    gradient (TL-GAN's local lock); labelling runs it under ``torch.no_grad()``.
    """


@hookspec
def register_loggers(registry: Registrar[LoggerEntry]) -> None:
    """Register experiment trackers: ``registry.add(name=, build=, requires=, install=,
    summary=)``; a recipe picks them with ``[train] loggers = ["NAME", ...]``.

    - ``build``: ``"module:callable"`` taking no arguments and returning a
      :class:`ganzoo.training.trackers.Logger`: ``start(run)``, ``log_scalars(step, values)``,
      ``log_scores(step, scores, protocol)``, ``log_images(step, name, png)``, ``close()``.
      Only the main process of a run calls it.
    - ``requires``: the modules the logger imports; a run that asks for it without them stops
      before writing anything, with the ``install`` line (``"pip install 'my-tracker'"``).
    - A logger that raises while the run trains is warned about once and dropped: the run goes
      on, and ``metrics.jsonl`` keeps every step.
    """


@hookspec
def register_commands(registry: Registrar[CommandEntry]) -> None:
    """Register extra CLI commands: ``registry.add(name=, command="module:click_command")``.

    The command is imported only when it is invoked or its help is shown.
    """
