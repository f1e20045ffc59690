"""pix2pix (Isola et al. 2017) as a ganzoo plugin: paired image-to-image translation with a U-Net
generator and a conditional PatchGAN discriminator.

This module only registers; networks, training and the converter of the official weights load
on first use.
"""

from __future__ import annotations

import ganzoo

PAPER = "https://arxiv.org/abs/1611.07004"

#: The official generators published by the paper's authors: (name, dataset, what it does).
OFFICIAL_WEIGHTS = (
    ("edges2shoes", "edges2shoes", "shoe edge maps -> shoe photos"),
    ("sat2map", "maps", "aerial photos -> Google maps"),
    ("map2sat", "maps", "Google maps -> aerial photos"),
    ("facades_label2photo", "facades", "CMP facade label maps -> facade photos"),
    ("day2night", "day2night", "daytime -> night-time webcam scenes"),
)


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import Pix2PixConfig

    registry.add(
        name="pix2pix",
        config_cls=Pix2PixConfig,
        build="ganzoo_pix2pix.networks:Pix2Pix",
        trainer="pix2pix",
        summary="Paired image-to-image translation: U-Net generator, conditional PatchGAN.",
        paper=PAPER,
        tiny={"resolution": 16, "depth": 4, "gen_width": 4, "disc_width": 4, "disc_layers": 1},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import Pix2PixTrainConfig

    registry.add(
        name="pix2pix",
        step="ganzoo_pix2pix.train:train_step",
        config_cls=Pix2PixTrainConfig,
        summary="D on (input, output) pairs, then G: GAN loss + lambda * L1; constant then "
                "linearly decaying learning rates.",
    )


@ganzoo.hookimpl
def register_weights(registry) -> None:
    for name, dataset, what in OFFICIAL_WEIGHTS:
        registry.add(
            name=f"pix2pix-{name.replace('_', '-')}",
            architecture="pix2pix",
            source=f"ganzoo/pix2pix-{name.replace('_', '-')}",
            url=f"http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth",
            converter="ganzoo_pix2pix.convert:convert",
            license="bsd-3-clause",
            paper=PAPER,
            dataset=dataset,
            summary=f"Official pix2pix generator ({what}), unet_256 with batch norm; converted "
                    "from the authors' PyTorch weights on first use.",
        )
