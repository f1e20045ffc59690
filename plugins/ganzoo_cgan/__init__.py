"""Class-conditional GAN (Mirza & Osindero 2014) as a ganzoo plugin.

The discriminator can be the paper's concatenation, a projection discriminator (Miyato & Koyama
2018), and either can also classify its input (AC-GAN, Odena et al. 2017). This module only
registers; the networks (and torch) load on first use.
"""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import CGANConfig

    registry.add(
        name="cgan",
        config_cls=CGANConfig,
        build="ganzoo_cgan.networks:CGAN",
        trainer="cgan",
        summary="Class-conditional DCGAN: concat or projection discriminator, optional AC-GAN "
                "classifier head.",
        paper="https://arxiv.org/abs/1411.1784",
        tiny={"resolution": 16, "z_dim": 8, "embed_dim": 4, "gen_width": 8, "disc_width": 8},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import CGANTrainConfig

    registry.add(
        name="cgan",
        step="ganzoo_cgan.train:train_step",
        config_cls=CGANTrainConfig,
        summary="Class-conditional D then G update per step; AC-GAN classification loss when the "
                "model has a classifier head.",
    )
