"""InfoGAN's options for regularising D (issue #18): the R1 penalty (``[train] r1_gamma``),
spectral norm on D's trunk (``[model] disc_spectral_norm``) and a trunk without batch norm
(``[model] disc_batch_norm``). Off by default, so recipes and bundles behave as before."""

from __future__ import annotations

import pytest
import torch
from conftest import RECIPES

from ganzoo import GanzooError, Recipe
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import check_architecture, tiny_model, train_steps
from ganzoo_infogan.config import InfoGANConfig, InfoGANTrainConfig
from ganzoo.nn.losses import r1_penalty


@pytest.mark.parametrize("overrides", [{"disc_spectral_norm": True}, {"disc_batch_norm": False},
                                       {"disc_spectral_norm": True, "disc_batch_norm": False}],
                         ids=["spectral-norm", "no-batch-norm", "both"])
def test_the_d_variants_conform(overrides, tmp_path):
    """Build, train, save as a bundle and reload bit-exactly, export: the shared checks."""
    check_architecture("infogan", tmp_path, **overrides)


def test_the_defaults_are_the_paper_d_with_the_parameters_of_before():
    """Off by default: a config.json written before these keys existed gets the same networks
    (same parameter names and shapes, no parametrization), and the step no R1 term."""
    assert not InfoGANConfig().disc_spectral_norm and InfoGANConfig().disc_batch_norm
    assert InfoGANTrainConfig().r1_gamma == 0.0
    keys = set(state_tensors(tiny_model("infogan")))
    assert {"disc.trunk.3.running_mean", "disc.trunk.6.weight"} <= keys
    assert not any("parametrizations" in key for key in keys)
    model = tiny_model("infogan")
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    assert "r1" not in train_steps(model, "infogan", batch)[0]


def test_r1_is_zero_for_a_d_constant_in_its_input_and_the_squared_slope_otherwise():
    real = torch.randn(6, 1, 4, 4, requires_grad=True)
    constant = real.flatten(1).sum(dim=1) * 0.0 + 3.0
    assert r1_penalty(constant, real).item() == 0.0
    assert r1_penalty(torch.full((6,), 2.0, requires_grad=True), real).item() == 0.0  # unused
    w = torch.randn(16)
    linear = real.flatten(1) @ w  # grad_x = w for every image: the penalty is ||w||^2
    assert torch.allclose(r1_penalty(linear, real), w.square().sum())
    quadratic = real.flatten(1).square().sum(dim=1)  # grad_x = 2x
    expected = (2 * real.detach()).flatten(1).square().sum(dim=1).mean()
    assert torch.allclose(r1_penalty(quadratic, real), expected)


def _one_step(**train):
    """The weights after one step of a seeded tiny InfoGAN with these ``[train]`` keys, and the
    step's logged losses."""
    torch.manual_seed(0)
    model = tiny_model("infogan")
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    logs = train_steps(model, "infogan", batch, **train)
    return state_tensors(model), logs[0]


def _changed(off: dict, on: dict) -> set[str]:
    return {key for key in off if not torch.equal(off[key], on[key])}


def test_r1_trains_d_and_is_reported():
    """With r1_gamma the step's D update differs (the penalty is back-propagated into D, with
    a positive value), and the generator's update is the same function of D as before."""
    (off, logs_off), (on, logs_on) = _one_step(r1_gamma=0.0), _one_step(r1_gamma=10.0)
    assert "r1" not in logs_off and logs_on["r1"] > 0
    assert any(key.startswith("disc.trunk") for key in _changed(off, on))


def test_r1_reaches_the_augmented_step_at_the_images_d_scores():
    """With augment, the step that changes what D sees has an R1 term too: it is reported and
    changes D's update against the same augmented step without it."""
    (off, logs_off), (on, logs_on) = (_one_step(r1_gamma=gamma, augment="translation")
                                      for gamma in (0.0, 10.0))
    assert "r1" not in logs_off and logs_on["r1"] > 0
    assert any(key.startswith("disc.trunk") for key in _changed(off, on))


def test_spectral_norm_bounds_the_trunk_weights():
    """After a few training forwards (power iterations) each trunk weight's top singular value
    is about 1, against the init's."""
    torch.manual_seed(0)
    model = tiny_model("infogan", disc_spectral_norm=True)
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    train_steps(model, "infogan", batch, steps=20)
    layers = [m for m in model.disc.trunk if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 3
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert 0.9 < sigma.item() < 1.1, sigma


@pytest.mark.parametrize("setting,key", [("train.r1_gamma=-1", "r1_gamma"),
                                         ("train.r1_gamma=nan", "r1_gamma"),
                                         ("train.lambda_real_clustering=-1",
                                          "lambda_real_clustering"),
                                         ("train.lambda_real_clustering=1e9",
                                          "lambda_real_clustering"),
                                         ("model.disc_spectral_norm=1", "disc_spectral_norm"),
                                         ("model.disc_batch_norm='no'", "disc_batch_norm")])
def test_a_bad_value_is_refused_naming_the_key(setting, key):
    with pytest.raises(GanzooError) as info:
        Recipe.from_toml(RECIPES / "infogan_digits.toml", [setting])
    assert key in str(info.value)


@pytest.mark.parametrize("keys, message", [
    ({"gp_weight": 10.0}, "gp_weight = 10.0: the infogan trainer has no WGAN-GP term"),
])
def test_keys_the_step_would_not_read_are_refused(keys, message):
    from ganzoo_infogan.config import InfoGANTrainConfig

    with pytest.raises(ValueError, match=message):
        InfoGANTrainConfig(**keys)


def test_the_real_clustering_loss_is_minus_the_information_q_finds_in_the_batch():
    """0 for a Q that tells the images apart not at all (the same distribution for each) and
    for one that is sure but puts every image in one code; -log K for one that is sure and uses
    every code equally; between them for a Q that is unsure."""
    import math

    from ganzoo_infogan.losses import real_clustering_loss

    assert real_clustering_loss(torch.randn(1, 10).expand(12, 10)).abs().item() < 1e-6
    assert real_clustering_loss(torch.tensor([[30.0, 0, 0]] * 6)).abs().item() < 1e-6
    sure_and_spread = real_clustering_loss(torch.eye(10).repeat(3, 1) * 30)
    assert abs(sure_and_spread.item() + math.log(10)) < 1e-5
    unsure = real_clustering_loss(torch.eye(10).repeat(3, 1) * 3)
    assert -math.log(10) < unsure.item() < -0.1


def test_real_clustering_trains_q_on_the_real_batch_and_is_reported():
    """With lambda_real_clustering, D's update also trains Q's head on the real images (the Q
    head changes against the same step without it), in the plain and the augmented step; the
    term is logged as real_clustering. Off by default: no log key, the step of before."""
    for extra in ({}, {"augment": "translation"}):
        (off, logs_off), (on, logs_on) = (_one_step(lambda_real_clustering=weight, **extra)
                                          for weight in (0.0, 1.0))
        assert "real_clustering" not in logs_off and logs_on["real_clustering"] <= 0
        assert any(key.startswith("disc.q.") for key in _changed(off, on)), extra
