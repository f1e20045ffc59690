"""InfoGAN's options on what D sees: DiffAugment, instance noise, one-sided label smoothing."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import RECIPES

import ganzoo_infogan.train as trainer
from ganzoo import GanzooError, Recipe
from ganzoo.hub.bundle import state_tensors
from ganzoo.testing import tiny_model, train_steps
from ganzoo_infogan import augment


def test_translation_moves_real_and_fake_alike_and_passes_gradients():
    real = torch.full((3, 1, 8, 8), -1.0)
    real[:, 0, 4, 4] = 1.0  # one bright pixel per image, on a background of -1
    fake = real.clone().requires_grad_(True)
    params = augment.draw("translation", 3, 8, ratio=0.25,
                          generator=torch.Generator().manual_seed(0))
    assert params.shift.abs().max() <= 2 and params.centre is None
    moved_real, moved_fake = augment.apply(real, params), augment.apply(fake, params)
    assert torch.equal(moved_real, moved_fake.detach())  # one draw: the same shift for both
    for image, (dy, dx) in zip(moved_real, params.shift.tolist(), strict=True):
        assert image[0, 4 + dy, 4 + dx] == 1.0 and int((image == 1.0).sum()) == 1
        assert (image[image != 1.0] == -1.0).all()  # the border repeats the background
    moved_fake.sum().backward()
    assert fake.grad.sum() > 0  # differentiable: G gets a gradient through the transform
    assert torch.autograd.gradcheck(
        lambda x: augment.translate(x, params.shift), torch.randn(3, 2, 5, 5, dtype=torch.double,
                                                                  requires_grad=True))


def test_cutout_zeroes_a_box_of_half_the_side_at_the_drawn_centre():
    images = torch.ones(2, 1, 8, 8)
    out = augment.cutout(images, torch.tensor([[4, 4], [0, 0]]))
    assert out[0, 0, 2:6, 2:6].eq(0).all() and int((out[0] == 0).sum()) == 16  # rows, columns 2-5
    assert out[1, 0, :2, :2].eq(0).all() and int((out[1] == 0).sum()) == 4  # clipped at the corner


def test_instance_noise_anneals_to_zero_and_smoothing_is_bce_with_a_soft_target():
    assert [augment.noise_std(0.2, s, 100) for s in (0, 50, 100)] == [0.2, 0.1, 0.0]
    real, fake = torch.randn(16), torch.randn(16)
    assert torch.allclose(augment.smoothed_bce_d(real, fake, 1.0),
                          F.softplus(-real).mean() + F.softplus(fake).mean())
    expected = (0.9 * F.softplus(-real) + 0.1 * F.softplus(real)).mean() + F.softplus(fake).mean()
    assert torch.allclose(augment.smoothed_bce_d(real, fake, 0.9), expected)


def _three_steps(**train):
    torch.manual_seed(0)
    model = tiny_model("infogan")
    batch = model.example_batch(8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    history = train_steps(model, "infogan", batch, steps=3, **train)
    return state_tensors(model), history


def test_off_by_default_is_the_unchanged_step(monkeypatch):
    """Without the keys the step never enters the new path (so it draws nothing more), and the
    new path with everything off computes exactly the same updates."""
    reference, history = _three_steps()
    monkeypatch.setattr(trainer, "train_step", trainer.augmented_train_step)
    forced, forced_history = _three_steps()
    assert reference.keys() == forced.keys()
    assert all(torch.equal(reference[k], forced[k]) for k in reference)
    assert [h["loss_d"] for h in history] == [h["loss_d"] for h in forced_history]

    def refuse(*_args):
        raise AssertionError("the default step entered the augmented path")

    monkeypatch.undo()
    monkeypatch.setattr(trainer, "augmented_train_step", refuse)
    again, _ = _three_steps()
    assert all(torch.equal(reference[k], again[k]) for k in reference)


@pytest.mark.parametrize("train", [
    {"augment": "translation"}, {"augment": "translation,cutout", "q_sees": "clean"},
    {"instance_noise": 0.3}, {"real_label": 0.9}])
def test_each_option_changes_the_updates_and_reaches_the_generator(train):
    reference, _ = _three_steps()
    changed, history = _three_steps(**train)
    assert all(math.isfinite(h["loss_d"]) and math.isfinite(h["loss_g"]) for h in history)
    differs = {k.split(".")[0] for k in reference if not torch.equal(reference[k], changed[k])}
    assert differs == {"gen", "disc"}, differs


@pytest.mark.parametrize("override,words", [
    ("train.augment=flip", ["augment", "'translation'", "'translation,cutout'"]),
    ("train.real_label=0.3", ["real_label", "0.3"]),
    ("train.instance_noise=-1", ["instance_noise", "-1"]),
    # The recipe translates D's inputs; these two keys are read only when something does.
    ("train.augment=none train.augment_ratio=0.2", ["augment_ratio = 0.2", 'augment = "none"']),
    ("train.augment=none train.q_sees=clean", ["q_sees = 'clean'", "instance_noise = 0"]),
])
def test_a_bad_value_is_refused_naming_the_key(override, words):
    with pytest.raises(GanzooError) as info:
        Recipe.from_toml(RECIPES / "infogan_digits.toml", override.split())
    for word in words:
        assert word in str(info.value), str(info.value)


def test_label_smoothing_is_refused_with_a_loss_that_is_not_a_cross_entropy():
    with pytest.raises(GanzooError) as info:
        Recipe.from_toml(RECIPES / "infogan_digits.toml",
                         ["train.real_label=0.9", "train.loss=hinge"])
    assert "real_label = 0.9" in str(info.value) and "loss = 'hinge'" in str(info.value)
