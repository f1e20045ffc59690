"""An encoder grown from the discriminator (``train_encoder(init="discriminator")``)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.editing import projection
from test_tlgan import one_line_error


@pytest.fixture(scope="module")
def full_model(tmp_path_factory):
    """The shipped dcgan-digits generator beside a discriminator, saved with it and loaded back
    with components="all" (the shipped bundle holds the generator only)."""
    model = ganzoo.create("dcgan", resolution=32, channels=1, z_dim=64, gen_width=32,
                          disc_width=32)
    model.gen.load_state_dict(ganzoo.load("dcgan-digits").gen.state_dict())
    folder = tmp_path_factory.mktemp("with-disc") / "bundle"
    model.save_pretrained(folder)
    return ganzoo.load(str(folder), components="all")


def test_grown_encoder_starts_from_the_trained_trunk_and_learns(full_model):
    trunk = projection.discriminator_trunk(full_model)
    disc_layers = list(full_model.disc.children())
    # The trunk is the discriminator less its head (the last conv, making the logit) ...
    assert len(trunk) == len(disc_layers) - 2
    for copied, original in zip(trunk.state_dict().values(), full_model.disc.state_dict().values()):
        assert torch.equal(copied, original)
    # ... and a copy: training the encoder leaves the discriminator as it was.
    before = {k: v.clone() for k, v in full_model.disc.state_dict().items()}
    z = full_model.sample_latent(256, seed=123)
    with torch.no_grad():
        target = full_model.generate(0, z=z)
    short = projection.train_encoder(full_model, steps=1, init="discriminator")
    longer = projection.train_encoder(full_model, steps=60, init="discriminator")
    with torch.no_grad():  # the training objective on held-out pairs: latent + pixel MSE
        err_short = (short(target) - z).pow(2).mean() + (
            full_model.generate(0, z=short(target)) - target).pow(2).mean()
        err_longer = (longer(target) - z).pow(2).mean() + (
            full_model.generate(0, z=longer(target)) - target).pow(2).mean()
    assert err_longer < 0.95 * err_short, (err_short, err_longer)
    assert all(torch.equal(v, before[k]) for k, v in full_model.disc.state_dict().items())
    assert isinstance(longer, projection.GrownEncoder) and longer(target).shape == (256, 64)


def test_grown_encoder_saves_and_reloads_bit_exactly(full_model, tmp_path):
    encoder = projection.train_encoder(full_model, steps=2, init="discriminator")
    projection.save_encoder(encoder, tmp_path / "enc.safetensors")
    # The discriminator's weights are not needed to reload, only its layout.
    again = projection.load_encoder(tmp_path / "enc.safetensors", full_model)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(encoder(x), again(x))
    with pytest.raises(ganzoo.GanzooError, match="grown from a dcgan discriminator"):
        projection.load_encoder(tmp_path / "enc.safetensors")


def test_no_discriminator_ends_in_one_clear_line(cli, tmp_path):
    inference = ganzoo.load("dcgan-digits")  # discriminators left out
    with pytest.raises(ganzoo.GanzooError, match='components="all"'):
        projection.train_encoder(inference, steps=1, init="discriminator")
    with pytest.raises(ganzoo.GanzooError, match="unknown encoder init 'disc'; accepted"):
        projection.train_encoder(inference, steps=1, init="disc")
    # A bundle saved without its discriminator (inference only) cannot grow one either.
    inference.save_pretrained(tmp_path / "gen-only")
    result = one_line_error(cli, "edit", "sphere", tmp_path / "gen-only", "--data", "digits",
                            "--encoder-init", "discriminator", "-o", tmp_path / "m")
    assert result.exit_code == 1 and "discriminator" in result.stderr_line
