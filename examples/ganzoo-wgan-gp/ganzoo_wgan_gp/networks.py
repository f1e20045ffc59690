"""Generator and critic: DCGAN's convolution stacks from ganzoo.nn.blocks. The critic has no batch
normalisation: the gradient penalty is defined per sample, and batch statistics would couple the
samples (the paper, section 4)."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo.nn.blocks import downsampling_stack, upsampling_stack

from .config import WGANGPConfig


class WGANGP(ganzoo.LatentGenerator):
    architecture = "wgan-gp"
    generator_components = ("gen",)

    def __init__(self, config: WGANGPConfig):
        super().__init__(config)
        size = {"channels": config.channels, "resolution": config.resolution, "bias": True}
        self.gen = upsampling_stack(z_dim=config.z_dim, width=config.gen_width, **size)
        self.disc = downsampling_stack(width=config.critic_width, norm="none", **size)

    def generate(self, n: int, *, seed: int | None = None, z: torch.Tensor | None = None
                 ) -> torch.Tensor:
        z = self.sample_latent(n, seed=seed) if z is None else z.to(self.device)
        return self.gen(z.view(-1, self.z_dim, 1, 1))
