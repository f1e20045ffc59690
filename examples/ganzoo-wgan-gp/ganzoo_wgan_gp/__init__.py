"""WGAN-GP for ganzoo, as a third-party plugin would be written."""

from __future__ import annotations

import ganzoo

__version__ = "0.1.0"


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import WGANGPConfig

    registry.add(
        name="wgan-gp",
        config_cls=WGANGPConfig,
        build="ganzoo_wgan_gp.networks:WGANGP",
        trainer="wgan-gp",
        summary="Wasserstein GAN with gradient penalty: a critic without normalisation.",
        paper="https://arxiv.org/abs/1704.00028",
        tiny={"resolution": 16, "z_dim": 8, "gen_width": 8, "critic_width": 8},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import WGANGPTrainConfig

    registry.add(
        name="wgan-gp",
        step="ganzoo_wgan_gp.train:train_step",
        config_cls=WGANGPTrainConfig,
        summary="n_critic critic updates with gradient penalty, then one generator update.",
    )
