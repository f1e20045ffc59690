"""CycleGAN (Zhu et al. 2017) as a ganzoo plugin: unpaired image-to-image translation with two
ResNet generators, two PatchGAN discriminators, cycle-consistency and identity losses.

This module only registers; networks, training, metrics and the converter of the official
weights load on first use.
"""

from __future__ import annotations

import ganzoo

PAPER = "https://arxiv.org/abs/1703.10593"
URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"

#: The authors' 18 published generators (their ``scripts/download_cyclegan_model.sh``):
#: (name, dataset, what it does). Each file holds one direction of a run.
OFFICIAL_WEIGHTS = (
    ("horse2zebra", "horse2zebra", "horses -> zebras"),
    ("zebra2horse", "horse2zebra", "zebras -> horses"),
    ("monet2photo", "monet2photo", "Monet paintings -> photos"),
    ("style_monet", "monet2photo", "photos -> Monet-style paintings"),
    ("style_cezanne", "cezanne2photo", "photos -> Cezanne-style paintings"),
    ("style_ukiyoe", "ukiyoe2photo", "photos -> ukiyo-e-style prints"),
    ("style_vangogh", "vangogh2photo", "photos -> Van Gogh-style paintings"),
    ("summer2winter_yosemite", "summer2winter_yosemite", "Yosemite in summer -> in winter"),
    ("winter2summer_yosemite", "summer2winter_yosemite", "Yosemite in winter -> in summer"),
    ("apple2orange", "apple2orange", "apples -> oranges"),
    ("orange2apple", "apple2orange", "oranges -> apples"),
    ("sat2map", "maps", "aerial photos -> Google maps"),
    ("map2sat", "maps", "Google maps -> aerial photos"),
    ("cityscapes_photo2label", "cityscapes", "street photos -> semantic label maps"),
    ("cityscapes_label2photo", "cityscapes", "semantic label maps -> street photos"),
    ("facades_photo2label", "facades", "facade photos -> label maps"),
    ("facades_label2photo", "facades", "facade label maps -> photos"),
    ("iphone2dslr_flower", "iphone2dslr_flower",
     "iPhone flower photos -> DSLR-like shallow depth of field"),
)


@ganzoo.hookimpl
def register_architectures(registry) -> None:
    from .config import CycleGANConfig

    registry.add(
        name="cyclegan",
        config_cls=CycleGANConfig,
        build="ganzoo_cyclegan.networks:CycleGAN",
        trainer="cyclegan",
        summary="Unpaired two-way image translation: ResNet generators A->B and B->A, PatchGAN "
                "discriminators, cycle-consistency.",
        paper=PAPER,
        tiny={"resolution": 16, "blocks": 1, "gen_width": 4, "disc_width": 4, "disc_layers": 1},
    )


@ganzoo.hookimpl
def register_trainers(registry) -> None:
    from .config import CycleGANTrainConfig

    registry.add(
        name="cyclegan",
        step="ganzoo_cyclegan.train:train_step",
        setup="ganzoo_cyclegan.train:setup",
        optimizers="ganzoo_cyclegan.train:optimizers",
        config_cls=CycleGANTrainConfig,
        summary="G: LSGAN + lambda * cycle + identity (one Adam for both G), then D on real "
                "images and a 50-image history of fakes; constant then linearly decaying rates.",
    )


@ganzoo.hookimpl
def register_metrics(registry) -> None:
    registry.add(name="counterpart-l1", compute="ganzoo_cyclegan.metrics:CounterpartL1",
                 summary="Unpaired models on data with known ground truth (digit-styles): L1 of "
                         "translate(A) to its true B counterpart (and B->A), held-out split.")
    registry.add(name="digit-identity", compute="ganzoo_cyclegan.metrics:DigitIdentity",
                 summary="Unpaired models on digit-styles: how often the digits classifier "
                         "reads the source digit in translate(A) (and B->A), held-out split.")


@ganzoo.hookimpl
def register_weights(registry) -> None:
    for name, dataset, what in OFFICIAL_WEIGHTS:
        registry.add(
            name=f"cyclegan-{name.replace('_', '-')}",
            architecture="cyclegan",
            source=f"ganzoo/cyclegan-{name.replace('_', '-')}",
            url=URL.format(name=name),
            converter="ganzoo_cyclegan.convert:convert",
            license="bsd-3-clause",
            paper=PAPER,
            dataset=dataset,
            summary=f"Official CycleGAN generator ({what}), resnet_9blocks with instance norm; "
                    "one way (A->B); converted from the authors' PyTorch weights on first use.",
        )
