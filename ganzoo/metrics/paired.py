"""Paired translation metrics (pix2pix-style): a prediction against its ground truth.

Pure functions of two ``[N, C, H, W]`` batches in [-1, 1] (the data range is 2). Each is computed
per image, then averaged over the batch.

- :func:`l1`: mean absolute error.
- :func:`psnr`: ``10 log10(range^2 / MSE)`` in dB; ``inf`` for identical images (torchmetrics).
- :func:`ssim`: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
  K2 = 0.03, over the positions where the window fits in the image ("valid"), averaged over
  positions and channels: torchmetrics' SSIM map, cropped to those positions (torchmetrics' own
  mean also counts the reflection-padded border). Equals scikit-image's
  ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=2)``.
"""

from __future__ import annotations

import torch

from ganzoo.base.errors import DataError, GanzooError
from ganzoo.metrics.base import Metric

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
    """Mean over images of ``10 log10(data_range^2 / MSE)``; ``inf`` if every pair is identical.

    torchmetrics' ``peak_signal_noise_ratio`` per image (``dim=(1, 2, 3)``), then the mean."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    pred, target = _pair(pred, target)
    return float(peak_signal_noise_ratio(pred, target, data_range=data_range, dim=(1, 2, 3),
                                         reduction="elementwise_mean"))


def ssim(pred, target, *, data_range: float = DATA_RANGE, window: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean structural similarity (per image, then over the batch); 1 for identical images.

    torchmetrics' ``structural_similarity_index_measure`` computes the SSIM map; it pads the
    images by reflection and averages over every pixel, so the map is cropped to the positions
    where the window fits in the image before averaging, as in Wang et al.'s reference code
    (MATLAB ``filter2(..., 'valid')``) and scikit-image. ``window`` must be the one torchmetrics
    derives from ``sigma`` (``2 * int(3.5 sigma + 0.5) + 1``: 11 for 1.5).
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    pred, target = _pair(pred, target)
    n, c, h, w = pred.shape
    if window != 2 * int(3.5 * sigma + 0.5) + 1:
        raise ValueError(f"ssim: a Gaussian window of {window} for sigma {sigma} is not "
                         f"torchmetrics'; it uses {2 * int(3.5 * sigma + 0.5) + 1}")
    if h < window or w < window:
        raise ValueError(f"ssim needs images of at least {window}x{window}, got {h}x{w}")
    _, ssim_map = structural_similarity_index_measure(
        pred, target, gaussian_kernel=True, sigma=sigma, data_range=data_range, k1=k1, k2=k2,
        reduction="none", return_full_image=True)
    pad = (window - 1) // 2
    valid = ssim_map[..., pad:h - pad, pad:w - pad]
    return float(valid.flatten(1).mean(dim=1).mean())


# -- metrics on held-out pairs (paired translation: pix2pix ...) ------------------------------

def held_out_pairs(data, n: int, batch_size: int = 16):
    """Batches ``(source, target)`` of the first ``min(n, len(data))`` items, in order; items of
    another size than the previous one start a new batch."""
    count = min(n, len(data))
    sources: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    for index in range(count):
        item = data[index]
        if sources and (item["source"].shape != sources[0].shape or len(sources) == batch_size):
            yield torch.stack(sources), torch.stack(targets)
            sources, targets = [], []
        sources.append(item["source"])
        targets.append(item["target"])
    if sources:
        yield torch.stack(sources), torch.stack(targets)


def _describe_data(data) -> str:
    cfg = getattr(data, "cfg", None)
    what = type(data).__name__
    if cfg is not None:
        import attrs

        fields = attrs.asdict(cfg) if attrs.has(type(cfg)) else {}
        what += "(" + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")"
    return f"{what}, test split, {len(data)} items"


class PairedMetric(Metric):
    """Compares ``model.translate(source)`` with ``target`` over the held-out split, image by
    image (the first ``n`` items, in order; no randomness). ``details["identity"]`` is the same
    measure for the input itself (channels broadcast), the do-nothing baseline.

    A subclass sets ``function_name`` (a function of this module) or overrides :meth:`measure`,
    and may add protocol fields in :meth:`protocol_extra`."""

    needs_data = True
    function_name = ""

    def measure(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        """The mean over images of the measure of each ``pred`` against its ``target``."""
        from ganzoo.metrics import paired

        return getattr(paired, self.function_name)(pred, target)

    def protocol_extra(self) -> dict:
        if self.function_name == "ssim":
            return {"window": 11, "sigma": 1.5, "k1": 0.01, "k2": 0.03, "positions": "valid"}
        return {}

    def compute(self, model, *, n: int, seed: int, device, data=None):
        from ganzoo.nn.kinds import Translator, describe

        if not isinstance(model, Translator):
            raise GanzooError(f"metric {self.name!r} compares a translator's outputs with "
                              f"held-out targets, but {model.architecture} is {describe(model)}")
        function = self.measure
        total = baseline = 0.0
        count = 0
        comparable = True
        for source, target in held_out_pairs(data, n):
            output = model.translate(source.to(device)).to("cpu", torch.float32)
            k = len(source)
            total += function(output, target) * k
            if comparable and source.shape[1] in (1, target.shape[1]):
                baseline += function(source.expand_as(target), target) * k
            else:
                comparable = False
            count += k
        if not count:
            raise DataError(f"metric {self.name!r}: the held-out data is empty")
        extra = {"data_range": 2.0, "per": "image, then mean over images",
                 **self.protocol_extra()}
        protocol = self.protocol(n_real=count, n_fake=count, seed=seed,
                                 real_data=_describe_data(data), extra=extra)
        details = {"identity": baseline / count} if comparable else {}
        return self.score(total / count, protocol, details)


class PairedL1(PairedMetric):
    name = "paired-l1"
    function_name = "l1"


class PSNR(PairedMetric):
    name = "psnr"
    function_name = "psnr"


class SSIM(PairedMetric):
    name = "ssim"
    function_name = "ssim"
