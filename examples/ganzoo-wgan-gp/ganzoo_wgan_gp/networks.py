"""Generator and critic. The critic has no batch normalisation: the gradient penalty is defined
per sample, and batch statistics would couple the samples (the paper, section 4)."""

from __future__ import annotations

import math

import torch
from torch import nn

import ganzoo

from .config import WGANGPConfig


class Generator(nn.Sequential):
    def __init__(self, cfg: WGANGPConfig):
        ups = int(math.log2(cfg.resolution)) - 2
        width = cfg.gen_width * 2 ** (ups - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.z_dim, width, 4, 1, 0),
                                   nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.BatchNorm2d(width // 2),
                       nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, cfg.channels, 4, 2, 1), nn.Tanh()]
        super().__init__(*layers)


class Critic(nn.Sequential):
    def __init__(self, cfg: WGANGPConfig):
        downs = int(math.log2(cfg.resolution)) - 2
        width = cfg.critic_width
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(downs - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.2)]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0), nn.Flatten(0)]
        super().__init__(*layers)


class WGANGP(ganzoo.LatentGenerator):
    architecture = "wgan-gp"
    generator_components = ("gen",)

    def __init__(self, config: WGANGPConfig):
        super().__init__(config)
        self.gen = Generator(config)
        self.disc = Critic(config)

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None
                 ) -> torch.Tensor:
        z = self.sample_latent(n, seed=seed) if z is None else z.to(self.device)
        return self.gen(z.view(-1, self.z_dim, 1, 1))

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1}
