"""DCGAN (Radford, Metz & Chintala 2015) as a ganzoo plugin.

This module only registers; the networks (and torch) load on first use.
"""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import DCGANConfig

    registry.add(
        name="dcgan",
        config_cls=DCGANConfig,
        build="ganzoo_dcgan.networks:DCGAN",
        trainer="gan",
        summary="Deep convolutional GAN: transposed-conv generator, strided-conv discriminator.",
        paper="https://arxiv.org/abs/1511.06434",
        tiny={"resolution": 16, "z_dim": 8, "gen_width": 8, "disc_width": 8},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    registry.add(
        name="gan",
        step="ganzoo_dcgan.train:train_step",
        config_cls=ganzoo.AdversarialTrainConfig,
        summary="One discriminator then one generator update per step, any adversarial loss.",
    )


@ganzoo.hookimpl
def register_weights(registry) -> None:
    registry.add(
        name="dcgan-digits",
        architecture="dcgan",
        source="package:ganzoo_dcgan/weights/dcgan-digits",
        license="cc-by-4.0",
        paper="https://arxiv.org/abs/1511.06434",
        dataset="digits",
        summary="DCGAN generator trained by recipes/dcgan_digits.toml (32x32 digits, EMA); "
                "ships inside the package, so it loads offline.",
    )
    registry.add(
        name="dcgan-photos",
        architecture="dcgan",
        source="package:ganzoo_dcgan/weights/dcgan-photos",
        license="other",
        paper="https://arxiv.org/abs/1511.06434",
        dataset="photo-crops",
        summary="DCGAN trained by recipes/dcgan_photos.toml (32x32 colour crops of the bundled "
                "photos, EMA); ships its discriminator for iGAN editing's realism score.",
    )
