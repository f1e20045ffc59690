"""Distances between two sets of features ``[N, D]``: pure functions, no model involved.

- :func:`frechet_distance`: Fréchet distance between Gaussians fitted to each set (the "F" of FID,
  Heusel et al. 2017), ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``, in float64, computed by
  torchmetrics' ``FrechetInceptionDistance`` fed with the features (scipy's ``sqrtm``, as
  pytorch-fid computes it, on request).
- :func:`kernel_distance`: KID (Bińkowski et al. 2018), the unbiased MMD^2 with the cubic
  polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged over random subsets, computed by
  torchmetrics' ``KernelInceptionDistance`` in float64 with a seeded generator.
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019) from k-NN
  balls, k = 3 (no maintained library offers it: ganzoo's own).
"""

from __future__ import annotations

import warnings

import torch


def _as_features(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected features [N, D], got shape {tuple(x.shape)}")
    if len(x) < 2:
        raise ValueError(f"{name}: need at least 2 samples, got {len(x)}")
    return x


class GivenFeatures(torch.nn.Module):
    """torchmetrics' ``feature`` extractor for features computed already: it passes them on.

    ganzoo extracts features once per :func:`ganzoo.metrics.evaluate` call and shares them between
    metrics; torchmetrics' image metrics then only do the statistics."""

    def __init__(self, dim: int):
        super().__init__()
        self.num_features = dim

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def mean_cov(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` of ``features [N, D]``, float64."""
    x = _as_features(features, "features")
    return x.mean(dim=0), torch.cov(x.T, correction=1).reshape(x.shape[1], x.shape[1])


def frechet_distance(features1, features2, *, method: str = "auto") -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``[N1, D]`` and ``[N2, D]``.

    ``method="torchmetrics"`` (and ``"auto"``): torchmetrics' ``FrechetInceptionDistance`` with
    the features passed through (float64 statistics; the trace of the square root from the
    eigenvalues of ``sigma1 sigma2``); ``"scipy"``: :func:`frechet_distance_from_stats` with
    ``scipy.linalg.sqrtm``, as pytorch-fid and torch-fidelity compute it. The two agree to about
    1e-9 relative on the digits features (tests/test_metrics.py measures it).
    """
    x, y = _as_features(features1, "features1"), _as_features(features2, "features2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    if method == "scipy":
        return frechet_distance_from_stats(*mean_cov(x), *mean_cov(y), method="scipy")
    if method not in ("auto", "torchmetrics"):
        raise ValueError(f"method must be 'auto', 'torchmetrics' or 'scipy', got {method!r}")
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=GivenFeatures(x.shape[1]))
    fid.update(x, real=True)
    fid.update(y, real=False)
    value = float(fid.compute())
    return 0.0 if -1e-9 < value < 0 else value  # rounding below zero for identical sets


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, *, method: str = "auto") -> float:
    """``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))`` from the means
    and covariances, with ``scipy.linalg.sqrtm`` of ``sigma1 @ sigma2`` (as pytorch-fid and
    torch-fidelity compute it, with their small-offset retry). ``method``: ``"auto"`` or
    ``"scipy"``, the same."""
    if method not in ("auto", "scipy"):
        raise ValueError(f"method must be 'auto' or 'scipy', got {method!r}")
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64).cpu()
                                for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"feature dimensions differ: {tuple(mu1.shape)} vs {tuple(mu2.shape)}")
    tr_covmean = _trace_sqrt_scipy(sigma1, sigma2)
    diff = mu1 - mu2
    value = float(diff @ diff + torch.trace(sigma1) + torch.trace(sigma2)) - 2.0 * tr_covmean
    return 0.0 if -1e-9 < value < 0 else value  # rounding below zero for identical sets


def _trace_sqrt_scipy(sigma1: torch.Tensor, sigma2: torch.Tensor) -> float:
    import numpy as np
    import scipy.linalg

    s1, s2 = sigma1.numpy(), sigma2.numpy()
    with warnings.catch_warnings():  # fewer samples than dimensions, dead units: singular is usual
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # offset the diagonals and retry, as pytorch-fid does
            offset = np.eye(s1.shape[0]) * 1e-6
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(np.trace(covmean))


def kernel_distance(features1, features2, *, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over ``subsets`` random subsets of
    ``min(subset_size, N1, N2)`` samples of each set, drawn without replacement with ``seed``
    (torchmetrics' ``KernelInceptionDistance``, its subsets drawn under ``torch.manual_seed(seed)``
    in a forked RNG, so the caller's random state is untouched). When that is all of both sets,
    every subset is the same: it is computed once (std 0)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    x, y = _as_features(features1, "features1"), _as_features(features2, "features2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    m = min(subset_size, len(x), len(y))
    if m == len(x) == len(y):  # every subset would be the whole of both sets
        subsets = 1
    with warnings.catch_warnings():  # "will save all extracted features": they are given here
        warnings.filterwarnings("ignore", message=".*save all extracted features",
                                category=UserWarning)
        kid = KernelInceptionDistance(feature=GivenFeatures(x.shape[1]), subsets=subsets,
                                      subset_size=m, degree=3, gamma=None, coef=1.0)
    kid.update(x, real=True)
    kid.update(y, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each sample to its k-th nearest other sample."""
    if len(features) <= k:
        raise ValueError(f"k-NN radii need more than k={k} samples, got {len(features)}")
    radii = []
    for chunk in features.split(1024):
        d = torch.cdist(chunk, features)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # the 1st is the sample itself (0)
    return torch.cat(radii)


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """The fraction of ``points`` inside at least one ball (centre, radius)."""
    inside = [(torch.cdist(chunk, centres) <= radii[None, :]).any(dim=1)
              for chunk in points.split(1024)]
    return float(torch.cat(inside).double().mean())


def precision_recall(real, fake, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Precision: the fraction of fake samples inside the real manifold, the union of balls around
    each real sample with the radius of its k-th nearest real neighbour. Recall: the fraction of
    real samples inside the fake manifold, built the same way.
    """
    x, y = _as_features(real, "real"), _as_features(fake, "fake")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    precision = _coverage(y, x, knn_radii(x, k))
    recall = _coverage(x, y, knn_radii(y, k))
    return precision, recall
