"""Learning-rate schedules as pure functions of the step, so a resumed run continues with exactly
the rates it would have had. The loop applies ``[train] lr_schedule`` to every optimizer before
each step (``StepContext.begin_step``); steps never set learning rates."""

from __future__ import annotations

import torch


def linear_decay(step: int, steps: int, decay_start: float) -> float:
    """1 for the first ``decay_start`` fraction of ``steps``, then linearly down to 0 at ``steps``.

    The reference pix2pix/CycleGAN ``linear`` policy (``n_epochs`` constant, ``n_epochs_decay``
    decaying), counted in steps.
    """
    start = round(decay_start * steps)
    if step < start:
        return 1.0
    return max(0.0, (steps - step) / max(1, steps - start))


def step_decay(step: int, gamma: float, every: int) -> float:
    """``gamma ** (step // every)``: multiplied by ``gamma`` every ``every`` steps (0: never)."""
    return gamma ** (step // every) if every else 1.0


def lr_factor(cfg, step: int) -> float:
    """The factor ``[train] lr_schedule`` applies to every initial learning rate at ``step``."""
    schedule = getattr(cfg, "lr_schedule", "constant")
    if schedule == "linear":
        return linear_decay(step, cfg.steps, cfg.decay_start)
    if schedule == "step":
        return step_decay(step, cfg.lr_decay, cfg.lr_decay_every)
    return 1.0


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
