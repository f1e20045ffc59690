"""What InfoGAN's discriminator sees: DiffAugment, instance noise and one-sided label smoothing.

All three are off by default (``[train] augment = "none"``, ``instance_noise = 0``,
``real_label = 1``), and then the training step draws nothing extra: a run is bit-identical to
one made before these options existed.

- **DiffAugment** (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): the same kind of random, differentiable transform is applied to the real and the
  fake images before D, in D's update and in G's, so D cannot memorise the few training images
  and G still gets a gradient through the transform. Here the parameters are drawn once per
  update (:func:`draw`) and applied by a pure function (:func:`apply`), so a batch's real and
  fake halves get the same shifts and boxes. ``translation`` shifts each image by whole pixels,
  up to ``ratio`` of its side, filling from the edge (the digits' background) rather than the
  paper's zeros, which would be mid-grey in [-1, 1]; ``cutout`` zeroes a square of half the side
  at a random place, as in the paper.
- **Instance noise** (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on D's
  inputs, real and fake, with a standard deviation annealed linearly to 0 over the run.
- **One-sided label smoothing** (Salimans et al. 2016): D's target for real images is
  ``real_label`` instead of 1; fakes keep 0.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

class Params(NamedTuple):
    """One draw of augmentation parameters for a batch of ``n`` images: integer shifts
    ``[n, 2]`` (rows, columns; ``None`` without translation) and cutout box centres ``[n, 2]``
    (``None`` without cutout)."""

    shift: torch.Tensor | None
    centre: torch.Tensor | None


def draw(policy: str, n: int, side: int, *, ratio: float = 0.125,
         device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Params:
    """Random parameters of ``policy`` for ``n`` images of ``side`` pixels: shifts uniform in
    ``[-ratio * side, ratio * side]`` (rounded to whole pixels) and cutout centres anywhere."""
    parts = policy.split(",")
    shift = centre = None
    if "translation" in parts:
        limit = int(side * ratio + 0.5)
        shift = torch.randint(-limit, limit + 1, (n, 2), device=device, generator=generator)
    if "cutout" in parts:
        centre = torch.randint(0, side + 1, (n, 2), device=device, generator=generator)
    return Params(shift, centre)


def translate(images: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``images [n, C, H, W]`` moved by ``shift [n, 2]`` whole pixels (down, right), the
    uncovered border repeating the edge pixels. A gather, so gradients reach ``images``."""
    n, ch, h, w = images.shape
    rows = (torch.arange(h, device=images.device) - shift[:, :1]).clamp(0, h - 1)  # [n, H]
    cols = (torch.arange(w, device=images.device) - shift[:, 1:]).clamp(0, w - 1)  # [n, W]
    out = images.gather(2, rows.view(n, 1, h, 1).expand(n, ch, h, w))
    return out.gather(3, cols.view(n, 1, 1, w).expand(n, ch, h, w))


def cutout(images: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``images`` with a square of half the side zeroed around ``centre [n, 2]`` (clipped at
    the borders), as DiffAugment's ``rand_cutout``."""
    n, _, h, w = images.shape
    size_h, size_w = h // 2, w // 2
    ys = torch.arange(h, device=images.device).view(1, h, 1)
    xs = torch.arange(w, device=images.device).view(1, 1, w)
    top = centre[:, 0].view(n, 1, 1) - size_h // 2
    left = centre[:, 1].view(n, 1, 1) - size_w // 2
    inside = (ys >= top) & (ys < top + size_h) & (xs >= left) & (xs < left + size_w)
    return images * (~inside).unsqueeze(1).to(images.dtype)


def apply(images: torch.Tensor, params: Params) -> torch.Tensor:
    """``images`` transformed by ``params`` (translation, then cutout)."""
    if params.shift is not None:
        images = translate(images, params.shift)
    if params.centre is not None:
        images = cutout(images, params.centre)
    return images


def noise_std(start: float, step: int, steps: int) -> float:
    """Instance noise's standard deviation at ``step`` of ``steps``: ``start`` annealed
    linearly to 0 at the last step."""
    return start * max(0.0, 1.0 - step / steps)


def smoothed_bce_d(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                   real_label: float) -> torch.Tensor:
    """The discriminator's binary cross-entropy on logits with target ``real_label`` for real
    images and 0 for fakes; at ``real_label = 1`` it is the ``non-saturating`` D loss."""
    real = real_logits.float()
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
            + F.softplus(fake_logits.float()).mean())
