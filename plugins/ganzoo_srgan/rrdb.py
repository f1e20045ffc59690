"""ESRGAN's generator (Wang et al. 2018): residual-in-residual dense blocks, no batch norm.

``[model] generator = "rrdb"`` swaps it in for SRResNet; the discriminator and the trainers stay.
The layout follows the ESRGAN paper (Fig. 4): a 3x3 convolution, ``blocks`` RRDBs (each three
dense blocks of five 3x3 convolutions, ``growth`` new feature maps per convolution, leaky ReLU 0.2,
residuals scaled by 0.2), a 3x3 convolution added to the first one's output (the long skip), per
factor of two a nearest-neighbour x2 upsampling and a 3x3 convolution with leaky ReLU, then two
3x3 convolutions to RGB.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: ESRGAN scales every residual branch by this before adding it (residual scaling, Sec. 3.1).
RESIDUAL_SCALE = 0.2


class DenseBlock(nn.Module):
    """Five 3x3 convolutions, each seeing the input and every earlier output (dense links)."""

    def __init__(self, width: int, growth: int):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(width + k * growth, growth if k < 4 else width, 3, padding=1)
            for k in range(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = [x]
        for k, conv in enumerate(self.convs):
            out = conv(torch.cat(seen, dim=1))
            if k < 4:
                seen.append(F.leaky_relu(out, 0.2))
        return x + RESIDUAL_SCALE * out


class RRDB(nn.Module):
    """Three dense blocks in sequence, their sum scaled and added to the input."""

    def __init__(self, width: int, growth: int):
        super().__init__()
        self.dense = nn.Sequential(*[DenseBlock(width, growth) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.dense(x)


class RRDBGenerator(nn.Module):
    """head, RRDBs, the long skip, nearest x2 + conv upsamplers, two convolutions out."""

    def __init__(self, *, channels: int, width: int, blocks: int, growth: int, scale: int,
                 io_range: str, bicubic_skip: bool = False):
        super().__init__()
        self.unit_range = io_range == "[0,1]"
        self.scale = scale
        self.bicubic_skip = bicubic_skip
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[RRDB(width, growth) for _ in range(blocks)])
        self.fuse = nn.Conv2d(width, width, 3, padding=1)
        self.upsample = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1)
                                      for _ in range(int(math.log2(scale))))
        self.hr = nn.Conv2d(width, width, 3, padding=1)
        self.tail = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        if self.unit_range:
            low = (low + 1) / 2
        features = self.head(low)
        features = features + self.fuse(self.blocks(features))  # the long skip
        for conv in self.upsample:
            features = F.leaky_relu(conv(F.interpolate(features, scale_factor=2, mode="nearest")),
                                    0.2)
        out = self.tail(F.leaky_relu(self.hr(features), 0.2))
        if self.bicubic_skip:
            out = out + F.interpolate(low, scale_factor=self.scale, mode="bicubic",
                                      align_corners=False)
        return out * 2 - 1 if self.unit_range else out


def receptive_radius(*, blocks: int, scale: int) -> float:
    """Low-resolution pixels that reach an output pixel: 1 (head) + 15 per RRDB + 1 (fuse), then
    one high-resolution pixel per later 3x3 convolution, in low-resolution units."""
    ups = int(math.log2(scale))
    return 1 + 15 * blocks + 1 + sum(0.5 ** (k + 1) for k in range(ups)) + 2 / scale
