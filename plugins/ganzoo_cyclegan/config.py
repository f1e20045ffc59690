"""CycleGAN's ``[model]`` and ``[train]`` tables (attrs only: cheap to import)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

import ganzoo


@attrs.frozen(kw_only=True)
class CycleGANConfig:
    """The two ResNet generators and two PatchGAN discriminators of CycleGAN (Zhu et al. 2017).

    Domain A images have ``input_nc`` channels, domain B images ``output_nc``. ``gen_ab`` maps A
    to B, ``gen_ba`` B to A; ``disc_a`` judges A images, ``disc_b`` B images.

    The generators are the reference's ``ResnetGenerator``: a 7x7 conv, two stride-2 3x3 convs
    (widths ``gen_width`` x 1, 2, 4), ``blocks`` residual blocks (9 is the reference's
    ``resnet_9blocks``, 6 ``resnet_6blocks``), two transposed convs back up and a 7x7 conv with
    tanh. ``padding`` is the residual blocks' padding (``"reflect"`` in the reference); ``norm``
    ``"instance"`` (the reference's default for CycleGAN) or ``"batch"``; ``dropout`` (0.5 in
    each residual block) is off by default, as in the reference. Inputs are padded to a multiple
    of 4. The discriminators are ``ganzoo.nn.blocks.PatchDiscriminator`` with ``disc_width`` and
    ``disc_layers`` (3: 70x70 patches). ``resolution`` is the training crop size, for example
    batches and checks only: every network is fully convolutional.

    ``one_way = true`` builds ``gen_ab`` alone (no ``gen_ba``, no discriminators): what a
    converted official generator is, since the authors publish each direction as its own file.
    Such a model translates A to B only and cannot be trained.
    """

    input_nc: int = attrs.field(default=3, validator=[v.ge(1), v.le(64)])
    output_nc: int = attrs.field(default=3, validator=[v.ge(1), v.le(64)])
    resolution: int = attrs.field(default=256, validator=[v.ge(4), v.le(8192)])
    blocks: int = attrs.field(default=9, validator=[v.ge(0), v.le(64)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    disc_layers: int = attrs.field(default=3, validator=[v.ge(1), v.le(8)])
    norm: Literal["instance", "batch"] = attrs.field(default="instance",
                                                      validator=v.in_(("instance", "batch")))
    padding: Literal["reflect", "replicate", "zero"] = attrs.field(
        default="reflect", validator=v.in_(("reflect", "replicate", "zero")))
    dropout: bool = attrs.field(default=False, validator=v.instance_of(bool))
    one_way: bool = attrs.field(default=False, validator=v.instance_of(bool))

    @resolution.validator
    def _fits(self, _attribute, value: int) -> None:
        if value % 4:
            raise ValueError(f"resolution = {value} must be a multiple of 4 (the generators "
                             "halve the image twice)")


@attrs.frozen(kw_only=True)
class CycleGANTrainConfig(ganzoo.AdversarialTrainConfig):
    """CycleGAN's objective and schedule, the reference's defaults.

    Generators: ``gan_weight`` * adversarial + ``cycle_weight_a`` * |F(G(a)) - a| +
    ``cycle_weight_b`` * |G(F(b)) - b| + ``identity_weight`` * (``cycle_weight_b`` * |G(b) - b|
    + ``cycle_weight_a`` * |F(a) - a|), with lambda_A = lambda_B = 10 and the identity weight
    0.5 (scaled by lambda, as the reference does; 0 turns it off, and it needs domains with the
    same number of channels). The adversarial loss defaults to ``"lsgan"``; ganzoo's registered
    lsgan generator term is 0.5 * mean((D - 1)^2) while the reference's is the MSE itself, so
    ``gan_weight = 2`` reproduces the reference's balance (use 1 with ``"non-saturating"``, the
    reference's ``vanilla``).

    Discriminators see real images and generated ones drawn from a history of ``pool_size``
    (50) earlier outputs (Shrivastava et al. 2017): once full, each new image is, with
    probability 1/2, swapped for a random stored one (0 turns the pool off). One Adam updates
    both generators, one both discriminators. The learning rates stay constant for the first
    ``decay_start`` fraction of ``steps``, then fall linearly to 0 (the reference's 100 + 100
    epochs).
    """

    loss: str = ganzoo.registry_name("losses", loss_kind="adversarial", default="lsgan")
    gan_weight: float = attrs.field(default=2.0, validator=[ganzoo.finite, v.ge(0.0)])
    cycle_weight_a: float = attrs.field(default=10.0, validator=[ganzoo.finite, v.ge(0.0)])
    cycle_weight_b: float = attrs.field(default=10.0, validator=[ganzoo.finite, v.ge(0.0)])
    identity_weight: float = attrs.field(default=0.5, validator=[ganzoo.finite, v.ge(0.0)])
    pool_size: int = attrs.field(default=50, validator=[v.ge(0), v.le(100_000)])
    lr_schedule: str = attrs.field(default="linear", validator=ganzoo.one_of(ganzoo.LR_SCHEDULES))
    batch_size: int = attrs.field(default=1, validator=[v.ge(1), v.le(65536)])
