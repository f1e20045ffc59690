"""The original GAN's multilayer perceptrons (Goodfellow et al. 2014, section 5)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import LatentGenerator

from .config import MLPGANConfig


class Maxout(nn.Module):
    """``units`` outputs, each the maximum of ``pieces`` affine pieces (Goodfellow et al. 2013)."""

    def __init__(self, features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(dim=2)


class Generator(nn.Module):
    """z → two ReLU layers → a flat image → ``[n, C, H, W]`` in [-1, 1]."""

    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        self.shape = (cfg.channels, cfg.resolution, cfg.resolution)
        pixels = cfg.channels * cfg.resolution * cfg.resolution
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim, cfg.gen_hidden), nn.ReLU(True),
            nn.Linear(cfg.gen_hidden, cfg.gen_hidden), nn.ReLU(True),
            nn.Linear(cfg.gen_hidden, pixels), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.flatten(1)).view(-1, *self.shape)


class Discriminator(nn.Module):
    """A flattened image → two dropout-regularised maxout layers → one logit per image."""

    def __init__(self, cfg: MLPGANConfig):
        super().__init__()
        pixels = cfg.channels * cfg.resolution * cfg.resolution
        self.net = nn.Sequential(
            nn.Flatten(), nn.Dropout(cfg.input_dropout),
            Maxout(pixels, cfg.disc_hidden, cfg.pieces), nn.Dropout(cfg.dropout),
            Maxout(cfg.disc_hidden, cfg.disc_hidden, cfg.pieces), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.disc_hidden, 1), nn.Flatten(0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class MLPGAN(LatentGenerator):
    architecture = "gan-mlp"
    generator_components = ("gen",)

    def __init__(self, config: MLPGANConfig):
        super().__init__(config)
        self.gen = Generator(config)
        self.disc = Discriminator(config)

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None
                 ) -> torch.Tensor:
        if z is None:
            z = self.sample_latent(n, seed=seed)
        return self.gen(z.to(self.device).reshape(n, self.config.z_dim))

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1}
