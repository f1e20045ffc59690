"""The original GAN (Goodfellow et al. 2014) as a ganzoo plugin: multilayer perceptrons on
flattened images, a ReLU generator and a maxout discriminator.

This module only registers; the networks (and torch) load on first use.
"""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import MLPGANConfig

    registry.add(
        name="gan-mlp",
        config_cls=MLPGANConfig,
        build="ganzoo_gan.networks:MLPGAN",
        trainer="gan",  # one D then one G update: the paper's algorithm 1 with k = 1
        task="unconditional",
        summary="The original GAN: ReLU MLP generator and maxout MLP discriminator on flattened "
                "images, minimax or non-saturating loss.",
        paper="https://arxiv.org/abs/1406.2661",
        tiny={"resolution": 16, "z_dim": 8, "gen_hidden": 32, "disc_hidden": 16, "pieces": 2},
    )


@ganzoo.hookimpl
def register_losses(registry) -> None:
    registry.add(name="minimax", kind="adversarial", fn="ganzoo.nn.losses:bce_d",
                 g_fn="ganzoo.nn.losses:bce_g",
                 summary="Goodfellow et al.'s value function as written: G minimises "
                         "log(1 - D(G(z))) (saturates early in training; the same functions as "
                         "bce).")
