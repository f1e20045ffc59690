"""Feature-based metrics on any feature extractor: Fréchet distance, KID, precision and recall.

A metric here pairs an extractor (anything with ``name``, ``sha256``, ``resizer`` and
``extract(images, device) -> [N, D]``, and optionally ``extra``, protocol fields such as the
Inception resize id) with a source of real images; ``fd-digits`` and ``fid`` are
the same :class:`FrechetDistance` with different extractors. The real subset is drawn with the
metric's seed, so a given ``(n, seed)`` always compares against the same real images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol as TypingProtocol

from ganzoo.base.errors import GanzooError
from ganzoo.metrics import stats
from ganzoo.metrics.base import Metric, Score, cached, generate_images


class FeatureExtractor(TypingProtocol):
    name: str
    sha256: str | None
    resizer: str

    def extract(self, images: Any, device: Any) -> Any:
        """``[N, C, H, W]`` images in [-1, 1] → float features ``[N, D]`` on the CPU."""


class RealImages(TypingProtocol):
    name: str  # recorded as the protocol's real_data

    def images(self) -> Any:
        """All the real images, ``[N, C, H, W]`` in [-1, 1] on the CPU."""


class DigitsTrain:
    """The TRAIN split of the built-in digits dataset at 32x32 (1437 images)."""

    name = "digits train split (scikit-learn digits, 1437 images, bilinear 8x8 to 32x32)"

    def images(self):
        return cached_real_images("digits-train", _digits_train)


def _digits_train():
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build

    return build(DigitsConfig(resolution=32), "train").images


_REAL_IMAGES: dict[str, Any] = {}
_REAL_FEATURES: dict[tuple, Any] = {}


def cached_real_images(key: str, load: Callable[[], Any]) -> Any:
    """Real images kept in memory for the life of the process."""
    if key not in _REAL_IMAGES:
        _REAL_IMAGES[key] = load()
    return _REAL_IMAGES[key]


class FeatureMetric(Metric):
    """Compares features of ``n`` generated images with those of ``min(n, N_real)`` real images."""

    def __init__(self, *, extractor: Callable[[], FeatureExtractor],
                 real: RealImages | None = None):
        self._make_extractor = extractor
        self.real = real or DigitsTrain()
        self.real_data = self.real.name

    def statistic(self, real, fake, *, seed: int) -> tuple[float, dict[str, Any]]:
        """The metric's value and details from the two feature sets."""
        raise NotImplementedError

    def protocol_extra(self, n_real: int, n_fake: int) -> dict[str, Any]:
        return {}

    def compute(self, model: Any, *, n: int, seed: int, device: Any) -> Score:
        import torch

        extractor = self._make_extractor()
        tag = (extractor.name, extractor.sha256, extractor.resizer, str(device))
        fake = cached(("features", *tag, id(model), n, seed), lambda: extractor.extract(
            generate_images(model, n, seed=seed), device))
        pool = self.real.images()
        n_real = min(n, len(pool))
        key = (*tag, self.real.name, n_real, seed)
        if key not in _REAL_FEATURES:  # the real side depends only on (n, seed): keep it
            picked = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
            _REAL_FEATURES[key] = extractor.extract(pool[picked[:n_real]], device)
        real = _REAL_FEATURES[key]
        try:
            value, details = self.statistic(real, fake, seed=seed)
        except ValueError as exc:  # too few samples for the statistic
            raise GanzooError(f"metric {self.name!r} with n={n}: {exc}") from None
        protocol = self.protocol(n_real=n_real, n_fake=n, seed=seed, extractor=extractor.name,
                                 extractor_sha256=extractor.sha256, resizer=extractor.resizer,
                                 extra={"feature_dim": int(fake.shape[1]),
                                        **getattr(extractor, "extra", {}),
                                        **self.protocol_extra(n_real, n)})
        return self.score(value, protocol, details)


class FrechetDistance(FeatureMetric):
    """Fréchet distance between Gaussians fitted to real and generated features (FID's formula)."""

    name = "fd"

    def statistic(self, real, fake, *, seed):
        return stats.frechet_distance(real, fake), {}


class KernelDistance(FeatureMetric):
    """KID: unbiased MMD^2, cubic polynomial kernel, mean over 100 subsets of up to 1000."""

    name = "kid"
    subsets = 100
    subset_size = 1000

    def statistic(self, real, fake, *, seed):
        mean, std = stats.kernel_distance(real, fake, subsets=self.subsets,
                                          subset_size=self.subset_size, seed=seed)
        return mean, {"std": std}

    def protocol_extra(self, n_real, n_fake):
        return {"subsets": self.subsets, "subset_size": min(self.subset_size, n_real, n_fake),
                "kernel": "(x.y/d + 1)^3"}


class PrecisionRecall(FeatureMetric):
    """Improved precision (``which="precision"``) or recall, k-NN balls with k = 3."""

    k = 3

    def __init__(self, *, which: str, **kwargs: Any):
        assert which in ("precision", "recall"), f"which must be precision or recall, not {which!r}"
        super().__init__(**kwargs)
        self.which = which
        self.name = which

    def statistic(self, real, fake, *, seed):
        precision, recall = stats.precision_recall(real, fake, k=self.k)
        return (precision if self.which == "precision" else recall), {
            "precision": precision, "recall": recall}

    def protocol_extra(self, n_real, n_fake):
        return {"k": self.k}
