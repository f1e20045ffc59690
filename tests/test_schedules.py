"""Learning-rate schedules shared by trainers (pix2pix, CycleGAN ...)."""

from __future__ import annotations

import torch

from ganzoo.training.schedules import linear_decay, set_lr


def test_linear_decay_is_constant_then_linear_to_zero():
    assert [linear_decay(s, 10, 0.5) for s in (0, 4, 5, 6, 9)] == [1.0, 1.0, 1.0, 0.8, 0.2]
    assert linear_decay(10, 10, 0.5) == 0.0 and linear_decay(3, 10, 1.0) == 1.0
    assert linear_decay(0, 10, 0.0) == 1.0 and linear_decay(5, 10, 0.0) == 0.5


def test_set_lr_sets_every_group():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    set_lr(opt, 0.25)
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
