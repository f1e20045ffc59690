"""The general latent-editing tools: interpolation, arithmetic, measures, projection, attributes."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.editing import attributes, latent, measure, projection
from ganzoo.base.errors import GanzooError


@pytest.fixture(scope="module")
def tiny_gen():
    """A 16x16 one-channel DCGAN with z_dim 8 at its (untrained) init, in eval mode."""
    torch.manual_seed(0)
    tiny = ganzoo.get("architectures", "dcgan").tiny
    return ganzoo.create("dcgan", **{**tiny, "channels": 1}).eval()


@pytest.fixture(scope="module")
def digits_gen():
    """The shipped pretrained DCGAN on 32x32 digits (z_dim 64)."""
    return ganzoo.load("dcgan-digits")


# -- interpolation and arithmetic ---------------------------------------------------------------
def test_slerp_endpoints_are_the_inputs_and_norms_stay_between_them():
    a, b = torch.randn(64, 1, 1), torch.randn(64, 1, 1)
    path = latent.slerp(a, b, torch.linspace(0, 1, 9))
    assert path.shape == (9, 64, 1, 1)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    norms = path.flatten(1).norm(dim=1)
    expected = torch.linspace(float(a.norm()), float(b.norm()), 9)
    assert torch.allclose(norms, expected, atol=1e-4)  # the norm moves linearly


def test_lerp_shortens_the_midpoint_and_slerp_does_not():
    a = torch.randn(256)
    b = torch.randn(256) * a.norm() / torch.randn(256).norm()
    b = b / b.norm() * a.norm()  # same norm, nearly orthogonal
    mid_lin = latent.interpolate(a, b, 3, "linear")[1]
    mid_sph = latent.interpolate(a, b, 3, "spherical")[1]
    assert mid_lin.norm() < 0.8 * a.norm()
    assert torch.isclose(mid_sph.norm(), a.norm(), rtol=1e-4)


def test_slerp_of_parallel_latents_falls_back_to_lerp():
    a = torch.randn(8)
    assert torch.allclose(latent.slerp(a, 2 * a, [0.5])[0], 1.5 * a)


def test_interpolation_errors_name_the_value_and_the_choices():
    a = torch.randn(4)
    with pytest.raises(GanzooError, match=r"'cubic'; accepted: linear, spherical"):
        latent.interpolate(a, a, 4, "cubic")
    with pytest.raises(GanzooError, match="at least 2 steps, got 1"):
        latent.interpolate(a, a, 1)


def test_interpolation_grid_rows_start_and_end_at_the_seeds(tiny_gen):
    images = latent.interpolation_grid(tiny_gen, [1, 2, 3], steps=4)
    assert images.shape == (8, 1, 16, 16)
    with torch.no_grad():
        ends = tiny_gen.generate(3, z=torch.cat([tiny_gen.sample_latent(1, seed=s)
                                                 for s in (1, 2, 3)]))
    assert torch.allclose(images[0], ends[0], atol=1e-5)
    assert torch.allclose(images[3], ends[1], atol=1e-5)
    assert torch.allclose(images[7], ends[2], atol=1e-5)


def test_arithmetic_averages_each_term():
    a, b, c = torch.randn(3, 8), torch.randn(3, 8), torch.randn(2, 8)
    assert torch.allclose(latent.arithmetic(a, b, c), a.mean(0) - b.mean(0) + c.mean(0))


# -- measures -----------------------------------------------------------------------------------
def _bar(width: int, shear: float = 0.0, size: int = 32) -> torch.Tensor:
    """A vertical stroke ``width`` pixels wide, 20 tall, its top shifted right by ``shear``·rows."""
    image = -torch.ones(1, 1, size, size)
    for row in range(6, 26):
        left = int(round(14 + shear * (16 - row)))
        image[0, 0, row, left:left + width] = 1
    return image


def test_thickness_is_the_stroke_width():
    values = measure.thickness(torch.cat([_bar(2), _bar(4), _bar(6)]))
    assert torch.allclose(values, torch.tensor([2.0, 4.0, 6.0]), rtol=0.35)
    assert values[0] < values[1] < values[2]


def test_slant_is_positive_leaning_right_and_zero_upright():
    values = measure.slant(torch.cat([_bar(3), _bar(3, shear=0.3), _bar(3, shear=-0.3)]))
    assert abs(values[0]) < 1e-4
    assert values[1] == pytest.approx(0.3, abs=0.06) and values[2] == pytest.approx(-0.3, abs=0.06)


def test_size_grows_with_the_digit():
    small, large = -torch.ones(2, 1, 32, 32), -torch.ones(1, 1, 32, 32)
    small[:, :, 12:20, 12:20] = 1
    large[:, :, 6:26, 6:26] = 1
    assert measure.size(small)[0] < measure.size(large)[0]
    with pytest.raises(ValueError, match="unknown measure 'width'; accepted: thickness, slant"):
        measure.measure(small, ("width",))


# -- projection ---------------------------------------------------------------------------------
def test_optimisation_reduces_the_pixel_error_of_its_start(digits_gen):
    tiny_gen = digits_gen
    target_z = tiny_gen.sample_latent(3, seed=11)
    with torch.no_grad():
        target = tiny_gen.generate(0, z=target_z)
    start = tiny_gen.sample_latent(3, seed=12).flatten(1)
    with torch.no_grad():
        before = (tiny_gen.generate(0, z=start.view(3, -1, 1, 1)) - target).pow(2).mean()
    for optimizer in ("adam", "lbfgs"):
        z, _ = projection.optimise(tiny_gen, target, start, steps=20, optimizer=optimizer,
                                   lr=0.1, feature_weight=0.1)
        with torch.no_grad():
            after = (tiny_gen.generate(0, z=z.view(3, -1, 1, 1)) - target).pow(2).mean()
        assert after < 0.5 * before, optimizer
    assert all(not p.requires_grad or p.grad is None for p in tiny_gen.parameters())


def test_encoder_hybrid_and_restarts(tiny_gen, tmp_path):
    encoder = projection.train_encoder(tiny_gen, steps=10, batch_size=16, width=8)
    projection.save_encoder(encoder, tmp_path / "enc.safetensors")
    again = projection.load_encoder(tmp_path / "enc.safetensors")
    images = tiny_gen.generate(2, seed=5).detach()
    assert torch.equal(again(images), encoder(images))
    by_encoder = projection.project(tiny_gen, images, method="encoder", encoder=encoder)
    hybrid = projection.project(tiny_gen, images, method="hybrid", encoder=encoder, steps=15,
                                restarts=2, optimizer="adam", lr=0.1)
    assert by_encoder.z.shape == (2, 8, 1, 1) and hybrid.images.shape == (2, 1, 16, 16)
    # The hybrid starts from the encoder and keeps each image's best: never worse than it.
    assert (hybrid.mse <= by_encoder.mse + 1e-6).all()


def test_hybrid_reconstructs_held_out_real_digits_better_than_the_encoder(digits_gen):
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build

    real = build(DigitsConfig(resolution=32), "test").images[:4]
    encoder = projection.train_encoder(digits_gen, steps=40, batch_size=32)
    by_encoder = projection.project(digits_gen, real, method="encoder", encoder=encoder)
    hybrid = projection.project(digits_gen, real, method="hybrid", encoder=encoder, steps=10,
                                restarts=1)
    assert hybrid.mse.mean() < 0.8 * by_encoder.mse.mean()


def test_projection_refuses_bad_inputs(tiny_gen):
    images = torch.zeros(1, 1, 16, 16)
    with pytest.raises(GanzooError, match="unknown projection method 'magic'; accepted: optimise"):
        projection.project(tiny_gen, images, method="magic")
    with pytest.raises(GanzooError, match="needs an encoder"):
        projection.project(tiny_gen, images, method="hybrid")
    with pytest.raises(GanzooError, match=r"shape \(3, 16, 16\) do not fit"):
        projection.project(tiny_gen, torch.zeros(1, 3, 16, 16), method="optimise")
    with pytest.raises(GanzooError, match="unknown optimizer 'sgd'; accepted: lbfgs, adam"):
        projection.optimise(tiny_gen, images, torch.zeros(1, 8), optimizer="sgd")


# -- attribute vectors --------------------------------------------------------------------------
def test_attribute_vector_is_the_difference_of_means_and_adds_back():
    with_z, without_z = torch.randn(5, 8) + 2, torch.randn(7, 8)
    vector = attributes.attribute_vector(with_z, without_z)
    assert torch.allclose(vector, with_z.mean(0) - without_z.mean(0))
    z = torch.randn(3, 8, 1, 1)
    moved = attributes.apply_attribute(z, vector, 1.0)
    assert torch.allclose(attributes.apply_attribute(moved, vector, -1.0), z, atol=1e-6)
    encoder = torch.nn.Flatten()  # any images -> latents callable
    images_with, images_without = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    assert torch.equal(attributes.attribute_vector_from_images(encoder, images_with,
                                                               images_without), torch.ones(4))
    with pytest.raises(GanzooError, match="at least one latent"):
        attributes.attribute_vector(with_z[:0], without_z)
