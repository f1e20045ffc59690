"""pix2pix's ``[model]`` and ``[train]`` tables (attrs only: cheap to import)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

import ganzoo


@attrs.frozen(kw_only=True)
class Pix2PixConfig:
    """The U-Net generator and the discriminator of pix2pix (Isola et al. 2017).

    ``depth`` is the number of stride-2 downsamplings of the U-Net (the reference's ``num_downs``:
    7 is ``unet_128``, 8 is ``unet_256``); inputs are padded to a multiple of ``2**depth``.
    ``gen_width``/``disc_width`` are the reference's ngf/ndf. ``dropout`` (0.5 in three inner
    decoder blocks, as in the paper) is the generator's only noise source. ``discriminator``:
    ``"patch"`` (PatchGAN with ``disc_layers`` stride-2 layers; 3 gives 70x70 patches) or
    ``"pixel"`` (1x1 patches). The discriminator sees the input and the output stacked on the
    channel axis. ``test_norm``: ``"running"`` normalises with the running statistics in eval
    mode; ``"batch"`` uses each image's own statistics, as the reference's test script does
    (its models were trained with batch size 1), and is what converted official weights use.
    ``resolution`` is the training crop size, used for example batches and checks only: the
    networks are fully convolutional.
    """

    input_nc: int = attrs.field(default=3, validator=[v.ge(1), v.le(64)])
    output_nc: int = attrs.field(default=3, validator=[v.ge(1), v.le(64)])
    resolution: int = attrs.field(default=256, validator=[v.ge(2), v.le(8192)])
    depth: int = attrs.field(default=8, validator=[v.ge(2), v.le(12)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    norm: Literal["batch", "instance"] = attrs.field(default="batch",
                                                      validator=v.in_(("batch", "instance")))
    dropout: bool = attrs.field(default=True, validator=v.instance_of(bool))
    discriminator: Literal["patch", "pixel"] = attrs.field(default="patch",
                                                            validator=v.in_(("patch", "pixel")))
    disc_layers: int = attrs.field(default=3, validator=[v.ge(1), v.le(8)])
    test_norm: Literal["running", "batch"] = attrs.field(default="running",
                                                          validator=v.in_(("running", "batch")))

    @depth.validator
    def _fits(self, _attribute, value: int) -> None:
        if self.resolution % 2**value:
            raise ValueError(f"resolution = {self.resolution} must be a multiple of 2**depth = "
                             f"{2**value} (depth = {value})")


@attrs.frozen(kw_only=True)
class Pix2PixTrainConfig(ganzoo.AdversarialTrainConfig):
    """pix2pix's objective and schedule: GAN loss + ``l1_weight`` * L1 (lambda = 100).

    The adversarial loss defaults to ``"non-saturating"``: the reference's ``vanilla`` GANLoss
    (BCE on logits, the generator maximising log D). The learning rates stay constant for the
    first ``decay_start`` fraction of ``steps`` and then fall linearly to 0 at the last step (the
    reference's ``linear`` policy with ``n_epochs = n_epochs_decay``). The reference halves D's
    loss (``disc_loss_scale = 0.5``), slowing D relative to G.

    ``grad_weight`` (0, off, by default; not in the paper) adds ``grad_weight`` times the
    registered ``gradient-magnitude`` loss: sharp transitions where the target has them, whichever
    side is darker, which an edge map alone cannot tell.
    """

    l1_weight: float = attrs.field(default=100.0, validator=[ganzoo.finite, v.ge(0.0)])
    grad_weight: float = attrs.field(default=0.0, validator=[ganzoo.finite, v.ge(0.0)])
    lr_schedule: str = attrs.field(default="linear", validator=ganzoo.one_of(ganzoo.LR_SCHEDULES))
    disc_loss_scale: float = attrs.field(default=0.5, validator=[ganzoo.finite, v.gt(0.0)])
    batch_size: int = attrs.field(default=1, validator=[v.ge(1), v.le(65536)])
