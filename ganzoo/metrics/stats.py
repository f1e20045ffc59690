"""Distances between two sets of features ``[N, D]``: pure functions, no model involved.

- :func:`frechet_distance`: Fréchet distance between Gaussians fitted to each set (the "F" of FID,
  Heusel et al. 2017), ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``, in float64.
- :func:`kernel_distance`: KID (Bińkowski et al. 2018), the unbiased MMD^2 with the cubic
  polynomial kernel ``k(x, y) = (x.y / D + 1)^3``, averaged over random subsets.
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019) from k-NN
  balls, k = 3.
"""

from __future__ import annotations

import torch


def _as_features(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected features [N, D], got shape {tuple(x.shape)}")
    if len(x) < 2:
        raise ValueError(f"{name}: need at least 2 samples, got {len(x)}")
    return x


def mean_cov(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` of ``features [N, D]``, float64."""
    x = _as_features(features, "features")
    return x.mean(dim=0), torch.cov(x.T, correction=1).reshape(x.shape[1], x.shape[1])


def frechet_distance(features1, features2, *, method: str = "auto") -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``[N1, D]`` and ``[N2, D]``."""
    return frechet_distance_from_stats(*mean_cov(features1), *mean_cov(features2), method=method)


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, *, method: str = "auto") -> float:
    """``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``.

    ``method="scipy"``: the usual ``scipy.linalg.sqrtm`` of ``sigma1 @ sigma2`` (as pytorch-fid
    and torch-fidelity compute it, with their small-offset retry); ``"eigh"``: the trace of the
    square root as the sum of the square roots of the eigenvalues of the symmetric PSD matrix
    ``sigma1^(1/2) sigma2 sigma1^(1/2)``, which has the same eigenvalues as ``sigma1 sigma2``;
    ``"auto"``: scipy when it is installed.
    """
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64).cpu()
                                for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"feature dimensions differ: {tuple(mu1.shape)} vs {tuple(mu2.shape)}")
    if method == "auto":
        try:
            import scipy.linalg  # noqa: F401
        except ImportError:
            method = "eigh"
        else:
            method = "scipy"
    if method == "scipy":
        tr_covmean = _trace_sqrt_scipy(sigma1, sigma2)
    elif method == "eigh":
        tr_covmean = _trace_sqrt_eigh(sigma1, sigma2)
    else:
        raise ValueError(f"method must be 'auto', 'scipy' or 'eigh', got {method!r}")
    diff = mu1 - mu2
    value = float(diff @ diff + torch.trace(sigma1) + torch.trace(sigma2)) - 2.0 * tr_covmean
    return 0.0 if -1e-9 < value < 0 else value  # rounding below zero for identical sets


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def _trace_sqrt_eigh(sigma1: torch.Tensor, sigma2: torch.Tensor) -> float:
    root1 = _sqrt_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    values = torch.linalg.eigvalsh((inner + inner.T) / 2)
    return float(values.clamp(min=0).sqrt().sum())


def _trace_sqrt_scipy(sigma1: torch.Tensor, sigma2: torch.Tensor) -> float:
    import warnings

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


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(x y^T / D + 1)^3``, KID's kernel (batched over leading dimensions)."""
    return (x @ y.transpose(-1, -2) / x.shape[-1] + 1.0) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 between sample sets ``[..., m, D]`` of one size, :func:`polynomial_kernel`."""
    m = x.shape[-2]

    def off_diagonal_mean(k: torch.Tensor) -> torch.Tensor:
        return (k.sum(dim=(-1, -2)) - k.diagonal(dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))

    k_xy = polynomial_kernel(x, y)
    return (off_diagonal_mean(polynomial_kernel(x, x)) + off_diagonal_mean(polynomial_kernel(y, y))
            - 2.0 * k_xy.mean(dim=(-1, -2)))


def kernel_distance(features1, features2, *, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over ``subsets`` random subsets of
    ``min(subset_size, N1, N2)`` samples of each set, drawn without replacement with ``seed``.
    When that is all of both sets, every subset is the same: it is computed once (std 0)."""
    x, y = _as_features(features1, "features1"), _as_features(features2, "features2")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} vs {y.shape[1]}")
    m = min(subset_size, len(x), len(y))
    if m == len(x) == len(y):  # every subset would be the whole of both sets
        subsets = 1
    generator = torch.Generator().manual_seed(seed)
    picks = [(torch.randperm(len(x), generator=generator)[:m],
              torch.randperm(len(y), generator=generator)[:m]) for _ in range(subsets)]
    # Several subsets per batched matmul (few large ops, not many small ones), ~64 MB at a time.
    per_batch = max(1, (1 << 23) // (m * m))
    values = []
    for start in range(0, subsets, per_batch):
        ix, iy = zip(*picks[start:start + per_batch])
        values.append(mmd2_unbiased(x[torch.stack(ix)], y[torch.stack(iy)]))
    t = torch.cat(values)
    return float(t.mean()), (float(t.std(correction=0)) if len(t) > 1 else 0.0)


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
