"""Every registered architecture passes ganzoo.testing's conformance check; DCGAN's own details."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.testing import check_architecture, train_steps


@pytest.mark.parametrize("name", ganzoo.list_names("architectures"))
def test_architecture_conformance(name, tmp_path):
    check_architecture(name, tmp_path)


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_dcgan_shapes_at_every_resolution(resolution):
    model = ganzoo.create("dcgan", resolution=resolution, channels=3, z_dim=16, gen_width=4,
                          disc_width=4)
    images = model.generate(2, seed=0)
    assert images.shape == (2, 3, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1  # tanh output
    assert model.disc(images).shape == (2,)  # one logit per image


def test_dcgan_follows_the_paper():
    model = ganzoo.create("dcgan", resolution=64, z_dim=100)
    gen_widths = [m.out_channels for m in model.gen if isinstance(m, torch.nn.ConvTranspose2d)]
    assert gen_widths == [512, 256, 128, 64, 3]  # ngf = 64: 8x, 4x, 2x, 1x, then RGB
    disc = list(model.disc)
    assert isinstance(disc[1], torch.nn.LeakyReLU) and disc[1].negative_slope == 0.2
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in disc[:2])  # none on layer 1
    weights = torch.cat([m.weight.flatten() for m in model.modules()
                         if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert abs(weights.std().item() - 0.02) < 0.002 and abs(weights.mean().item()) < 0.001


def test_the_discriminator_learns_to_tell_real_from_fake():
    torch.manual_seed(0)
    model = ganzoo.create("dcgan", resolution=16, channels=1, z_dim=8, gen_width=8, disc_width=8)
    batch = model.example_batch(16, generator=torch.Generator().manual_seed(1))
    history = train_steps(model, "gan", batch, steps=15, lr_gen=1e-6, lr_disc=1e-3)
    assert history[-1]["loss_d"] < 0.5 * history[0]["loss_d"]


def test_create_reports_bad_config_keys():
    with pytest.raises(ganzoo.RecipeError, match="has no key 'zdim' \\(did you mean 'z_dim'"):
        ganzoo.create("dcgan", zdim=3)
