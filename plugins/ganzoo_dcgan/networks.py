"""DCGAN generator and discriminator (Radford et al. 2015, section 3 and figure 1)."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import LatentGenerator
from ganzoo.nn.blocks import downsampling_stack, init_normal, upsampling_stack

from .config import DCGANConfig


class Generator(nn.Sequential):
    """z → 4×4 → ... → resolution, doubling the size and halving the channels at each layer."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__(*upsampling_stack(z_dim=cfg.z_dim, channels=cfg.channels,
                                           resolution=cfg.resolution, width=cfg.gen_width))


class Discriminator(nn.Sequential):
    """Image → one logit per image; no BatchNorm on the first layer, LeakyReLU(0.2) throughout."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__(*downsampling_stack(channels=cfg.channels, resolution=cfg.resolution,
                                             width=cfg.disc_width))


class DCGAN(LatentGenerator):
    architecture = "dcgan"
    generator_components = ("gen",)
    #: Measured (benchmarks/RESULTS.md, channels_last in training): the DCGAN step is x1.1-1.5
    #: faster channels_last in bf16 and x1.1-1.2 in fp32 (AVX2), at 64x64 RGB and 32x32 digits.
    train_channels_last = True

    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        self.gen = Generator(config)
        self.disc = Discriminator(config)
        self.apply(init_normal)  # the paper's N(0, 0.02) init

    def sample_latent(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` latent vectors z ~ N(0, I), shaped ``[n, z_dim, 1, 1]`` for the generator."""
        generator = self.seeded(seed, self.device)
        return torch.randn(n, self.config.z_dim, 1, 1, device=self.device, generator=generator)

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None
                 ) -> torch.Tensor:
        if z is None:
            z = self.sample_latent(n, seed=seed)
        return self.gen(z.to(self.device).view(-1, self.config.z_dim, 1, 1))

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        return {"image": torch.rand(shape, generator=generator) * 2 - 1}
