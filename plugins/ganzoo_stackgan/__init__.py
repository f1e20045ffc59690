"""StackGAN (Zhang et al. 2017) as a ganzoo plugin: text-to-image in two stages.

Stage I draws a low-resolution image from the text (through conditioning augmentation), Stage II
redraws it at four times the size; both are in one model and one bundle. Datasets: CUB-200-2011
in the layout of the authors' release (precomputed char-CNN-RNN embeddings or raw captions) and
the embedded ``digit-captions``. This module only registers; torch loads on first use.
"""

from __future__ import annotations

import ganzoo

PAPER = "https://arxiv.org/abs/1612.03242"


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import StackGANConfig

    registry.add(
        name="stackgan",
        config_cls=StackGANConfig,
        build="ganzoo_stackgan.networks:build",
        trainer="stackgan",
        summary="Text to image in two stages: conditioning augmentation, Stage-I sketch, "
                "Stage-II refinement; matching-aware discriminators; pluggable text encoders.",
        paper=PAPER,
        tiny={"channels": 1, "text_encoder": "captions", "embedding_dim": 8, "max_words": 16,
              "condition_dim": 4, "z_dim": 4, "disc_condition_dim": 4, "stage1_resolution": 16,
              "stage2_resolution": 32, "gen_width": 4, "disc_width": 4, "residual_blocks": 1},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import StackGANTrainConfig

    registry.add(
        name="stackgan",
        step="ganzoo_stackgan.train:train_step",
        setup="ganzoo_stackgan.train:setup",
        optimizers="ganzoo_stackgan.train:optimizers",
        config_cls=StackGANTrainConfig,
        summary="Matching-aware D (real, wrong text, fake), then G: GAN loss + lambda * KL; "
                "a caption encoder is pre-trained first (joint image-text embedding) and "
                "frozen; stage 2 loads and freezes Stage-I.",
    )


@ganzoo.hookimpl
def register_datasets(registry) -> None:
    from .config import CUBConfig, DigitCaptionsConfig

    registry.add(name="digit-captions", config_cls=DigitCaptionsConfig,
                 build="ganzoo_stackgan.digit_captions:build", kind="captioned",
                 summary="Embedded: the bundled digits, each captioned from its label and "
                         "measured thickness, slant and size ('a thick slanted seven').")
    registry.add(name="cub-200-2011", config_cls=CUBConfig,
                 build="ganzoo_stackgan.cub:build", kind="captioned",
                 summary="CUB-200-2011 birds in the StackGAN authors' layout: bounding-box "
                         "crops, char-CNN-RNN embeddings (10 per image), optional raw captions.")


@ganzoo.hookimpl
def register_metrics(registry) -> None:
    registry.add(name="caption-accuracy", compute="ganzoo_stackgan.metrics:CaptionAccuracy",
                 summary="Text-to-image on digit-captions: the digits classifier agrees with "
                         "the caption's digit (held-out captions).")
    for attribute in ("thickness", "slant", "size"):
        registry.add(name=f"caption-{attribute}",
                     compute=f"ganzoo_stackgan.metrics:caption_{attribute}",
                     summary=f"Text-to-image on digit-captions: the measured {attribute} of "
                             "generated digits agrees with the caption's word.")
