"""The conditional GAN's ``[model]`` and ``[train]`` tables."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

import ganzoo


@attrs.frozen(kw_only=True)
class CGANConfig:
    """Sizes of the conditional networks and the kind of discriminator.

    ``gen_width``/``disc_width`` are DCGAN's ngf/ndf. ``embed_dim`` is the size of the learned
    label embedding concatenated to z in the generator and, in the ``"concat"`` discriminator, to
    the image as extra channels; the ``"projection"`` discriminator's embedding instead has the
    width of the features it is projected on. ``aux_classifier`` adds AC-GAN's class-logit head
    on label-free features, so it needs the projection discriminator.
    """

    resolution: Literal[16, 32, 64] = attrs.field(default=32, validator=v.in_((16, 32, 64)))
    channels: Literal[1, 3] = attrs.field(default=1, validator=v.in_((1, 3)))
    z_dim: int = attrs.field(default=100, validator=[v.ge(1), v.le(4096)])
    num_classes: int = attrs.field(default=10, validator=[v.ge(2), v.le(100_000)])
    embed_dim: int = attrs.field(default=16, validator=[v.ge(1), v.le(4096)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    discriminator: Literal["concat", "projection"] = attrs.field(
        default="concat", validator=v.in_(("concat", "projection")))
    aux_classifier: bool = attrs.field(default=False, validator=v.instance_of(bool))

    @aux_classifier.validator
    def _classifier_must_not_see_the_label(self, _attribute, value: bool) -> None:
        if value and self.discriminator == "concat":
            raise ValueError(
                "aux_classifier = true needs discriminator = \"projection\": the \"concat\" "
                "discriminator sees the label with the image, so its classifier could just read "
                "the label back")


@attrs.frozen(kw_only=True)
class CGANTrainConfig(ganzoo.AdversarialTrainConfig):
    """``aux_weight`` scales AC-GAN's classification loss (ignored without ``aux_classifier``)."""

    aux_weight: float = attrs.field(default=1.0, validator=[ganzoo.finite, v.ge(0.0)])
