"""Every loss against numbers worked out by hand, plus the properties each one exists for."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import ganzoo.nn.losses as losses


REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def close(actual: torch.Tensor, expected: float) -> None:
    assert actual.dim() == 0
    assert actual.item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_bce_d_by_hand():
    # -log(sigmoid(r)) = log(1 + e^-r);  -log(1 - sigmoid(f)) = log(1 + e^f)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(1))) / 2 + (
        math.log(1 + math.exp(0.5)) + math.log(1 + math.exp(-3))
    ) / 2
    close(losses.bce_d(REAL, FAKE), expected)


def test_bce_d_matches_torch_bce_with_targets_one_and_zero():
    real, fake = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    expected = F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    torch.testing.assert_close(losses.bce_d(real, fake), expected)


def test_bce_g_by_hand():
    # mean(log(1 - sigmoid(f))) with sigmoid written out
    expected = (math.log(1 - 1 / (1 + math.exp(-0.5))) + math.log(1 - 1 / (1 + math.exp(3)))) / 2
    close(losses.bce_g(FAKE), expected)
    assert expected < 0


def test_non_saturating_g_by_hand():
    # -mean(log(sigmoid(f)))
    expected = -(math.log(1 / (1 + math.exp(-0.5))) + math.log(1 / (1 + math.exp(3)))) / 2
    close(losses.non_saturating_g(FAKE), expected)


def test_non_saturating_gradient_survives_where_minimax_saturates():
    # D rejects the fakes with confidence: the minimax loss gives G almost nothing to follow.
    minimax = torch.tensor([-10.0, -12.0], requires_grad=True)
    non_sat = torch.tensor([-10.0, -12.0], requires_grad=True)
    losses.bce_g(minimax).backward()
    losses.non_saturating_g(non_sat).backward()
    minimax_grad = minimax.grad.abs().max().item()
    non_sat_grad = non_sat.grad.abs().min().item()
    # d/df softplus(-f) / 2 -> -1/2;  d/df -softplus(f) / 2 -> -sigmoid(f)/2 ~ 2e-5
    assert non_sat_grad == pytest.approx(0.5, rel=1e-3)
    assert minimax_grad == pytest.approx(1 / (1 + math.exp(10)) / 2, rel=1e-3)
    assert non_sat_grad > 1000 * minimax_grad
    # Both push the fake logits up (descent increases f).
    assert (minimax.grad < 0).all() and (non_sat.grad < 0).all()


def test_lsgan_by_hand():
    # real: (2-1)^2 = 1, (-1-1)^2 = 4 -> mean 2.5;  fake: 0.25, 9 -> mean 4.625
    close(losses.lsgan_d(REAL, FAKE), 0.5 * 2.5 + 0.5 * 4.625)
    # (0.5-1)^2 = 0.25, (-3-1)^2 = 16 -> mean 8.125
    close(losses.lsgan_g(FAKE), 0.5 * 8.125)


def test_hinge_by_hand():
    # relu(1-2)=0, relu(1+1)=2 -> 1;  relu(1+0.5)=1.5, relu(1-3)=0 -> 0.75
    close(losses.hinge_d(REAL, FAKE), 1.0 + 0.75)
    close(losses.hinge_g(FAKE), -(0.5 - 3.0) / 2)


def test_wgan_by_hand():
    # mean(fake) = -1.25, mean(real) = 0.5
    close(losses.wgan_d(REAL, FAKE), -1.25 - 0.5)
    close(losses.wgan_g(FAKE), 1.25)


def test_unequal_batch_sizes_are_averaged_separately():
    real, fake = torch.tensor([1.0]), torch.tensor([0.0, 0.0, 4.0])
    close(losses.wgan_d(real, fake), 4 / 3 - 1)
    close(losses.hinge_d(real, fake), 0 + (1 + 1 + 5) / 3)


def linear_critic(w: torch.Tensor):
    return lambda x: x.flatten(1) @ w


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(2 * 3 * 3, generator=g)
    w = w / w.norm()
    real, fake = torch.randn(5, 2, 3, 3, generator=g), torch.randn(5, 2, 3, 3, generator=g)
    gp = losses.gradient_penalty(linear_critic(w), real, fake, generator=g)
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("scale", [0.0, 0.25, 3.0])
def test_gradient_penalty_is_norm_minus_one_squared_for_linear_critic(scale):
    g = torch.Generator().manual_seed(1)
    w = torch.randn(4, generator=g)
    w = scale * w / w.norm()
    real, fake = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    gp = losses.gradient_penalty(linear_critic(w), real, fake, generator=g)
    close(gp, (scale - 1) ** 2)


def test_gradient_penalty_uses_one_alpha_per_sample_between_real_and_fake():
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return (x**2).flatten(1).sum(1)

    real, fake = torch.ones(3, 2, 2), torch.zeros(3, 2, 2)
    gp = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(2))
    (x,) = seen
    alpha = torch.rand(3, 1, 1, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(x, alpha.expand(3, 2, 2))
    # grad of sum x^2 is 2x, so its norm is 2 * alpha * sqrt(4) per sample
    expected = ((4 * alpha.flatten() - 1) ** 2).mean().item()
    close(gp, expected)


def test_gradient_penalty_backpropagates_into_critic_and_not_into_fake():
    torch.manual_seed(0)
    critic = torch.nn.Linear(8, 1)
    with torch.no_grad():
        critic.weight.mul_(5 / critic.weight.norm())
    fake = torch.randn(4, 8, requires_grad=True)
    gp = losses.gradient_penalty(critic, torch.randn(4, 8), fake)
    close(gp, 16.0)  # (5 - 1)^2
    gp.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    expected = 2 * (5 - 1) * critic.weight.detach() / 5
    torch.testing.assert_close(critic.weight.grad, expected)
    assert critic.weight.grad.abs().sum() > 0
    assert fake.grad is None


def test_gradient_penalty_generator_makes_it_reproducible():
    critic = lambda x: (x**3).sum(1)  # noqa: E731 - gradient depends on where x lies
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    a = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    b = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    c = losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(8))
    assert a.item() == b.item() != c.item()


def test_l1_l2_by_hand():
    pred, target = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    close(losses.l1(pred, target), (1 + 3 + 0) / 3)
    close(losses.l2(pred, target), (1 + 9 + 0) / 3)


def test_cycle_and_identity_are_l1():
    real = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    other = torch.tensor([[0.5, 1.0], [0.0, -1.5]])
    close(losses.cycle(real, other), (0.5 + 0 + 2 + 0.5) / 4)
    close(losses.identity(real, other), (0.5 + 0 + 2 + 0.5) / 4)


def test_kl_normal_zero_at_standard_normal():
    close(losses.kl_normal(torch.zeros(3, 4), torch.zeros(3, 4)), 0.0)


def test_kl_normal_by_hand():
    mu, logvar = torch.tensor([1.0, 0.0]), torch.tensor([0.0, math.log(4.0)])
    # KL(N(m, s^2) || N(0, 1)) = 0.5 * (s^2 + m^2 - 1 - log s^2) per element
    per_element = [0.5 * (1 + 1 - 1 - 0), 0.5 * (4 + 0 - 1 - math.log(4.0))]
    close(losses.kl_normal(mu, logvar), sum(per_element) / 2)
    assert losses.kl_normal(mu, logvar).item() > 0


PAIRED = ["bce_d", "lsgan_d", "hinge_d", "wgan_d", "l1", "l2", "cycle", "identity", "kl_normal",
          "relativistic_average_d", "relativistic_average_g"]
SINGLE = ["bce_g", "non_saturating_g", "lsgan_g", "hinge_g", "wgan_g"]


@pytest.mark.parametrize("name", PAIRED + SINGLE)
def test_bf16_inputs_give_float32_results(name):
    a = torch.tensor([2.0, -1.0, 0.5], dtype=torch.bfloat16)
    b = torch.tensor([0.5, -3.0, 1.0], dtype=torch.bfloat16)
    fn = getattr(losses, name)
    out = fn(a, b) if name in PAIRED else fn(a)
    assert out.dtype == torch.float32
    ref = fn(a.float(), b.float()) if name in PAIRED else fn(a.float())
    torch.testing.assert_close(out, ref)


def test_gradient_penalty_bf16_gives_float32():
    real = torch.randn(4, 6).bfloat16()
    fake = torch.randn(4, 6).bfloat16()
    w = torch.full((6,), 2.0, dtype=torch.bfloat16)
    gp = losses.gradient_penalty(linear_critic(w), real, fake)
    assert gp.dtype == torch.float32
    close(gp, (2 * math.sqrt(6) - 1) ** 2)


def test_public_api_is_exactly_the_documented_losses():
    assert sorted(losses.__all__) == sorted(PAIRED + SINGLE
                                            + ["gradient_penalty", "r1_penalty", "gradient_magnitude"])


def test_gradient_magnitude_is_sign_free_and_draws_edges_where_the_target_has_them():
    step = torch.zeros(1, 3, 16, 16)
    step[..., 8:] = 1.0  # a vertical edge, light on the right
    flat = torch.full_like(step, 0.5)
    assert losses.gradient_magnitude(step, -step).item() < 1e-6  # dark or light side: the same
    assert losses.gradient_magnitude(step, step).item() < 1e-6
    assert losses.gradient_magnitude(flat, step).item() > 0.05
    assert losses.gradient_magnitude(flat.bfloat16(), step.bfloat16()).dtype == torch.float32
    magnitude = losses.luma_gradient_magnitude(step)[0, 0]
    assert magnitude[:, 7].min() > 0.99 and magnitude[:, :7].max() < 1e-3  # one luma unit, at x=7
    # Optimising a nearly flat image against it puts an edge where the target's is, and nowhere
    # else. (A perfectly flat image is a stationary point: a magnitude has no gradient at zero.)
    image = (flat + 0.01 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(0))
             ).requires_grad_(True)
    opt = torch.optim.Adam([image], lr=0.05)
    first = losses.gradient_magnitude(image, step).item()
    for _ in range(300):
        opt.zero_grad()
        loss = losses.gradient_magnitude(image, step)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    drawn = losses.luma_gradient_magnitude(image.detach())[0, 0]
    assert drawn[:, 7].mean() > 0.9  # a full step at the target's edge
    assert drawn[:, :5].mean() < 0.05 and drawn[:, 9:].mean() < 0.05  # flat on either side
