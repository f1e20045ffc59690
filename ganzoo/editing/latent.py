"""Walking a generator's latent space: interpolation and vector arithmetic.

Latents are whatever the model's ``generate(z=...)`` takes (DCGAN: ``[N, z_dim, 1, 1]``); these
functions treat each latent as one flat vector and give results in the input's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ganzoo.base.errors import GanzooError

METHODS = ("linear", "spherical")


def _as_steps(t, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(t, dtype=like.dtype, device=like.device).reshape(-1)


def lerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """``(1 - t) a + t b`` for each ``t``: ``[len(t), *a.shape]`` (``a``, ``b``: one latent)."""
    steps = _as_steps(t, a).view(-1, *([1] * a.ndim))
    return (1 - steps) * a.unsqueeze(0) + steps * b.unsqueeze(0)


def slerp(a: torch.Tensor, b: torch.Tensor, t, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GANs), ``[len(t), *a.shape]``.

    Moves along the great circle between the directions of ``a`` and ``b`` while the norm goes
    linearly from ``|a|`` to ``|b|``: Gaussian latents keep the norm typical of the prior, which
    the straight line between them does not (its midpoint is shorter by up to √2). Falls back to
    :func:`lerp` when ``a`` and ``b`` point the same way.
    """
    steps = _as_steps(t, a)
    fa, fb = a.reshape(-1).double(), b.reshape(-1).double()
    na, nb = fa.norm(), fb.norm()
    cos = torch.dot(fa / na.clamp_min(eps), fb / nb.clamp_min(eps)).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4 or na < eps or nb < eps:
        return lerp(a, b, steps)
    s = steps.double().view(-1, 1)
    ua, ub = fa / na, fb / nb
    direction = (torch.sin((1 - s) * omega) * ua + torch.sin(s * omega) * ub) / torch.sin(omega)
    norm = (1 - s) * na + s * nb
    out = direction * norm
    # Exact endpoints, bit for bit.
    out = torch.where(s == 0, fa.unsqueeze(0), torch.where(s == 1, fb.unsqueeze(0), out))
    return out.to(a.dtype).view(len(steps), *a.shape)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "spherical"
                ) -> torch.Tensor:
    """``steps`` latents from ``a`` to ``b`` inclusive, ``[steps, *a.shape]``."""
    if method not in METHODS:
        raise GanzooError(f"unknown interpolation method {method!r}; accepted: "
                          f"{', '.join(METHODS)}")
    if steps < 2:
        raise GanzooError(f"an interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps)
    return (slerp if method == "spherical" else lerp)(a, b, t)


def latent_of(model, seed: int) -> torch.Tensor:
    """The latent the model draws for ``seed`` (one, without the batch dimension)."""
    return model.sample_latent(1, seed=seed)[0]


def interpolation_grid(model, seeds: Sequence[int] | None = None, *, latents=None,
                       steps: int = 8, method: str = "spherical") -> torch.Tensor:
    """Images between consecutive seeds (or latents): one row of ``steps`` per pair,
    ``[(len - 1) * steps, C, H, W]``."""
    if latents is None:
        if not seeds or len(seeds) < 2:
            raise GanzooError("give at least two seeds (or latents) to interpolate between")
        latents = [latent_of(model, s) for s in seeds]
    rows = [interpolate(a, b, steps, method) for a, b in zip(latents[:-1], latents[1:])]
    with torch.no_grad():
        return model.generate(0, z=torch.cat(rows))


def mean_latent(latents: torch.Tensor) -> torch.Tensor:
    """The average of ``[k, ...]`` latents (one latent)."""
    return latents.mean(dim=0)


def arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``mean(a) - mean(b) + mean(c)`` for stacks of latents ``[k, ...]`` (Radford et al. 2015,
    section 6.3: averaging three samples per concept makes the result stable)."""
    return mean_latent(a) - mean_latent(b) + mean_latent(c)
