"""What happens once per session before the first step, so that a step is only the paper's math.

(1) the trainer's ``setup`` (refuse what it cannot train, load pretrained parts, learn a
vocabulary), (2) its ``optimizers``, which only make optimizers, (3) the context learns them
(names, initial learning rates, which update a discriminator), and (4) one check of the first
real batch against ``model.example_batch(1)``, before the run directory is created.
"""

from __future__ import annotations

from typing import Any

import torch

from ganzoo.base.errors import RecipeError
from ganzoo.plugin.registry import load_ref


def prepare(entry, model, cfg, ctx, data=None) -> dict[str, torch.optim.Optimizer]:
    """Set up trainer ``entry`` (a registered trainer) on ``model``; returns its optimizers,
    already bound to ``ctx``. ``data``: the training dataset, for the trainer's setup."""
    if entry.setup is not None:
        load_ref(entry.setup)(model, cfg, ctx, data)
    optimizers = load_ref(entry.optimizers)(model, cfg, ctx)
    ctx.bind(optimizers, model)
    return optimizers


def _shape(value: torch.Tensor) -> str:
    return "[" + ", ".join(str(n) for n in value.shape) + "]"


def check_first_batch(model, batch: dict[str, Any], *, where: str) -> None:
    """The keys, channels and image size of a real batch of one agree with
    ``model.example_batch(1)``: one line naming the key and both shapes, not a shape error
    deep in torch (or a silent broadcast) at the first step."""
    expected = model.example_batch(1)
    for key, want in expected.items():
        if key not in batch:
            have = ", ".join(repr(k) for k in batch) or "nothing"
            raise RecipeError(f"{where}: the data gives {have} but {model.architecture!r} trains "
                              f"on {', '.join(repr(k) for k in expected)}; no {key!r} in the "
                              "data (pick a dataset or [model] settings that provide it)")
        have = batch[key]
        if not isinstance(want, torch.Tensor) or not isinstance(have, torch.Tensor):
            continue
        # Batch dimension aside: channels and image size (or feature size) must agree.
        if want.dim() != have.dim() or want.shape[1:] != have.shape[1:]:
            raise RecipeError(f"{where}: the data's {key!r} has shape {_shape(have)} but the model "
                              f"expects {_shape(want)} (batch of 1); make [data] and [model] "
                              "agree (channels, resolution)")
