"""InfoGAN (Chen et al. 2016) as a ganzoo plugin: a GAN whose generator also takes a categorical
and continuous codes, with a Q head on the discriminator's trunk that recovers them.

This module only registers; the networks (and torch) load on first use.
"""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import InfoGANConfig

    registry.add(
        name="infogan",
        config_cls=InfoGANConfig,
        build="ganzoo_infogan.networks:InfoGAN",
        trainer="infogan",
        task="unconditional",
        summary="InfoGAN: z plus a categorical and continuous codes; a Q head on D's trunk "
                "recovers them (mutual-information term).",
        paper="https://arxiv.org/abs/1606.03657",
        tiny={"resolution": 16, "z_dim": 8, "categories": 4, "continuous": 2,
              "gen_width": 8, "disc_width": 8, "hidden": 32, "q_hidden": 16},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import InfoGANTrainConfig

    registry.add(
        name="infogan",
        step="ganzoo_infogan.train:train_step",
        config_cls=InfoGANTrainConfig,
        summary="D and Q, then G: the adversarial loss plus lambda times the codes' negative "
                "log-likelihood under Q, for both updates.",
    )


@ganzoo.hookimpl
def register_losses(registry) -> None:
    registry.add(name="info-categorical", kind="reconstruction",
                 fn="ganzoo_infogan.losses:categorical_nll",
                 summary="InfoGAN: cross-entropy of Q's code logits against the drawn code "
                         "(softmax applied once, inside).")
    registry.add(name="info-gaussian", kind="regularizer",
                 fn="ganzoo_infogan.losses:gaussian_nll",
                 summary="InfoGAN: Gaussian negative log-likelihood of the continuous codes "
                         "under Q's mean (and log-std when learned), summed over codes.")
    registry.add(name="info-real-clustering", kind="regularizer",
                 fn="ganzoo_infogan.losses:real_clustering_loss",
                 summary="Q on real images: mean entropy of its code minus the entropy of the "
                         "batch's mean code distribution (RIM; minus I(x; code)).")
