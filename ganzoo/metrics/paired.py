"""Paired translation metrics (pix2pix-style): a prediction against its ground truth.

Pure functions of two ``[N, C, H, W]`` batches in [-1, 1] (the data range is 2). Each is computed
per image, then averaged over the batch.

- :func:`l1`: mean absolute error.
- :func:`psnr`: ``10 log10(range^2 / MSE)`` in dB; ``inf`` for identical images.
- :func:`ssim`: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
  K2 = 0.03, over the positions where the window fits in the image ("valid"), averaged over
  positions and channels. Equals scikit-image's ``structural_similarity(..., gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=2)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DATA_RANGE = 2.0  # images in [-1, 1]


def _pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"expected two [N, C, H, W] batches of one shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    return pred.to(torch.float64), target.to(pred.device, torch.float64)


def l1(pred, target) -> float:
    """Mean absolute difference."""
    pred, target = _pair(pred, target)
    return float((pred - target).abs().mean())


def psnr(pred, target, *, data_range: float = DATA_RANGE) -> float:
    """Mean over images of ``10 log10(data_range^2 / MSE)``; ``inf`` if every pair is identical."""
    pred, target = _pair(pred, target)
    mse = (pred - target).pow(2).flatten(1).mean(dim=1)
    return float((10.0 * torch.log10(data_range**2 / mse)).mean())  # mse 0 → inf


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 2-D Gaussian window ``[size, size]``, float64."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(pred, target, *, data_range: float = DATA_RANGE, window: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean structural similarity (per image, then over the batch); 1 for identical images."""
    pred, target = _pair(pred, target)
    n, c, h, w = pred.shape
    if h < window or w < window:
        raise ValueError(f"ssim needs images of at least {window}x{window}, got {h}x{w}")
    kernel = gaussian_window(window, sigma).to(pred.device).expand(c, 1, window, window)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, kernel, groups=c)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x**2
    var_y = blur(target * target) - mu_y**2
    cov = blur(pred * target) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.flatten(1).mean(dim=1).mean())
