"""The plugin's own tests, built on ganzoo's testing kit (a pytest plugin shipped with ganzoo)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.testing import check_architecture, tiny_model, train_steps


def test_conforms_to_ganzoo(tmp_path):
    check_architecture("wgan-gp", tmp_path)


def test_the_critic_has_no_batch_norm():
    model = tiny_model("wgan-gp")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.disc.modules())


def test_the_penalty_keeps_the_critic_near_1_lipschitz():
    torch.manual_seed(0)
    model = tiny_model("wgan-gp")
    batch = model.example_batch(40, generator=torch.Generator().manual_seed(0))
    history = train_steps(model, "wgan-gp", batch, steps=10, batch_size=40, n_critic=5)
    assert all(h["gp"] >= 0 for h in history)
    assert history[-1]["gp"] < 1.0


def test_batch_must_split_evenly_between_critic_updates():
    with pytest.raises(ganzoo.RecipeError, match="must be a multiple of 'n_critic'"):
        ganzoo.Recipe.from_dict({"architecture": "wgan-gp", "data": {"dataset": "digits"},
                                 "train": {"batch_size": 64, "n_critic": 5}})
