"""Measured shape of digit images: stroke thickness, slant and size.

All three work on the *ink* of a ``[N, 1, H, W]`` batch in [-1, 1] (-1 is the background):
``ink = (image + 1) / 2`` in [0, 1]. They use only sums over pixels, so they are smooth in the
image (a small change of the image is a small change of the measure) and need no thresholds.

- **thickness** (pixels): ``2 * area / perimeter`` with ``area = Σ ink`` and ``perimeter`` the
  total variation ``Σ |ink(x+1, y) - ink(x, y)| + |ink(x, y+1) - ink(x, y)|``. A stroke of width
  ``w`` and length ``L ≫ w`` has area ``wL`` and perimeter ``≈ 2L``, so this is ``≈ w``.
- **slant**: ``-μ11 / μ02`` from the ink's central moments (``μ11 = Σ ink·(x - x̄)(y - ȳ)``,
  ``μ02 = Σ ink·(y - ȳ)²``, y pointing down): the horizontal shift per row going up, i.e. the
  tangent of the angle between the digit's main axis and the vertical. Positive leans right.
- **size**: ``sqrt((μ20 + μ02) / area) / H``, the ink's radius of gyration as a fraction of the
  image height.

Resolution note: thickness is in pixels of the given images; compare images of one size.
"""

from __future__ import annotations

import torch

MEASURES = ("thickness", "slant", "size")


def ink(images: torch.Tensor) -> torch.Tensor:
    """``[N, H, W]`` ink in [0, 1] of a ``[N, 1, H, W]`` batch in [-1, 1] (RGB: channel mean)."""
    if images.ndim != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    return ((images.float().mean(dim=1) + 1) / 2).clamp(0, 1)


def _moments(mass: torch.Tensor) -> tuple[torch.Tensor, ...]:
    n, h, w = mass.shape
    ys = torch.arange(h, dtype=mass.dtype, device=mass.device).view(1, h, 1)
    xs = torch.arange(w, dtype=mass.dtype, device=mass.device).view(1, 1, w)
    area = mass.sum(dim=(1, 2)).clamp_min(1e-6)
    cx = (mass * xs).sum(dim=(1, 2)) / area
    cy = (mass * ys).sum(dim=(1, 2)) / area
    dx = xs - cx.view(n, 1, 1)
    dy = ys - cy.view(n, 1, 1)
    mu20 = (mass * dx * dx).sum(dim=(1, 2))
    mu02 = (mass * dy * dy).sum(dim=(1, 2))
    mu11 = (mass * dx * dy).sum(dim=(1, 2))
    return area, mu20, mu02, mu11


def thickness(images: torch.Tensor) -> torch.Tensor:
    """Stroke thickness in pixels, ``[N]`` (see the module docstring)."""
    mass = ink(images)
    area = mass.sum(dim=(1, 2))
    perimeter = ((mass[:, 1:, :] - mass[:, :-1, :]).abs().sum(dim=(1, 2))
                 + (mass[:, :, 1:] - mass[:, :, :-1]).abs().sum(dim=(1, 2)))
    return 2 * area / perimeter.clamp_min(1e-6)


def slant(images: torch.Tensor) -> torch.Tensor:
    """Slant ``-μ11 / μ02`` (positive leans right), ``[N]``."""
    _, _, mu02, mu11 = _moments(ink(images))
    return -mu11 / mu02.clamp_min(1e-6)


def size(images: torch.Tensor) -> torch.Tensor:
    """Radius of gyration of the ink over the image height, ``[N]``."""
    mass = ink(images)
    area, mu20, mu02, _ = _moments(mass)
    return ((mu20 + mu02) / area).sqrt() / mass.shape[1]


def measure(images: torch.Tensor, names: tuple[str, ...] = MEASURES) -> dict[str, torch.Tensor]:
    """``{name: [N] tensor}`` for each of ``names`` (any of thickness, slant, size)."""
    functions = {"thickness": thickness, "slant": slant, "size": size}
    unknown = [n for n in names if n not in functions]
    if unknown:
        raise ValueError(f"unknown measure {unknown[0]!r}; accepted: {', '.join(MEASURES)}")
    with torch.no_grad():
        return {name: functions[name](images) for name in names}
