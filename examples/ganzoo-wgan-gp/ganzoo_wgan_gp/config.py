"""The ``[model]`` and ``[train]`` tables of WGAN-GP."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

import ganzoo


@attrs.frozen(kw_only=True)
class WGANGPConfig:
    resolution: Literal[16, 32, 64] = 32
    channels: Literal[1, 3] = 1
    z_dim: int = attrs.field(default=128, validator=[v.ge(1), v.le(4096)])
    gen_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    critic_width: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])


@attrs.frozen(kw_only=True)
class WGANGPTrainConfig(ganzoo.TrainConfig):
    """The paper's defaults: n_critic = 5, lambda = 10, Adam(1e-4, beta1 = 0, beta2 = 0.9).

    Each step consumes ``batch_size`` real images: the critic's ``n_critic`` updates each see
    their own ``batch_size / n_critic`` of them, as the reference code draws a fresh real batch
    for every critic iteration.
    """

    batch_size: int = attrs.field(default=320, validator=[v.ge(1), v.le(65536)])  # 5 x 64
    n_critic: int = attrs.field(default=5, validator=[v.ge(1), v.le(100)])
    gp_weight: float = attrs.field(default=10.0, validator=[ganzoo.finite, v.ge(0.0)])
    lr_gen: float = attrs.field(default=1e-4, validator=[ganzoo.finite, v.gt(0.0)])
    lr_disc: float = attrs.field(default=1e-4, validator=[ganzoo.finite, v.gt(0.0)])
    betas: tuple[float, float] = (0.0, 0.9)

    def __attrs_post_init__(self) -> None:
        if self.batch_size % self.n_critic:
            raise ValueError(f"'batch_size' ({self.batch_size}) must be a multiple of "
                             f"'n_critic' ({self.n_critic}): each critic update takes an equal "
                             "share of the batch")
