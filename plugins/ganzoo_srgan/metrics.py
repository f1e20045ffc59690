"""Super-resolution scores on whole held-out images, under both protocols in use.

- ``paper``: the SRGAN paper's (and most SR papers'): outputs rounded to 8 bits, converted to
  the luma (Y) channel of ITU-R BT.601 YCbCr (MATLAB's ``rgb2ycbcr``, Y in [16, 235]),
  ``scale`` pixels cropped from every border, PSNR with peak 255 and SSIM (Gaussian 11x11,
  sigma 1.5) on Y;
- ``rgb``: the same on all three RGB channels with no conversion (as BasicSR's model zoo
  reports when ``test_y_channel`` is off), border cropped the same way.

A score's value is the paper protocol; ``details`` holds the RGB one and the same two for the
bicubic baseline (MATLAB-style bicubic upsampling of the same low-resolution inputs).
``sr-sharpness`` is the ratio of the mean luma gradient magnitude (Sobel) of the output to that
of the true image: 1 is as sharp as the truth, bicubic is well below it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganzoo.base.errors import DataError
from ganzoo.metrics.base import Metric
from ganzoo.metrics.paired import psnr, ssim

from .resize import upscale_bicubic

_Y = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64)


def to_uint8_levels(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images as float64 levels 0..255, rounded as a saved PNG would be."""
    return ((images.to(torch.float64).clamp(-1, 1) + 1) * 127.5).round()


def luma(levels: torch.Tensor) -> torch.Tensor:
    """BT.601 Y in [16, 235] of RGB levels 0..255, ``[N, 1, H, W]`` (grayscale passes through)."""
    if levels.shape[1] == 1:
        return levels
    return 16.0 + torch.einsum("nchw,c->nhw", levels / 255.0, _Y.to(levels.device))[:, None]


def crop_border(images: torch.Tensor, border: int) -> torch.Tensor:
    return images[..., border:-border, border:-border] if border else images


def prepared(images: torch.Tensor, protocol: str, scale: int) -> torch.Tensor:
    levels = to_uint8_levels(images)
    return crop_border(luma(levels) if protocol == "paper" else levels, scale)


def sharpness(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean Sobel gradient magnitude of the luma of ``pred`` over that of ``target``."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
                      dtype=torch.float64)

    def magnitude(images: torch.Tensor) -> torch.Tensor:
        y = luma(to_uint8_levels(images))
        gx = F.conv2d(y, kx.view(1, 1, 3, 3).to(y.device))
        gy = F.conv2d(y, kx.T.reshape(1, 1, 3, 3).to(y.device))
        return (gx.square() + gy.square()).sqrt().flatten(1).mean(1)

    return float((magnitude(pred) / magnitude(target)).mean())


def measure(pred: torch.Tensor, target: torch.Tensor, scale: int) -> dict[str, float]:
    """Every score of one output against its truth (``[1, C, H, W]`` in [-1, 1])."""
    out = {}
    for protocol in ("paper", "rgb"):
        p, t = prepared(pred, protocol, scale), prepared(target, protocol, scale)
        out[f"psnr_{protocol}"] = psnr(p, t, data_range=255.0)
        out[f"ssim_{protocol}"] = ssim(p, t, data_range=255.0)
    out["sharpness"] = sharpness(pred, target)
    return out


def score_images(upscale: Callable[[torch.Tensor], torch.Tensor], data, scale: int,
                 n: int | None = None) -> dict[str, float]:
    """Mean of :func:`measure` over the whole images of ``data`` (its ``whole(i)`` pairs, the
    first ``n``), upscaled by ``upscale``."""
    count = len(data.loaders) if n is None else min(n, len(data.loaders))
    if not count:
        raise DataError("super-resolution metrics: the held-out data is empty")
    totals: dict[str, float] = {}
    for index in range(count):
        low, high = data.whole(index)
        pred = upscale(low[None]).to("cpu", torch.float32)
        for key, value in measure(pred, high[None], scale).items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: value / count for key, value in totals.items()}


def describe(data) -> str:
    names = ", ".join(str(name) for name in getattr(data, "names", ()))
    return f"{type(data).__name__} test split, whole images: {names}"


class _SRMetric(Metric):
    needs_data = True
    key = ""

    def compute(self, model, *, n: int, seed: int, device, data=None):
        if not hasattr(data, "whole"):
            raise DataError(f"metric {self.name!r} scores super-resolution data (datasets "
                            "'super-resolution' or 'sr-photos'), not "
                            f"{type(data).__name__}")
        scale = model.scale
        ours = score_images(lambda low: model.upscale(low.to(device)), data, scale, n)
        bicubic = score_images(lambda low: upscale_bicubic(low, scale), data, scale, n)
        count = min(n, len(data.loaders))
        extra = {"protocol": "paper: 8-bit outputs, BT.601 Y channel, border of scale pixels "
                             "cropped, peak 255" if self.key != "sharpness" else
                             "mean Sobel gradient magnitude of the luma, output / truth",
                 "scale": scale, "downsampling": "MATLAB-style bicubic (imresize), 8-bit"}
        if self.key == "sharpness":
            value = ours["sharpness"]
            details = {"bicubic": bicubic["sharpness"]}
        else:
            value = ours[f"{self.key}_paper"]
            details = {"rgb": ours[f"{self.key}_rgb"], "bicubic": bicubic[f"{self.key}_paper"],
                       "bicubic_rgb": bicubic[f"{self.key}_rgb"]}
        protocol = self.protocol(n_real=count, n_fake=count, seed=seed,
                                 real_data=describe(data), extra=extra)
        return self.score(value, protocol, details)


class SRPSNR(_SRMetric):
    name = "sr-psnr"
    key = "psnr"


class SRSSIM(_SRMetric):
    name = "sr-ssim"
    key = "ssim"


class SRSharpness(_SRMetric):
    name = "sr-sharpness"
    key = "sharpness"
