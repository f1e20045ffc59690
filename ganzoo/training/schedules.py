"""Learning-rate schedules as pure functions of the step, so a resumed run continues with exactly
the rates it would have had."""

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


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
