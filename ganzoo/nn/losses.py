"""GAN losses as pure functions on tensors.

Discriminator outputs are *logits*, never probabilities: ``softplus`` on logits is the numerically
stable form of ``-log(sigmoid(x))``. Every function casts to float32 before reducing, so the result
is a float32 scalar even under bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "bce_d",
    "bce_g",
    "non_saturating_g",
    "lsgan_d",
    "lsgan_g",
    "hinge_d",
    "hinge_g",
    "wgan_d",
    "wgan_g",
    "relativistic_average_d",
    "relativistic_average_g",
    "gradient_penalty",
    "r1_penalty",
    "l1",
    "l2",
    "cycle",
    "identity",
    "kl_normal",
    "gradient_magnitude",
]


def bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Standard GAN discriminator loss: ``mean(softplus(-real)) + mean(softplus(fake))``.

    Equal to ``BCE(real, 1) + BCE(fake, 0)`` on logits.
    """
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def bce_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Minimax generator loss: ``mean(log(1 - sigmoid(fake))) = -mean(softplus(fake))``.

    Its gradient vanishes when D confidently rejects the fakes; prefer :func:`non_saturating_g`.
    """
    return -F.softplus(fake_logits.float()).mean()


def non_saturating_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``mean(softplus(-fake))``, i.e. ``BCE(fake, 1)``."""
    return F.softplus(-fake_logits.float()).mean()


def lsgan_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss: ``0.5 * mean((real - 1)^2) + 0.5 * mean(fake^2)``."""
    return 0.5 * (real_logits.float() - 1).pow(2).mean() + 0.5 * fake_logits.float().pow(2).mean()


def lsgan_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss: ``0.5 * mean((fake - 1)^2)``."""
    return 0.5 * (fake_logits.float() - 1).pow(2).mean()


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss: ``mean(relu(1 - real)) + mean(relu(1 + fake))``."""
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def hinge_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: ``-mean(fake)``."""
    return -fake_logits.float().mean()


def wgan_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss: ``mean(fake) - mean(real)``."""
    return fake_logits.float().mean() - real_logits.float().mean()


def wgan_g(fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss: ``-mean(fake)``."""
    return -fake_logits.float().mean()


def relativistic_average_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic-average discriminator loss (Jolicoeur-Martineau 2018; ESRGAN):
    ``BCE(real - mean(fake), 1) + BCE(fake - mean(real), 0)``, halved, on logits."""
    real, fake = real_logits.float(), fake_logits.float()
    return 0.5 * (F.softplus(-(real - fake.mean())).mean() + F.softplus(fake - real.mean()).mean())


def relativistic_average_g(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Its generator loss, the same game with the roles swapped:
    ``relativistic_average_d(fake_logits, real_logits)``."""
    return relativistic_average_d(fake_logits, real_logits)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): ``mean((||grad critic(x)||_2 - 1)^2)``.

    ``x = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U(0, 1)`` per sample. The graph
    is kept (``create_graph=True``) so the penalty can be backpropagated into the critic.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator, device=real.device).to(real.dtype)
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    norms = grads.float().flatten(1).norm(2, dim=1)
    return (norms - 1).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ``mean ||grad_x sum(real_logits)||^2`` over the batch, for
    logits ``[n]`` computed from ``real`` (which must require grad). The graph is kept so the
    penalty trains D; a D whose logits do not depend on ``real`` has penalty 0."""
    (grads,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True,
                                   allow_unused=True)
    if grads is None:
        return real_logits.new_zeros((), dtype=torch.float32)
    return grads.float().flatten(1).square().sum(dim=1).mean()


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: ``mean(|pred - target|)``."""
    return (pred.float() - target.float()).abs().mean()


def l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error: ``mean((pred - target)^2)``."""
    return (pred.float() - target.float()).pow(2).mean()


def cycle(real: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """CycleGAN cycle-consistency loss: ``mean(|reconstructed - real|)``, e.g. ``F(G(x))`` vs ``x``."""
    return l1(reconstructed, real)


def identity(real: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """CycleGAN identity loss: ``mean(|mapped - real|)``, e.g. ``G(y)`` vs ``y``."""
    return l1(mapped, real)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` averaged over all elements.

    ``-0.5 * mean(1 + logvar - mu^2 - exp(logvar))``; StackGAN's conditioning-augmentation term.
    """
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean()


def luma_gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """``[N, 1, H-1, W-1]``: the length of the luminance's forward-difference gradient (RGB
    weighted as in ITU-R BT.601; other channel counts averaged)."""
    images = images.float()
    if images.shape[1] == 3:
        weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        luma = (images * weights).sum(1, keepdim=True)
    else:
        luma = images.mean(1, keepdim=True)
    dx = luma[..., :-1, 1:] - luma[..., :-1, :-1]
    dy = luma[..., 1:, :-1] - luma[..., :-1, :-1]
    return (dx.square() + dy.square() + 1e-8).sqrt()


def gradient_magnitude(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between the luminance gradient magnitudes of ``pred`` and ``target``, averaged over the
    full, half and quarter resolution.

    A magnitude ignores the sign of a step: it rewards a sharp transition wherever the target has
    one, even when the input (an edge map) cannot tell which side is darker, where plain L1 is
    best served by a flat output. The coarser scales keep it from being met with pixel-scale
    texture.
    """
    total = pred.new_zeros((), dtype=torch.float32)
    for k in (1, 2, 4):
        total = total + l1(luma_gradient_magnitude(F.avg_pool2d(pred.float(), k)),
                           luma_gradient_magnitude(F.avg_pool2d(target.float(), k)))
    return total / 3
