"""SRGAN's networks (Ledig et al. 2017) and the model that holds them.

Role names: ``gen`` (SRResNet, the generator) and ``disc`` (the VGG-style discriminator).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.base.errors import DataError

from .config import SRGANConfig
from .tiling import tiled

#: ``upscale`` processes inputs larger than this (low-resolution pixels a side) tile by tile.
DEFAULT_TILE = 256


class ResidualBlock(nn.Module):
    """conv3x3, BN, PReLU, conv3x3, BN, plus the input (the paper's Fig. 4, B of them)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.PReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SubPixelUpsampler(nn.Module):
    """x2: a 3x3 convolution to 4x the feature maps, pixel shuffle, PReLU (Shi et al. 2016)."""

    def __init__(self, width: int):
        super().__init__()
        self.conv = nn.Conv2d(width, width * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shuffle(self.conv(x)))


class Generator(nn.Module):
    """SRResNet: head, residual blocks, the long skip, sub-pixel upsamplers, tail."""

    def __init__(self, *, channels: int, width: int, blocks: int, scale: int, io_range: str,
                 bicubic_skip: bool = False):
        super().__init__()
        self.unit_range = io_range == "[0,1]"
        self.scale = scale
        self.bicubic_skip = bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.fuse = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width))
        self.upsample = nn.Sequential(*[SubPixelUpsampler(width)
                                        for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(width, channels, 9, padding=4)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        if self.unit_range:
            low = (low + 1) / 2
        features = self.head(low)
        features = features + self.fuse(self.blocks(features))  # the long skip
        out = self.tail(self.upsample(features))
        if self.bicubic_skip:  # not in the paper: learn only what bicubic upsampling misses
            out = out + F.interpolate(low, scale_factor=self.scale, mode="bicubic",
                                      align_corners=False)
        return out * 2 - 1 if self.unit_range else out


class Discriminator(nn.Module):
    """Eight 3x3 convolutions (64 to 512 feature maps, stride 2 every second one), leaky ReLU,
    dense 1024, leaky ReLU, dense 1: one logit per high-resolution image."""

    def __init__(self, *, channels: int, width: int, resolution: int):
        super().__init__()
        self.resolution = resolution
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        plan = [(width, width, 2), (width, 2 * width, 1), (2 * width, 2 * width, 2),
                (2 * width, 4 * width, 1), (4 * width, 4 * width, 2), (4 * width, 8 * width, 1),
                (8 * width, 8 * width, 2)]
        for cin, cout, stride in plan:
            layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        side = resolution // 16
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * width * side * side, 1024),
                                        nn.LeakyReLU(0.2, inplace=True), nn.Linear(1024, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != (self.resolution, self.resolution):
            raise DataError(f"the SRGAN discriminator judges {self.resolution}x{self.resolution} "
                            f"crops ([model] resolution), got {images.shape[-1]}x"
                            f"{images.shape[-2]}; make [data] crop equal [model] resolution")
        return self.classifier(self.features(images)).flatten()


class _Inference(nn.Module):
    """The generator as ``upscale`` runs it: output clamped to [-1, 1] (what ONNX exports)."""

    def __init__(self, gen: Generator):
        super().__init__()
        self.gen = gen

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.gen(image).clamp(-1.0, 1.0)


class SRGAN(ganzoo.Upscaler):
    """SRResNet generator and VGG-style discriminator; ``upscale(images)`` is the generator."""

    architecture = "srgan"
    generator_components = ("gen",)

    def __init__(self, config: SRGANConfig):
        super().__init__(config)
        if config.generator == "rrdb":
            from .rrdb import RRDBGenerator

            self.gen = RRDBGenerator(channels=config.channels, width=config.width,
                                     blocks=config.blocks, growth=config.growth,
                                     scale=config.scale, io_range=config.io_range,
                                     bicubic_skip=config.bicubic_skip)
        else:
            self.gen = Generator(channels=config.channels, width=config.width,
                                 blocks=config.blocks, scale=config.scale,
                                 io_range=config.io_range, bicubic_skip=config.bicubic_skip)
        self.disc = Discriminator(channels=config.channels, width=config.disc_width,
                                  resolution=config.resolution)

    @property
    def receptive_radius(self) -> int:
        """How many low-resolution pixels around a pixel reach its output: the overlap at which
        tiled and untiled upscaling agree exactly."""
        cfg = self.config
        ups = int(math.log2(cfg.scale))
        if cfg.generator == "rrdb":
            from .rrdb import receptive_radius

            radius = receptive_radius(blocks=cfg.blocks, scale=cfg.scale)
        else:
            radius = 4 + 2 * cfg.blocks + 1 + sum(0.5 ** k for k in range(ups)) + 4 / cfg.scale
        return math.ceil(max(radius, 2 if cfg.bicubic_skip else 0))  # bicubic: 2 pixels

    def upscale(self, images: Any, *, tile: int | None = DEFAULT_TILE,
                overlap: int | None = None) -> torch.Tensor:
        """``images`` (paths, PIL images, tensors in [-1, 1] or lists of them, as
        :func:`ganzoo.base.images.as_batch` takes them) ``scale`` times larger, ``[N, C, H*s, W*s]``
        in [-1, 1] on the model's device. Inputs with a side over ``tile`` low-resolution pixels
        go tile by tile with ``overlap`` pixels of context (default: :attr:`receptive_radius`,
        which makes the result equal the untiled one); ``tile=None`` runs the whole image at once.
        """
        from ganzoo.base.images import as_batch

        batch = as_batch(images, channels=self.config.channels).to(self.device)
        if batch.shape[1] != self.config.channels:
            raise DataError(f"this SRGAN upscales {self.config.channels}-channel images, got "
                            f"{batch.shape[1]} channels")
        net = _Inference(self.gen)
        if tile is None:
            return net(batch)
        overlap = self.receptive_radius if overlap is None else overlap
        return tiled(net, batch, scale=self.scale, tile=tile, overlap=overlap)

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """Triplets (bicubic, SRGAN, truth) side by side, whole triplets per grid row."""
        from .resize import upscale_bicubic

        if batch is None:
            batch = self.example_batch(n, generator=torch.Generator().manual_seed(seed))
        source = batch["source"][:n].to(self.device)
        target = batch["target"][:n].to(self.device)
        tiles = torch.stack([upscale_bicubic(source, self.scale), self.upscale(source, tile=None),
                             target], dim=1).flatten(0, 1)
        per_row = math.ceil(math.sqrt(len(source) / 3))
        side = 3 * per_row
        blank = -torch.ones(side * side - len(tiles), *tiles.shape[1:], device=tiles.device)
        return torch.cat([tiles, blank]).clamp(-1, 1)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        small = cfg.resolution // cfg.scale
        return {"source": torch.rand(batch_size, cfg.channels, small, small,
                                     generator=generator) * 2 - 1,
                "target": torch.rand(batch_size, cfg.channels, cfg.resolution, cfg.resolution,
                                     generator=generator) * 2 - 1}

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """low-res image ``[batch, C, h, w]`` -> ``[batch, C, h*scale, w*scale]``, both in
        [-1, 1]; any height and width (the network is fully convolutional)."""
        from ganzoo.apps.export import DynamicAxis, ExportError, OnnxSpec

        if direction is not None:
            raise ExportError(f"direction {direction!r}: srgan has a single generator")
        rng = torch.Generator().manual_seed(0)
        channels, scale = self.config.channels, self.scale

        def images(n: int, height: int, width: int) -> torch.Tensor:
            return (torch.rand(n, channels, height, width, generator=rng) * 2 - 1).to(self.device)

        traced, checked = (2, (3, 1)) if batch is None else (batch, (batch, batch))
        axes = {2: DynamicAxis("height"), 3: DynamicAxis("width")}
        if batch is None:
            axes[0] = DynamicAxis("batch")
        return OnnxSpec(
            module=_Inference(self.gen), input_names=("image",), output_names=("upscaled",),
            example_inputs=(images(traced, 12, 16),), dynamic_axes={"image": axes},
            check_inputs=((images(checked[0], 10, 14),), (images(checked[1], 17, 9),)),
            reference=lambda image: self.upscale(image, tile=None),
            doc=f"srgan generator: image [batch, {channels}, height, width] in [-1, 1] -> image "
                f"[batch, {channels}, {scale}*height, {scale}*width] in [-1, 1].",
            metadata={"scale": str(scale), "input_channels": str(channels)})
