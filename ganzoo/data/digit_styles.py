"""Embedded unpaired data whose ground truth is known: scikit-learn's digits in two styles.

Domain A is the ``digits`` dataset as it is; domain B is :func:`restyle` of it: strokes ``bold``
pixels bolder (a grey-level dilation, i.e. a max filter) and, with ``colour``, yellow ink on navy
paper. Training pairs A images with B images of *other* digits (the train split's even and odd
halves), so a model must learn the style from unpaired examples; the test split holds each
held-out digit in both styles, so a translation can be scored against its true counterpart and
by the digits classifier (``counterpart-l1``, ``digit-identity``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganzoo.data.configs import DigitsConfig
from ganzoo.data.digits import build as build_digits
from ganzoo.data.images import check_split
from ganzoo.data.unpaired import pick
from ganzoo.data.configs import DigitStylesConfig

#: Domain B's ink and paper colours (RGB in [0, 1]). The paper is dark and the ink bright, so the
#: digits classifier (which reads RGB as luminance) still sees light strokes on a dark ground.
INK = (1.0, 0.9, 0.3)
PAPER = (0.0, 0.05, 0.25)


def restyle(images: torch.Tensor, *, bold: int, colour: bool) -> torch.Tensor:
    """``[N, 1, H, W]`` digits in [-1, 1] -> domain B: dilated by ``bold`` pixels, and coloured
    (``[N, 3, H, W]``) with :data:`INK` on :data:`PAPER` when ``colour``."""
    out = images
    if bold:
        out = F.max_pool2d(out, 2 * bold + 1, stride=1, padding=bold)
    if colour:
        ink = torch.tensor(INK).view(1, 3, 1, 1)
        paper = torch.tensor(PAPER).view(1, 3, 1, 1)
        out = (paper + (out + 1) / 2 * (ink - paper)) * 2 - 1
    return out.contiguous()


class DigitStylesDataset(Dataset):
    """Training: ``{"a", "b"}`` from disjoint digits (B random, or in order with ``serial``);
    test: ``{"a", "b", "label"}`` with ``b`` the true counterpart of ``a``."""

    input_nc = 1
    num_classes = 10

    def __init__(self, *, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor | None,
                 cfg: DigitStylesConfig):
        self.a, self.b, self.labels = a, b, labels
        self.cfg = cfg
        self.resolution = cfg.resolution
        self.output_nc = 3 if cfg.colour else 1
        #: the test split pairs each A image with its true B counterpart (see the metrics)
        self.counterparts = labels is not None

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if self.counterparts:
            return {"a": self.a[index], "b": self.b[index], "label": self.labels[index]}
        b = pick(index, len(self.b), random=not self.cfg.serial)
        return {"a": self.a[index % len(self.a)], "b": self.b[b]}


def build(cfg: DigitStylesConfig, split: str) -> DigitStylesDataset:
    """The ``"train"`` split (A: the 719 even-numbered training digits, B: the 718 odd-numbered
    ones, restyled) or the ``"test"`` split (the 360 held-out digits in both styles)."""
    check_split(split)
    digits = build_digits(DigitsConfig(resolution=cfg.resolution), split)
    images = digits.images
    restyled = restyle(images, bold=cfg.bold, colour=cfg.colour)
    if split == "train":
        return DigitStylesDataset(a=images[0::2].contiguous(), b=restyled[1::2].contiguous(),
                                  labels=None, cfg=cfg)
    return DigitStylesDataset(a=images, b=restyled, labels=digits.labels, cfg=cfg)
